"""Benchmark: N simulated listeners submitting ratings at once to one test.

Listeners are threads spread over several OS processes (as several server workers would
be), all driving :class:`pipeline.mos.listening.ListeningTest` — the same calls the
Listening-test tab makes on "Submit". Each round, every listener waits at a shared
barrier and then submits its next rating at the same instant; a fraction of submissions
are sent twice in parallel (a double click). Afterwards the CSV is checked: every
acknowledged rating is in it exactly once, nothing unacknowledged is, duplicates were
ignored, and every line parses.

    python scripts/benchmark_mos.py [--listeners 50] [--processes 5] [--items 10]

Prints p50/p95/max submission latency (ms) and the exactly-once counts; exits non-zero
if the exactly-once check fails. Latency is measured around ``ListeningTest.submit``
(lock + dedupe + write + fsync), not including HTTP/Gradio overhead.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.mos.listening import ListeningTest  # noqa: E402
from pipeline.mos.storage import read_ratings  # noqa: E402
from pipeline.mos.synthetic import make_test  # noqa: E402


def listener_thread(folder, name, barrier, rounds, double_rate, seed, out):
    test = ListeningTest(folder)
    rng = random.Random(seed)
    barrier.wait()
    session = test.open(name)
    for position in range(rounds):
        barrier.wait()  # everybody submits at once
        if position >= len(session.order):
            continue
        sid = session.order[position]
        score = rng.choice(test.definition.spec.scores)
        extra: list[bool] = []
        dup = None
        if rng.random() < double_rate:  # a double click racing the first submission
            dup = threading.Thread(
                target=lambda s=sid, c=score, out2=extra: out2.append(
                    test.submit(session, s, c, play_count=1, listened_s=1.0, response_ms=5)
                )
            )
            dup.start()
        start = time.perf_counter()
        saved = test.submit(session, sid, score, play_count=1, listened_s=1.0, response_ms=900)
        latency = time.perf_counter() - start
        if dup is not None:
            dup.join()
        out.append((name, sid, saved, latency, extra))


def worker(folder, names, barrier, rounds, double_rate, queue):
    results: list = []
    threads = [
        threading.Thread(
            target=listener_thread,
            args=(folder, n, barrier, rounds, double_rate, hash(n) & 0xFFFF, results),
        )
        for n in names
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(results)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listeners", type=int, default=50)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--items", type=int, default=10, help="ratings per listener")
    parser.add_argument("--double-rate", type=float, default=0.2)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the test")
    return parser.parse_args()


def run_listeners(args: argparse.Namespace, folder: Path) -> tuple[list, float]:
    """Every listener's ``(name, stimulus, saved, latency s, double-click results)`` and the
    wall-clock seconds of the whole run (listeners spread over ``args.processes``)."""
    names = [f"P{i:03d}" for i in range(args.listeners)]
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(args.listeners)
    queue = ctx.Queue()
    groups = [names[i :: args.processes] for i in range(args.processes)]
    procs = [
        ctx.Process(target=worker, args=(folder, g, barrier, args.items, args.double_rate, queue))
        for g in groups
    ]
    wall = time.perf_counter()
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get(timeout=600)]
    for p in procs:
        p.join()
    return results, time.perf_counter() - wall


def fsync_ms(folder: Path, writes: int = 20) -> float:
    """Mean time (ms) of one 200-byte append + fsync in ``folder``."""
    probe = folder / "fsync_probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    start = time.perf_counter()
    for _ in range(writes):
        os.write(fd, b"x" * 200)
        os.fsync(fd)
    elapsed = (time.perf_counter() - start) / writes * 1000
    os.close(fd)
    probe.unlink()
    return elapsed


def check_exactly_once(args: argparse.Namespace, folder: Path, results: list, wall: float) -> bool:
    """Print the latency figures and the exactly-once counts; True when every acknowledged
    rating is on disk once and nothing else is."""
    latencies = np.array([lat for *_, lat, _ in results]) * 1000
    acked = Counter()
    dup_attempts = dup_acked = 0
    for name, sid, saved, _, extra in results:
        acked[(name, sid)] += int(saved) + sum(map(int, extra))
        dup_attempts += len(extra)
        dup_acked += sum(map(int, extra))
    frame = read_ratings(folder / "ratings.csv")
    on_disk = Counter(zip(frame["listener_id"], frame["stimulus_id"], strict=True))
    raw_rows = len((folder / "ratings.csv").read_text().splitlines()) - 1
    acked_keys = {k for k, v in acked.items() if v}
    multi_ack = sum(v > 1 for v in acked.values())
    missing = len(acked_keys - set(on_disk))
    unacked = len(set(on_disk) - acked_keys)
    dupes_on_disk = sum(v > 1 for v in on_disk.values())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"machine: {os.cpu_count()} cores, load average {load}; "
        f"one write+fsync {fsync_ms(folder):.1f} ms"
    )
    print(
        f"listeners: {args.listeners} in {args.processes} processes, "
        f"{args.items} ratings each, all submitting at once each round"
    )
    print(
        f"submissions: {len(results)} (+{dup_attempts} parallel double clicks)  wall {wall:.1f} s"
    )
    print(
        f"latency ms: p50 {np.percentile(latencies, 50):.1f}  "
        f"p95 {np.percentile(latencies, 95):.1f}  max {latencies.max():.1f}"
    )
    print(
        f"acknowledged ratings: {len(acked_keys)}  rows in CSV: {raw_rows}  "
        f"valid unique rows: {len(frame)}"
    )
    print(
        f"missing acknowledged: {missing}  unacknowledged on disk: {unacked}  "
        f"keys on disk twice: {dupes_on_disk}  keys acknowledged twice: {multi_ack}  "
        f"double clicks acknowledged: {dup_acked}"
    )
    return (
        missing == unacked == dupes_on_disk == multi_ack == 0
        and raw_rows == len(acked_keys) == len(frame) == args.listeners * args.items
    )


def main() -> int:
    args = parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="mos_bench_"))
    # enough stimuli that sessions differ: 4 systems x 25 items, 4 votes wanted
    make_test(
        root,
        test_id="bench",
        systems=("a", "b", "c", "d"),
        items=25,
        seconds=0.3,
        items_per_session=args.items,
        votes=4,
        training=0,
    )
    folder = root / "bench"
    results, wall = run_listeners(args, folder)
    ok = check_exactly_once(args, folder, results, wall)
    print("exactly-once: OK" if ok else "exactly-once: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
