"""The PostgreSQL ratings backend on a real server (pipeline.mos.pg_local; never a mock):
exactly-once rows from 8 processes x 4 threads, nothing acknowledged lost to ``kill -9``,
an export and report identical to the CSV backend's, and two replicas sharing one test
(atomic balanced assignment, resume on either, every rating counted once).

One server is started per module. Skipped only when the PostgreSQL server binaries are not
installed (Debian: ``apt-get install postgresql``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import random
import signal
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from mos_pg_workers import (  # tests/ is on sys.path (pytest prepend import mode)
    PROCESSES,
    ROWS,
    THREADS,
    acknowledging_writer,
    rating,
    replica,
    writer_process,
)

from pipeline.mos.assignment import SessionBook
from pipeline.mos.backends import database_url, ratings_csv
from pipeline.mos.definition import TestDefinition
from pipeline.mos.listening import ListeningTest
from pipeline.mos.pg_sessions import PgSessionBook
from pipeline.mos.pg_store import ConnectionPool, DatabaseError, PgRatingStore, export_csv
from pipeline.mos.report import write_report
from pipeline.mos.storage import RatingError, RatingStore, read_ratings
from pipeline.mos.synthetic import make_test

SPAWN = mp.get_context("spawn")  # never fork a process holding threads and sockets


@pytest.fixture(scope="module")
def mos_cli():
    """The real ``python -m pipeline.mos`` entry point (imported here: it loads torch)."""
    from pipeline.mos.__main__ import main

    return main


def test_append_commits_once_per_key(pg_url: str):
    pool = ConnectionPool(pg_url)
    store, other = PgRatingStore(pool, "basic"), PgRatingStore(ConnectionPool(pg_url), "basic")
    assert store.append(rating("L1", "s10", "basic", 2))
    assert not other.append(rating("L1", "s10", "basic", 5))  # another process' view
    assert other.append(rating("=cmd|x", "s10", "basic"))  # neutralised like the CSV store
    assert store.rated_by("L1") == {"s10"}
    assert store.stored_keys() == {("L1", "s10"), ("'=cmd|x", "s10")}
    with pytest.raises(RatingError):
        store.append(rating("", "s10", "basic"))
    with pytest.raises(RatingError):
        store.append(rating("L2", "s10", "basic", float("nan")))
    with pytest.raises(RatingError):
        store.append(rating("L2", "s10", "another-test"))
    assert store.count() == 2


def test_backends_offer_the_same_methods():
    public = {n for n in dir(SessionBook) if not n.startswith("_")}
    assert public <= set(dir(PgSessionBook)), public - set(dir(PgSessionBook))
    used = {"append", "stored_keys", "rated_by"}  # what ListeningTest and the UI call
    assert used <= set(dir(RatingStore)) & set(dir(PgRatingStore))


# -- 8 processes x 4 threads ---------------------------------------------------------------


def test_eight_processes_four_threads_store_exact_rows(pg_url: str, tmp_path: Path):
    with ProcessPoolExecutor(PROCESSES, mp_context=SPAWN) as pool:
        results = [
            r
            for chunk in pool.map(writer_process, [pg_url] * PROCESSES, range(PROCESSES))
            for r in chunk
        ]
    expected = PROCESSES * THREADS * ROWS
    assert len(results) == 2 * expected  # every key was sent twice, from two processes
    acks = Counter((who, stim) for who, stim, saved in results if saved)
    assert len(acks) == expected and set(acks.values()) == {1}  # each acknowledged once
    store = PgRatingStore(ConnectionPool(pg_url), "crowd")
    assert store.count() == expected and store.stored_keys() == set(acks)
    out = tmp_path / "crowd.csv"
    assert export_csv(store.pool, "crowd", out) == expected
    frame = read_ratings(out)
    assert len(frame) == expected and not frame.duplicated(["listener_id", "stimulus_id"]).any()


# -- kill -9 --------------------------------------------------------------------------------
def test_kill_9_loses_nothing_acknowledged(pg_url: str):
    acks = SPAWN.Queue()
    writer = SPAWN.Process(target=acknowledging_writer, args=(pg_url, acks))
    writer.start()
    received = [acks.get(timeout=60) for _ in range(40)]  # mid-run: 40 acknowledged
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(10)
    assert writer.exitcode == -signal.SIGKILL
    while True:  # acknowledgements already sent before the kill
        try:
            received.append(acks.get(timeout=0.5))
        except (queue.Empty, EOFError, OSError):  # drained (or the pipe closed by the kill)
            break
    store = PgRatingStore(ConnectionPool(pg_url), "killed")
    stored = store.stored_keys()
    assert set(received) <= stored, set(received) - stored
    # a restarted writer retries everything: acknowledged rows are not doubled
    retried = [store.append(rating(who, stim, "killed")) for who, stim in sorted(stored)]
    assert not any(retried) and store.count() == len(stored)


# -- identical to the CSV backend ----------------------------------------------------------
def test_export_and_report_identical_to_csv_backend(pg_url: str, tmp_path: Path, mos_cli):
    rng = random.Random(7)
    rows = []
    for n in range(6):
        for i in range(8):
            stim = f"s{i}{n % 2}"
            extra = {
                "is_gold": i == 7,
                "expected": 1 if i == 7 else None,
                "condition": '-3 dB, "odd"' if i == 3 else "",
                "position": i + 1,
            }
            when = f"2026-01-0{1 + n}T10:00:{10 + i}.123Z"
            rows.append(
                rating(
                    f"L{n}",
                    stim,
                    "same",
                    rng.choice([1, 2, 3, 4, 5]),
                    timestamp=when,
                    listened_s=rng.uniform(1, 3),
                    **extra,
                )
            )
    csv_store = RatingStore(tmp_path / "file" / "ratings.csv")
    db_store = PgRatingStore(ConnectionPool(pg_url), "same")
    for row in rows:
        assert csv_store.append(row) and db_store.append(row)
        assert not csv_store.append(row) and not db_store.append(row)
    exported = tmp_path / "db" / "ratings.csv"
    assert mos_cli(["export", "--db", pg_url, "--test", "same", "--out", str(exported)]) == 0
    assert exported.read_bytes() == csv_store.path.read_bytes()
    file_report = write_report(csv_store.path, tmp_path / "file_report")
    db_report = write_report(exported, tmp_path / "db_report")
    assert file_report.markdown() == db_report.markdown()
    for name, path in file_report.files.items():
        if path.suffix != ".png":
            assert path.read_bytes() == db_report.files[name].read_bytes(), name


def test_export_cli_bad_database_is_one_line_error(tmp_path: Path, capsys, mos_cli):
    out = tmp_path / "x.csv"
    assert mos_cli(["export", "--db", "mysql://x", "--test", "t", "--out", str(out)]) == 1
    assert (
        mos_cli(
            [
                "export",
                "--db",
                "postgresql://nobody@127.0.0.1:1/none",
                "--test",
                "t",
                "--out",
                str(out),
            ]
        )
        == 1
    )
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("error: ") for e in errors)
    assert not out.exists()


def three_system_test(
    root: Path, test_id: str, *, items: int, per_session: int, votes: int
) -> TestDefinition:
    """A synthetic test of systems a, b, c without training items (the balance tests)."""
    return make_test(
        root,
        test_id=test_id,
        items=items,
        systems=("a", "b", "c"),
        items_per_session=per_session,
        votes=votes,
        training=0,
    )


# -- replicas -------------------------------------------------------------------------------
def test_two_replicas_share_one_test(pg_url: str, tmp_path: Path):
    # 6 items x 3 systems = 18 stimuli, 6 per session: 12 listeners give every stimulus 4 votes
    definition = three_system_test(tmp_path, "replicas", items=6, per_session=6, votes=4)
    folder = str(tmp_path / "replicas")
    names = [f"R{n}" for n in range(12)]
    a_side, b_side = names[0::2], names[1::2]
    with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
        # listeners arrive on both replicas at once; each replica rates the first halves
        first = [
            pool.submit(replica, folder, pg_url, side, "first", seed)
            for seed, side in enumerate((a_side, b_side))
        ]
        opened = {k: v for f in first for k, v in f.result().items()}
        # every listener reloads and lands on the other replica: resume, rate the rest
        second = [
            pool.submit(replica, folder, pg_url, side, "second", seed)
            for seed, side in enumerate((b_side, a_side))
        ]
        resumed = {k: v for f in second for k, v in f.result().items()}
    for name in names:
        session_id, order, acked_first, _ = opened[name]
        assert resumed[name][:2] == (session_id, order)  # same session on either replica
        assert not any(resumed[name][3])  # the retries of the first half: stored once already
        assert set(acked_first) | set(resumed[name][2]) == set(order)
    # atomic claims across replicas: every stimulus held by the same number of sessions (±1)
    held = Counter(s for _, order, *_ in opened.values() for s in order)
    per_stim = [held[s.id] for s in definition.stimuli]
    assert max(per_stim) - min(per_stim) <= 1, per_stim
    systems = Counter(s.system for s in definition.stimuli for _ in range(held[s.id]))
    assert set(systems.values()) == {24}  # 72 places: each of the 3 systems holds a third
    system_of = {s.id: s.system for s in definition.stimuli}
    for name, (_, order, *_) in opened.items():  # round-robin over systems within a session
        per_system = Counter(system_of[s] for s in order)
        counts = [per_system[system] for system in ("a", "b", "c")]
        assert max(counts) - min(counts) <= 1, (name, counts)
    store = PgRatingStore(ConnectionPool(pg_url), "replicas")
    assert store.count() == 12 * 6 == len(store.stored_keys())  # every rating counted once
    book = PgSessionBook(ConnectionPool(pg_url), definition)
    assert {s.listener_id: s.stage for s in book.all()} == dict.fromkeys(names, "done")


def test_database_assigns_like_the_file_backend(pg_url: str, tmp_path: Path, monkeypatch):
    """Same arrivals and random seeds: the database backend builds the same sessions."""
    monkeypatch.delenv("STUDIO_RATINGS_DB", raising=False)
    three_system_test(tmp_path, "parity", items=5, per_session=4, votes=3)
    by_file = ListeningTest(tmp_path / "parity")
    by_db = ListeningTest(tmp_path / "parity", ratings_db=pg_url)
    for n in range(9):
        sessions = [t.open(f"P{n}", rng=random.Random(n)) for t in (by_file, by_db)]
        assert sessions[0].order == sessions[1].order and sessions[0].flipped == sessions[1].flipped
        if n % 2:  # some listeners rate everything, so loads come from ratings and sessions
            for t, s in zip((by_file, by_db), sessions, strict=True):
                for sid in s.order:
                    assert t.submit(s, sid, 4, play_count=1, listened_s=0.5, response_ms=10)
    assert by_file.sessions.get("P3").stage == by_db.sessions.get("P3").stage == "done"


def test_backend_choice_and_results_export(pg_url: str, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("STUDIO_RATINGS_DB", raising=False)
    assert database_url(None) is None  # CSV is the default
    with pytest.raises(ValueError, match="postgresql://"):
        database_url("sqlite:///x.db")
    monkeypatch.setenv("STUDIO_RATINGS_DB", pg_url)
    assert database_url(None) == pg_url
    make_test(tmp_path, test_id="exported", items=2, items_per_session=4, training=0)
    test = ListeningTest(tmp_path / "exported")  # the app's construction: backend from env
    assert isinstance(test.store, PgRatingStore)
    assert ratings_csv(tmp_path / "exported", "exported", tmp_path / "out") is None  # no rows
    session = test.open("E1")
    for sid in session.order:
        assert test.submit(session, sid, 5, play_count=1, listened_s=0.5, response_ms=10)
    csv = ratings_csv(tmp_path / "exported", "exported", tmp_path / "out")
    assert csv == tmp_path / "out" / "ratings.csv"
    assert sorted(read_ratings(csv)["stimulus_id"]) == sorted(session.order)
    assert not (tmp_path / "exported" / "ratings.csv").exists()  # nothing written beside it


def test_columns_added_to_the_csv_layout_are_added_to_an_old_table(pg_url: str, tmp_path):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE evolve")
    url = pg_url.rsplit("/", 1)[0] + "/evolve"
    PgRatingStore(ConnectionPool(url), "old").count()  # creates the current schema
    with psycopg.connect(url, autocommit=True) as conn:  # make it a table from before "expected"
        conn.execute('ALTER TABLE mos_ratings DROP COLUMN "expected"')
    store = PgRatingStore(ConnectionPool(url), "old")  # a new app version starts
    assert store.append(rating("L1", "s10", "old", expected=4))
    out = tmp_path / "old.csv"
    assert export_csv(store.pool, "old", out) == 1
    assert read_ratings(out)["expected"].tolist() == [4]


def test_lost_connection_is_retried_and_an_unreachable_database_is_a_clear_error(
    pg_url: str, caplog
):
    import psycopg

    store = PgRatingStore(ConnectionPool(pg_url), "lost")
    assert store.append(rating("L1", "s10", "lost"))
    with store.pool.connection() as conn:  # the pooled connection the next append reuses
        pid = conn.info.backend_pid
    with psycopg.connect(pg_url, autocommit=True) as admin:  # as if the server restarted
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert store.append(rating("L1", "s20", "lost"))  # retried on a new connection
    assert "retrying once" in caplog.text
    assert store.stored_keys() == {("L1", "s10"), ("L1", "s20")}
    down = PgRatingStore(ConnectionPool("postgresql://x@127.0.0.1:1/none"), "lost")
    with pytest.raises(DatabaseError) as err:
        down.append(rating("L1", "s30", "lost"))
    assert isinstance(err.value, OSError) and "\n" not in str(err.value)
