"""Two app processes (replicas) on different ports share one PostgreSQL database and serve
one test over HTTP: listeners pinned to either replica, every other one reloading on the
other replica halfway through, must resume at the next clip there; every acknowledged
rating is stored exactly once and every session holds each system within ±1 clip.

Drives the real ``app.py --listening-only`` processes with the load test's HTTP listeners
(``scripts/loadtest_http.py``). Skipped only when the PostgreSQL server binaries are missing.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from conftest import free_port

from scripts.loadtest_http import Stats, drive
from scripts.loadtest_listeners import (
    count_rows,
    launch,
    prepare,
    stored_csv,
    unbalanced_sessions,
)

LISTENERS = 6


def test_two_replicas_over_http_share_one_test(pg_url: str, tmp_path: Path) -> None:
    prepare(tmp_path, clip_seconds=0.3)
    replicas = [launch(tmp_path, free_port(), pg_url) for _ in range(2)]
    try:
        urls = [f"http://127.0.0.1:{p.args[p.args.index('--port') + 1]}" for p in replicas]
        stats, run = Stats(), os.urandom(3).hex()
        listeners = asyncio.run(drive(urls, LISTENERS, stats, 240.0, run, switch_every=2))
    finally:
        for proc in replicas:
            proc.terminate()
            proc.wait(timeout=30)
    assert stats.errors == []
    rows, repeats = count_rows(stored_csv(tmp_path, pg_url, None), run)
    assert sum(stats.acks.values()) == sum(rows.values()) == LISTENERS * 10
    assert repeats == 0 and rows == dict(stats.acks)  # every rating once, per listener
    switched = [lt for n, lt in enumerate(sorted(listeners, key=lambda x: x.name)) if n % 2 == 0]
    assert stats.resumed == len(switched) == LISTENERS // 2
    for listener in switched:  # rated on its first replica, then on the other one
        assert sorted(listener.acked_on.values()) == [5, 5]
    on_each = {lt.replica for lt in listeners}
    assert on_each == {0, 1}
    assert unbalanced_sessions(tmp_path, pg_url, run) == []
