"""Load test: N concurrent listeners take a full listening test over HTTP, like the page does.

Each simulated listener opens the crowd link (``GET /`` plus the page-load events), gives
consent, passes the headphone check, answers and continues the practice, then rates every
clip of its session: it downloads each clip, sends the players' play and end events, waits
the clip's real length between them, and submits. All calls are the ones the browser makes
(``/gradio_api/run/<name>`` for events outside Gradio's queue, ``/gradio_api/queue/join`` +
``/queue/data`` for queued ones, as the app's config says). At the end the ratings are counted: every acknowledged
("Saved.") rating must be a row, exactly once.

    # a synthetic test, an app launched here (CSV backend), 50 then 200 listeners
    python scripts/loadtest_listeners.py --launch --listeners 50 200

    # against an app you launched (e.g. on the PostgreSQL backend); the test must exist
    python scripts/loadtest_listeners.py --prepare /tmp/lt_ratings      # writes test "loadtest"
    python scripts/loadtest_listeners.py --url http://127.0.0.1:7860 --listeners 50 \
        --ratings-export-cmd "sh -c 'python -m pipeline.mos export --db ... --out r.csv; cat r.csv'"

Prints p50/p95/max (ms) of page load, start and submit, the errors, acknowledgements vs rows,
and the load average. Bounded: 127.0.0.1 only, at most 300 listeners, ``--time-limit``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlparse

import httpx
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.mos.storage import read_ratings  # noqa: E402
from pipeline.mos.synthetic import make_test  # noqa: E402

TEST_ID = "loadtest"
HEADPHONE_ANSWER = 3  # the synthetic test's beep count
MAX_LISTENERS = 300
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def prepare(root: Path, *, clip_seconds: float) -> Path:
    """Write the synthetic test (8 utterances x 4 systems, 10 per session) under ``root``."""
    make_test(
        root,
        test_id=TEST_ID,
        systems=("sysA", "sysB", "sysC", "sysD"),
        items=8,
        items_per_session=10,
        votes=8,
        training=1,
        headphone=True,
        seconds=clip_seconds,
        code="LOAD-DONE",
    )
    return root / TEST_ID


class Stats:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.acks: dict[str, int] = defaultdict(int)
        self.load: list[float] = []

    def summary(self, name: str) -> str:
        values = np.array(self.times.get(name) or [np.nan]) * 1000
        return (
            f"{name:9s} n={len(self.times.get(name, [])):5d}  p50 {np.percentile(values, 50):7.0f}"
            f"  p95 {np.percentile(values, 95):7.0f}  max {np.max(values):7.0f} ms"
        )


class Listener:
    """One simulated browser page of one listener."""

    def __init__(self, client: httpx.AsyncClient, config: dict, name: str, stats: Stats):
        self.client, self.config, self.name, self.stats = client, config, name, stats
        self.session = os.urandom(6).hex()
        self.params = urlencode({"test": TEST_ID, "PROLIFIC_PID": name})
        self.fns = {d["api_name"]: d for d in config["dependencies"] if d.get("api_name")}
        #: events a component's change triggers (the page fires them when an output changes it)
        self.on_change: dict[int, list[dict]] = defaultdict(list)
        for dep in config["dependencies"]:
            for cid, trigger in dep.get("targets", []):
                if trigger == "change" and dep.get("api_name"):
                    self.on_change[cid].append(dep)
        comps = {c["id"]: c.get("props", {}) for c in config["components"]}
        self.by_elem = {p.get("elem_id"): cid for cid, p in comps.items() if p.get("elem_id")}
        # what the page shows before any event: the components' initial values
        self.values: dict[object, object] = {cid: p.get("value") for cid, p in comps.items()}

    async def call(self, *names_and_data: tuple[str, list]) -> None:
        """Run these events as the page does: a direct POST for events outside the queue,
        else join the queue with all of them and read the event stream until all completed;
        then the change events of components whose value the outputs changed (as a browser
        does, e.g. the listening tab's layout token)."""
        before = {cid: self.values.get(cid) for cid in self.on_change}
        await self._run(*names_and_data)
        changed = [cid for cid in self.on_change if self.values.get(cid) != before[cid]]
        for cid in changed:
            follow = [(dep["api_name"], self.inputs_of(dep)) for dep in self.on_change[cid]]
            await self.call(*follow)

    def inputs_of(self, dep: dict) -> list:
        """The values a dependency's inputs hold on the page now (None for state)."""
        return [self.values.get(cid) for cid in dep.get("inputs", [])]

    async def _run(self, *names_and_data: tuple[str, list]) -> None:
        queued = []
        for name, data in names_and_data:
            fn = self.fns[name]
            if fn.get("queue") is False:
                await self.direct(fn, data)
            else:
                queued.append((fn, data))
        if queued:
            await self.queued(queued)

    def body(self, fn: dict, data: list) -> dict:
        return {
            "data": data,
            "fn_index": fn["id"],
            "session_hash": self.session,
            "event_data": None,
            "trigger_id": fn["targets"][0][0],
        }

    async def direct(self, fn: dict, data: list) -> None:
        r = await self.client.post(
            f"/gradio_api/run/{fn['api_name']}?{self.params}", json=self.body(fn, data)
        )
        r.raise_for_status()
        for cid, value in zip(fn["outputs"], r.json()["data"], strict=False):
            self.absorb(cid, value)

    async def queued(self, calls: list[tuple[dict, list]]) -> None:
        pending = {}
        for fn, data in calls:
            r = await self.client.post(
                f"/gradio_api/queue/join?{self.params}", json=self.body(fn, data)
            )
            r.raise_for_status()
            pending[r.json()["event_id"]] = fn
        url = f"/gradio_api/queue/data?session_hash={self.session}"
        async with self.client.stream("GET", url) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("msg") != "process_completed" or msg.get("event_id") not in pending:
                    continue
                fn = pending.pop(msg["event_id"])
                if not msg.get("success"):
                    raise RuntimeError(f"{fn['api_name']} failed: {msg.get('output')}")
                for cid, value in zip(fn["outputs"], msg["output"]["data"], strict=False):
                    self.absorb(cid, value)
                if not pending:
                    return
        raise RuntimeError(f"stream ended with {len(pending)} event(s) pending")

    def absorb(self, cid: int, value) -> None:
        if isinstance(value, dict) and value.get("__type__") == "update":
            if "value" in value:
                self.values[cid] = value["value"]
            if "choices" in value:
                self.values[(cid, "choices")] = value["choices"]
        else:
            self.values[cid] = value

    def elem(self, elem_id: str):
        return self.values.get(self.by_elem[elem_id])

    async def timed(self, metric: str, *calls) -> None:
        start = time.perf_counter()
        await self.call(*calls)
        self.stats.times[metric].append(time.perf_counter() - start)

    async def page_load(self) -> None:
        start = time.perf_counter()
        r = await self.client.get(f"/?{self.params}")
        r.raise_for_status()
        loads = [
            (n, [] if n == "open_listener_links" else ["", None])
            for n in ("open_listener_links", "on_load")
            if n in self.fns
        ]
        await self.call(*loads)
        self.stats.times["page load"].append(time.perf_counter() - start)

    async def play_page(self) -> None:
        """Download the page's clips and play each for its length (play ... end events)."""
        for i in range(2):
            clip = self.elem(f"mos-player-{i}")
            if not isinstance(clip, dict) or not clip.get("url"):
                continue
            r = await self.client.get(clip["url"])
            r.raise_for_status()
            seconds = sf.info(io.BytesIO(r.content)).duration
            await self.player(i, "play")
            await asyncio.sleep(seconds + 0.05)
            await self.player(i, "end")

    async def player(self, index: int, event: str) -> None:
        await self.call((f"mos_player{index}_{event}", [None]))

    async def run(self, rng: random.Random) -> None:
        await self.page_load()
        await self.timed("start", ("on_start", [True, None]))
        for _ in range(40):  # headphone + practice + 10 clips + slack
            done = self.elem("mos-done")
            if isinstance(done, str) and "LOAD-DONE" in done:
                return
            title = str(self.elem("mos-title") or "")
            await self.play_page()
            if "headphone" in title.lower():
                await self.call(("on_submit", [HEADPHONE_ANSWER, None, None, None]))
            elif "Practice" in title:
                await self.call(("on_submit", [rng.choice([1, 2, 3, 4, 5]), None, None, None]))
                await self.call(("on_continue", [None]))
            else:
                await self.timed("submit", ("on_submit", [rng.choice([1, 2, 3, 4, 5]), None, None, None]))
                message = str(self.elem("mos-message") or "")
                if message.startswith("Saved."):
                    self.stats.acks[self.name] += 1
                else:
                    self.stats.errors.append(f"{self.name}: submit said {message!r}")
        raise RuntimeError("session did not finish")


async def drive(url: str, count: int, stats: Stats, time_limit: float, run: str) -> None:
    limits = httpx.Limits(max_connections=4 * count + 10, max_keepalive_connections=2 * count)
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        config = (await client.get("/config")).json()

        async def one(n: int) -> None:
            listener = Listener(client, config, f"lt-{run}-{n:03d}", stats)
            try:
                await listener.run(random.Random(n))
            except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as err:
                where = ""
                if isinstance(err, httpx.RequestError | httpx.HTTPStatusError):
                    where = f" ({err.request.method} {err.request.url.path})"
                stats.errors.append(f"{listener.name}: {type(err).__name__}{where}: {err}")

        async def sample_load() -> None:
            while True:
                stats.load.append(os.getloadavg()[0])
                await asyncio.sleep(2.0)

        sampler = asyncio.create_task(sample_load())
        try:
            await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(count))), time_limit)
        except TimeoutError:
            stats.errors.append(f"time limit of {time_limit:.0f} s reached")
        finally:
            sampler.cancel()


