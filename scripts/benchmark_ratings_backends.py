"""Benchmark: append throughput and latency of the CSV and PostgreSQL rating stores, same run.

Writers are threads spread over OS processes (as several app workers or replicas would be);
each stores ``--rows`` distinct ratings through the store's ``append`` (CSV: lock + dedupe +
write + fsync; PostgreSQL: one committed ``INSERT ... ON CONFLICT DO NOTHING``), then the
stored row count is checked against the acknowledgements. The PostgreSQL server is a
throwaway local one (:mod:`pipeline.mos.pg_local`, default settings, fsync on) unless
``--db`` names one.

    python scripts/benchmark_ratings_backends.py [--processes 4] [--threads 4] [--rows 50]

Prints rows/s and p50/p95/max append latency (ms) per backend, plus the load average.
Latency is measured around ``append`` only (no HTTP, no Gradio queue).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.mos.pg_local import local_postgres  # noqa: E402
from pipeline.mos.pg_store import ConnectionPool, PgRatingStore  # noqa: E402
from pipeline.mos.storage import RatingStore, read_ratings  # noqa: E402

TEST_ID = "bench"


def make_store(backend: str, target: str):
    if backend == "csv":
        return RatingStore(target)
    return PgRatingStore(ConnectionPool(target, keep=16), TEST_ID)


def writer_process(backend: str, target: str, proc: int, threads: int, rows: int) -> list:
    """``threads`` threads of one process; returns ``(saved, seconds)`` per append."""
    store = make_store(backend, target)

    def thread(t: int) -> list[tuple[bool, float]]:
        out = []
        for i in range(rows):
            row = {
                "test_id": TEST_ID,
                "listener_id": f"L{proc}-{t}",
                "session_id": "s",
                "stimulus_id": f"s{i}",
                "system": f"sys{i % 3}",
                "item_id": f"item{i}",
                "question": "acr",
                "score": 1 + i % 5,
                "play_count": 1,
                "listened_s": 3.2,
                "response_ms": 1200,
                "app_version": "bench",
            }
            start = time.perf_counter()
            saved = store.append(row)
            out.append((saved, time.perf_counter() - start))
        return out

    with ThreadPoolExecutor(threads) as pool:
        return [r for chunk in pool.map(thread, range(threads)) for r in chunk]


def run(backend: str, target: str, args: argparse.Namespace) -> dict:
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(args.processes, mp_context=ctx) as pool:
        list(pool.map(int, range(args.processes)))  # start the workers before timing
        start = time.perf_counter()
        futures = [
            pool.submit(writer_process, backend, target, p, args.threads, args.rows)
            for p in range(args.processes)
        ]
        results = [r for f in futures for r in f.result()]
        wall = time.perf_counter() - start
    acks = sum(saved for saved, _ in results)
    if backend == "csv":
        stored = len(read_ratings(target))
    else:
        stored = PgRatingStore(ConnectionPool(target), TEST_ID).count()
    ms = np.array([s for _, s in results]) * 1000
    return {
        "backend": backend,
        "rows": len(results),
        "acks": acks,
        "stored": stored,
        "rows_per_s": len(results) / wall,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "max": float(ms.max()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rows", type=int, default=50, help="ratings per thread")
    parser.add_argument("--db", default=None, help="use this (empty) PostgreSQL instead")
    args = parser.parse_args()
    total = args.processes * args.threads * args.rows
    print(
        f"{args.processes} processes x {args.threads} threads x {args.rows} rows = {total} "
        f"appends per backend; load average before: {os.getloadavg()[0]:.2f}"
    )
    server = nullcontext(None) if args.db else local_postgres()
    with server as local, tempfile.TemporaryDirectory(prefix="bench-ratings-") as tmp:
        url = args.db or local.url
        results = [
            run("csv", str(Path(tmp) / "ratings.csv"), args),
            run("postgresql", url, args),
        ]
    print(f"{'backend':<11} {'rows/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  acks/stored")
    for r in results:
        print(
            f"{r['backend']:<11} {r['rows_per_s']:>8.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
            f"{r['max']:>8.1f}  {r['acks']}/{r['stored']}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f} (2-core machine: shared)")
    ok = all(r["acks"] == r["stored"] == total for r in results)
    print("exactly once: " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
