"""Server CPU time per request of a listener's arrival, one listener at a time.

Launches ``app.py --listening-only`` on the synthetic load-test test (or measures an app
already running on 127.0.0.1, given its process id) and walks ``--listeners`` listeners, one
after the other, through the page's calls (``GET /``, ``/theme.css``, the page-load event,
Start and the change events it triggers, the headphone check, the practice page's submit and
Continue, the first rated clip's submit), reading the app process's CPU time
(the run time of its threads, ``/proc/<pid>/task/*/schedstat``) before and after each request,
less what the app burns while idle. Prints the mean CPU ms per request type.

    python scripts/profile_arrival.py --listeners 40
    python scripts/profile_arrival.py --url http://127.0.0.1:7860 --pid 1234 --listeners 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.loadtest_http import HEADPHONE_ANSWER, Listener, Stats  # noqa: E402
from scripts.loadtest_listeners import launch, prepare  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """CPU time (s) of process ``pid``'s threads so far: the sum of their scheduler run
    times (``/proc/<pid>/task/*/schedstat``, in ns; the clock-tick counts of
    ``/proc/<pid>/stat`` move in 10 ms steps). A thread that ended meanwhile drops out."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # the thread ended meanwhile
            continue
    return total / 1e9


class MeteredClient(httpx.AsyncClient):
    """An ``AsyncClient`` that charges the server's CPU time of each request to a label."""

    def __init__(self, pid: int, costs: dict[str, list[float]], idle: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pid, self.costs, self.idle = pid, costs, idle
        self.names = {}  # fn_index -> api_name

    def label(self, request: httpx.Request) -> str:
        path = request.url.path
        if path.endswith("/run/predict"):
            index = json.loads(request.content)["fn_index"]
            return f"event {self.names.get(index, index)}"
        return f"GET {path}" if request.method == "GET" else f"{request.method} {path}"

    async def send(self, request: httpx.Request, **kwargs) -> httpx.Response:
        if "heartbeat" in request.url.path:
            return await super().send(request, **kwargs)
        before, start = cpu_seconds(self.pid), time.perf_counter()
        response = await super().send(request, **kwargs)
        await response.aread()
        await asyncio.sleep(0.02)  # let the server finish the request (logging, cleanup)
        path = request.url.path
        name = self.label(request) if "/mos-clips/" not in path else "GET clip"
        idle = self.idle * (time.perf_counter() - start)  # what the app burns doing nothing
        self.costs[name].append(cpu_seconds(self.pid) - before - idle)
        return response


def idle_rate(pid: int, seconds: float = 5.0) -> float:
    """CPU seconds per second that process ``pid`` uses while no request comes in."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


async def walk(url: str, pid: int, count: int, idle: float) -> dict[str, list[float]]:
    """Server CPU seconds per request label, less ``idle`` CPU seconds per second of it."""
    costs: dict[str, list[float]] = defaultdict(list)
    stats = Stats()
    async with httpx.AsyncClient(base_url=url) as plain:
        config = (await plain.get("/config")).json()
    for n in range(count):
        async with MeteredClient(pid, costs, idle, base_url=url, timeout=60) as client:
            client.names = {d["id"]: d.get("api_name") for d in config["dependencies"]}
            listener = Listener(client, config, f"prof-{os.getpid()}-{n:03d}", stats, n)
            await listener.page_load()
            await listener.call(("on_start", [True, None]))
            rng = random.Random(n)
            for _ in range(3):  # headphone, practice (+ Continue), the first rated clip
                title = str(listener.elem("mos-title") or "")
                await listener.play_page()
                answer = HEADPHONE_ANSWER if "headphone" in title.lower() else rng.randint(1, 5)
                await listener.submit(answer)
                if "Practice" in title:
                    await listener.call(("on_continue", [listener.elem("mos-page"), None]))
            await listener.close_page()
    if stats.errors:
        print("errors:", *stats.errors[:5], sep="\n  ")
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=40)
    parser.add_argument("--url", help="an app already running on 127.0.0.1 (with --pid)")
    parser.add_argument("--pid", type=int, help="the process id of the app at --url")
    parser.add_argument("--port", type=int, default=7891)
    args = parser.parse_args(argv)
    proc = None
    if args.url:
        if not args.pid:
            parser.error("--url needs --pid")
        url, pid = args.url, args.pid
    else:
        root = Path(tempfile.mkdtemp(prefix="profile_arrival_"))
        prepare(root, clip_seconds=0.2)
        proc = launch(root, args.port)
        url, pid = f"http://127.0.0.1:{args.port}", proc.pid
    try:
        time.sleep(1.0)
        idle = idle_rate(pid)
        costs = asyncio.run(walk(url, pid, args.listeners, idle))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    print(f"server CPU per request, mean over {args.listeners} listeners (ms)")
    print(f"  (less the app's idle CPU, {1000 * idle:.0f} ms per s, over each request's time)")
    for name, values in sorted(costs.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        mean = 1000 * sum(values) / len(values)
        print(f"  {name:38s} n={len(values):4d}  {mean:6.1f} ms")
    total = sum(sum(values) for values in costs.values()) / args.listeners
    print(f"  per listener (these requests) {1000 * total:.0f} ms")


if __name__ == "__main__":
    main()