def count_rows(args, run: str) -> dict[str, int]:
    """Stored rows per listener of this run (CSV file, or a command printing the CSV)."""
    if args.ratings_export_cmd:
        text = subprocess.run(
            shlex.split(args.ratings_export_cmd), check=True, capture_output=True, text=True
        ).stdout
        path = Path(tempfile.mkdtemp()) / "ratings.csv"
        path.write_text(text)
    else:
        path = Path(args.ratings_csv)
    if not path.is_file():
        return {}
    frame = read_ratings(path)
    frame = frame[frame["listener_id"].str.startswith(f"lt-{run}-")]
    raw = len(frame)  # read_ratings keeps the first row per key; compare with raw lines too
    lines = sum(1 for line in path.read_text().splitlines() if f"lt-{run}-" in line)
    if lines != raw:
        print(f"  DUPLICATE KEYS: {lines} lines vs {raw} distinct ratings")
    return frame.groupby("listener_id").size().to_dict()


def launch(root: Path, port: int) -> subprocess.Popen:
    cmd = [
        "nice",
        "-n",
        "5",
        sys.executable,
        "app.py",
        "--listening-only",
        "--port",
        str(port),
        "--ratings-root",
        str(root),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/config", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("the app did not come up within 300 s")


def report(count: int, stats: Stats, rows: dict[str, int], wall: float) -> bool:
    acks = sum(stats.acks.values())
    stored = sum(rows.values())
    lost = sum(max(0, n - rows.get(name, 0)) for name, n in stats.acks.items())
    print(f"\n{count} listeners, {wall:.0f} s")
    for name in ("page load", "start", "submit"):
        print("  " + stats.summary(name))
    print(f"  errors {len(stats.errors)}   acks {acks}   rows {stored}   lost {lost}")
    if stats.load:
        print(f"  load average (1 min): mean {np.mean(stats.load):.1f}  max {max(stats.load):.1f}")
    for line in stats.errors[:10]:
        print("   ", line)
    return not stats.errors and acks == stored and lost == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="app URL (127.0.0.1 only)")
    parser.add_argument("--launch", action="store_true", help="launch app.py on a temp test")
    parser.add_argument(
        "--prepare",
        type=Path,
        metavar="RATINGS_ROOT",
        help="only write the synthetic test under this folder and exit",
    )
    parser.add_argument("--listeners", type=int, nargs="+", default=[50])
    parser.add_argument("--clip-seconds", type=float, default=2.0)
    parser.add_argument("--time-limit", type=float, default=600.0, help="per run, seconds")
    parser.add_argument("--ratings-csv", help="ratings CSV of the test (CSV backend)")
    parser.add_argument("--ratings-export-cmd", help="command printing the ratings CSV")
    args = parser.parse_args(argv)
    if args.prepare:
        print(prepare(args.prepare, clip_seconds=args.clip_seconds))
        return 0
    if any(n > MAX_LISTENERS or n < 1 for n in args.listeners):
        parser.error(f"--listeners must be within 1..{MAX_LISTENERS}")
    proc = None
    if args.launch:
        root = Path(tempfile.mkdtemp(prefix="loadtest_"))
        prepare(root, clip_seconds=args.clip_seconds)
        port = 7800 + random.randrange(100)
        proc = launch(root, port)
        args.url, args.ratings_csv = f"http://127.0.0.1:{port}", str(root / TEST_ID / "ratings.csv")
    if not args.url or urlparse(args.url).hostname not in LOCAL_HOSTS:
        parser.error("--url must point at 127.0.0.1 (or use --launch)")
    if not (args.ratings_csv or args.ratings_export_cmd):
        parser.error("give --ratings-csv or --ratings-export-cmd to count the stored rows")
    ok = True
    try:
        for count in args.listeners:
            stats, run = Stats(), os.urandom(3).hex()
            start = time.perf_counter()
            asyncio.run(drive(args.url.rstrip("/"), count, stats, args.time_limit, run))
            ok &= report(count, stats, count_rows(args, run), time.perf_counter() - start)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
