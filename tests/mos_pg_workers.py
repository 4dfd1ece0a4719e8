"""Worker functions of tests/test_mos_pg.py, run in spawned processes.

Kept apart from the test module so that each spawned process imports only the ratings
backend (not pytest plugins, torch or matplotlib): starting 8 processes stays cheap.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from pipeline.mos.listening import ListeningTest
from pipeline.mos.pg_store import ConnectionPool, PgRatingStore

PROCESSES, THREADS, ROWS = 8, 4, 10


def rating(listener: str, stim: str, test_id: str, score: float = 3, **extra) -> dict:
    return {
        "test_id": test_id,
        "listener_id": listener,
        "session_id": "sess",
        "stimulus_id": stim,
        "system": "sysA" if stim.endswith("0") else "sysB",
        "item_id": f"item{stim[-2:-1]}",
        "question": "acr",
        "score": score,
        "play_count": 1,
        "listened_s": 2.25,
        "response_ms": 900,
        "app_version": "0.1",
        **extra,
    }


def writer_process(url: str, proc: int) -> list[tuple[str, str, bool]]:
    """4 threads; each stores its own 10 ratings and retries those of the next process'."""
    store = PgRatingStore(ConnectionPool(url), "crowd")

    def thread(t: int) -> list[tuple[str, str, bool]]:
        out = []
        for i in range(ROWS):
            for owner in (proc, (proc + 1) % PROCESSES):  # own row, then a racing retry
                key = (f"L{owner}-{t}", f"s{i}0")
                out.append((*key, store.append(rating(*key, "crowd", score=1 + i % 5))))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        return [r for chunk in pool.map(thread, range(THREADS)) for r in chunk]


def acknowledging_writer(url: str, acks) -> None:
    """Store ratings from 4 threads forever; report each key only once it was committed."""
    store = PgRatingStore(ConnectionPool(url), "killed")

    def thread(t: int) -> None:
        for i in range(10_000):
            key = (f"K{t}", f"s{i}0")
            if store.append(rating(*key, "killed")):
                acks.put(key)

    threads = [threading.Thread(target=thread, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def replica(folder: str, url: str, listeners: list[str], half: str, rng_seed: int) -> dict:
    """One replica process: open (or resume) each listener's session and rate one half of it.

    Returns ``{listener: (session_id, order, acknowledged stimulus ids, retried flags)}``.
    """
    test = ListeningTest(folder, ratings_db=url)
    rng = random.Random(rng_seed)

    def serve(listener: str):
        session = test.open(listener, rng=random.Random(rng.random()))
        cut = len(session.order) // 2
        part = session.order[:cut] if half == "first" else session.order[cut:]
        acked = [
            s
            for s in part
            if test.submit(session, s, 3, play_count=1, listened_s=0.5, response_ms=10)
        ]
        retried = (
            [  # the other replica's half, sent again here (a retry after a reload)
                test.submit(session, s, 3, play_count=1, listened_s=0.5, response_ms=10)
                for s in session.order[:cut]
            ]
            if half == "second"
            else []
        )
        return listener, (session.session_id, session.order, acked, retried)

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(serve, listeners))
