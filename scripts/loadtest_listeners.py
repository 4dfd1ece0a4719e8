"""Load test: N concurrent listeners take a full listening test over HTTP, like the page does.

Each simulated listener opens the crowd link (``GET /``, ``/theme.css``, the page's heartbeat
stream, held open while the page is, and the page-load events), gives
consent, passes the headphone check, answers and continues the practice, then rates every
clip of its session: it downloads each clip, sends the player's play event, waits the
clip's real length, sends its pause and end events, and submits. All calls are the ones the
browser makes (checked in chromium's network log): ``/gradio_api/run/predict`` for events
outside Gradio's queue, ``/gradio_api/queue/join`` + ``/queue/data`` for queued ones, as the
app's config says, and the change events an output triggers; the player events go to the
player route ``/mos/player`` with the page's token, and the clips come from the clip route
(:mod:`ui.listener_routes`). Each listener comes from its own address (``X-Forwarded-For``, as a local reverse
proxy sends it). At the end the ratings are counted: every acknowledged ("Saved.") rating
must be a row, exactly once, and every session must hold each system within ±1 clip.

    # a synthetic test, an app launched here (CSV backend), 50 then 200 listeners
    python scripts/loadtest_listeners.py --launch --listeners 50 200

    # the same on a throwaway PostgreSQL server (Debian's postgresql package)
    python scripts/loadtest_listeners.py --launch --backend postgres --listeners 50 200

    # two replicas on one database; every 2nd listener reloads on the other one halfway
    python scripts/loadtest_listeners.py --launch --backend postgres --replicas 2 \
        --switch-every 2 --listeners 50

    # against an app you launched; the test must exist
    python scripts/loadtest_listeners.py --prepare /tmp/lt_ratings      # writes test "loadtest"
    python scripts/loadtest_listeners.py --url http://127.0.0.1:7860 --listeners 50 \
        --ratings-export-cmd "sh -c 'python -m pipeline.mos export --db ... --out r.csv; cat r.csv'"

Prints p50/p95/max (ms) of page load, start and submit, the errors, acknowledgements vs rows,
and the load average. Bounded: 127.0.0.1 only, at most 300 listeners, ``--time-limit``.
Run it under ``nice``: the app processes it launches inherit its priority.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.mos.storage import read_ratings  # noqa: E402
from pipeline.mos.synthetic import make_test  # noqa: E402
from scripts.loadtest_http import TEST_ID, Stats, drive  # noqa: E402

MAX_LISTENERS = 300
MAX_REPLICAS = 4
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


def stored_csv(root: Path, db_url: str | None, export_cmd: str | None) -> Path | None:
    """The test's ratings as a CSV: the file, a database export, or a command's output."""
    if export_cmd:
        text = subprocess.run(
            shlex.split(export_cmd), check=True, capture_output=True, text=True
        ).stdout
        path = Path(tempfile.mkdtemp()) / "ratings.csv"
        path.write_text(text)
        return path
    if db_url:
        from pipeline.mos.pg_store import ConnectionPool, export_csv

        pool = ConnectionPool(db_url)
        try:
            path = Path(tempfile.mkdtemp()) / "ratings.csv"
            return path if export_csv(pool, TEST_ID, path) else None
        finally:
            pool.close()
    path = root / TEST_ID / "ratings.csv"
    return path if path.is_file() else None


def count_rows(path: Path | None, run: str) -> tuple[dict[str, int], int]:
    """Stored rows per listener of this run, and how many lines repeat a key."""
    if path is None:
        return {}, 0
    frame = read_ratings(path)
    frame = frame[frame["listener_id"].str.startswith(f"lt-{run}-")]
    lines = sum(1 for line in path.read_text().splitlines() if f"lt-{run}-" in line)
    return frame.groupby("listener_id").size().to_dict(), lines - len(frame)


def unbalanced_sessions(root: Path, db_url: str | None, run: str) -> list[str]:
    """Sessions of this run whose systems differ by more than one clip."""
    from pipeline.mos.listening import ListeningTest

    test = ListeningTest(root / TEST_ID, ratings_db=db_url)
    by_id = test.definition.by_id()
    bad = []
    for session in test.sessions.all():
        if not session.listener_id.startswith(f"lt-{run}-"):
            continue
        systems = Counter(by_id[sid].system for sid in session.order)
        if max(systems.values()) - min(systems.values()) > 1 or len(systems) < 4:
            bad.append(f"{session.listener_id}: {dict(systems)}")
    return bad


def launch(root: Path, port: int, db_url: str | None = None) -> subprocess.Popen:
    """``app.py --listening-only`` on ``port`` (CSV backend, or ``db_url``)."""
    cmd = [sys.executable, "app.py", "--listening-only", "--port", str(port)]
    cmd += ["--ratings-root", str(root)] + (["--ratings-db", db_url] if db_url else [])
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


def report(count: int, stats: Stats, rows: dict[str, int], repeats: int, wall: float) -> bool:
    acks = sum(stats.acks.values())
    stored = sum(rows.values())
    lost = sum(max(0, n - rows.get(name, 0)) for name, n in stats.acks.items())
    print(f"\n{count} listeners, {wall:.0f} s")
    for name in ("page load", "start", "submit"):
        print("  " + stats.summary(name))
    print(f"  errors {len(stats.errors)}   acks {acks}   rows {stored}   lost {lost}", end="")
    print(f"   repeated keys {repeats}   resumed on another replica {stats.resumed}")
    if stats.load:
        print(f"  load average (1 min): mean {np.mean(stats.load):.1f}  max {max(stats.load):.1f}")
    if stats.lag:
        lag = np.array(stats.lag) * 1000
        print(
            f"  load generator's event-loop lag: p50 {np.percentile(lag, 50):.0f}"
            f"  p95 {np.percentile(lag, 95):.0f}  max {lag.max():.0f} ms (included in the times above)"
        )
    for line in stats.errors[:10]:
        print("   ", line)
    return not stats.errors and acks == stored and lost == 0 and repeats == 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", nargs="+", help="app URL(s), 127.0.0.1 only")
    parser.add_argument("--launch", action="store_true", help="launch app.py on a temp test")
    parser.add_argument("--backend", choices=("csv", "postgres"), default="csv")
    parser.add_argument("--replicas", type=int, default=1, help="app processes (--launch)")
    parser.add_argument(
        "--switch-every",
        type=int,
        default=0,
        metavar="K",
        help="every K-th listener reloads on the next replica halfway",
    )
    parser.add_argument(
        "--prepare",
        type=Path,
        metavar="RATINGS_ROOT",
        help="only write the synthetic test under this folder and exit",
    )
    parser.add_argument("--ratings-root", type=Path, help="ratings root of the test (--url)")
    parser.add_argument("--ratings-db", help="the apps' database URL (--url, postgres)")
    parser.add_argument("--listeners", type=int, nargs="+", default=[50])
    parser.add_argument("--clip-seconds", type=float, default=2.0)
    parser.add_argument("--time-limit", type=float, default=600.0, help="per run, seconds")
    parser.add_argument("--ratings-export-cmd", help="command printing the ratings CSV")
    args = parser.parse_args(argv)
    if any(n > MAX_LISTENERS or n < 1 for n in args.listeners):
        parser.error(f"--listeners must be within 1..{MAX_LISTENERS}")
    if not 1 <= args.replicas <= MAX_REPLICAS:
        parser.error(f"--replicas must be within 1..{MAX_REPLICAS}")
    if not args.launch and not args.prepare:
        if not args.url or any(urlparse(u).hostname not in LOCAL_HOSTS for u in args.url):
            parser.error("--url must point at 127.0.0.1 (or use --launch)")
        if not (args.ratings_root or args.ratings_export_cmd):
            parser.error("give --ratings-root or --ratings-export-cmd to count the stored rows")
    return args


def run_all(args, root: Path | None, db_url: str | None) -> bool:
    ok = True
    for count in args.listeners:
        stats, run = Stats(), os.urandom(3).hex()
        start = time.perf_counter()
        urls = [u.rstrip("/") for u in args.url]
        asyncio.run(drive(urls, count, stats, args.time_limit, run, switch_every=args.switch_every))
        wall = time.perf_counter() - start
        rows, repeats = count_rows(stored_csv(root, db_url, args.ratings_export_cmd), run)
        ok &= report(count, stats, rows, repeats, wall)
        if root is not None:
            bad = unbalanced_sessions(root, db_url, run)
            print(f"  sessions with systems off by more than one clip: {len(bad)}")
            ok &= not bad
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.prepare:
        print(prepare(args.prepare, clip_seconds=args.clip_seconds))
        return 0
    with contextlib.ExitStack() as stack:
        db_url, root = args.ratings_db, args.ratings_root
        if args.launch:
            root = Path(tempfile.mkdtemp(prefix="loadtest_"))
            prepare(root, clip_seconds=args.clip_seconds)
            if args.backend == "postgres":
                from pipeline.mos.pg_local import local_postgres

                db_url = stack.enter_context(local_postgres()).url
            base = 7800 + random.randrange(90)
            args.url = []
            for port in range(base, base + args.replicas):
                proc = launch(root, port, db_url)
                stack.callback(proc.wait, 30)
                stack.callback(proc.terminate)
                args.url.append(f"http://127.0.0.1:{port}")
        return 0 if run_all(args, root, db_url) else 1


if __name__ == "__main__":
    sys.exit(main())
