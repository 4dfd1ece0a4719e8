"""RatingStore: header once, exactly-once rows across threads and processes, torn-line
repair, formula neutralisation, and the CSV always parses."""

from __future__ import annotations

import csv
import multiprocessing as mp
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from pipeline.mos.rating_format import COLUMNS, CRC_COLUMN, RatingError, format_line, neutralise
from pipeline.mos.storage import RatingStore, read_ratings

#: the leading columns every ratings file starts with, in order (the issue's list)
REQUIRED = tuple(
    "timestamp,test_id,listener_id,session_id,stimulus_id,system,item_id,question,score,"
    "play_count,listened_s,response_ms,is_gold,is_trap,app_version".split(",")
)


def row(listener: str, stim: str, score: float = 3, **extra) -> dict:
    return {
        "test_id": "t",
        "listener_id": listener,
        "session_id": "x",
        "stimulus_id": stim,
        "system": "sysA",
        "item_id": "i1",
        "question": "acr",
        "score": score,
        "play_count": 1,
        "listened_s": 2.5,
        "response_ms": 900,
        "app_version": "0.1",
        **extra,
    }


def test_required_columns_and_header_written_once(tmp_path: Path):
    store = RatingStore(tmp_path / "r.csv")
    assert store.append(row("L1", "s1"))
    assert store.append(row("L1", "s2", 5))
    lines = (tmp_path / "r.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[: len(REQUIRED)] == list(REQUIRED)
    assert header[-1] == CRC_COLUMN
    assert sum(line.startswith("timestamp,") for line in lines) == 1
    frame = pd.read_csv(tmp_path / "r.csv")  # a plain CSV reader is happy too
    assert list(frame["score"]) == [3, 5]
    assert frame["timestamp"].str.endswith("Z").all()


def test_duplicates_ignored_even_from_a_second_instance(tmp_path: Path):
    path = tmp_path / "r.csv"
    assert RatingStore(path).append(row("L1", "s1", 2))
    assert not RatingStore(path).append(row("L1", "s1", 5))  # another process' view
    store = RatingStore(path)
    assert not store.append(row("L1", "s1", 4))
    assert store.append(row("L2", "s1", 4))
    frame = read_ratings(path)
    assert len(frame) == 2
    assert frame.loc[frame["listener_id"] == "L1", "score"].item() == 2  # first one wins


def test_rows_are_appended_never_rewritten(tmp_path: Path):
    path = tmp_path / "r.csv"
    store = RatingStore(path)
    store.append(row("L1", "s1"))
    before = path.read_bytes()
    store.append(row("L1", "s2"))
    assert path.read_bytes().startswith(before)


def test_formula_injection_is_neutralised(tmp_path: Path):
    path = tmp_path / "r.csv"
    store = RatingStore(path)
    store.append(
        row(
            '=HYPERLINK("x")',
            "s1",
            system="+cmd|' /C calc'!A0",
            item_id="@SUM(1,2)",
            condition="-2+3\nnext",
        )
    )
    store.append(row("L2", "s1", score=-3, question="ccr"))
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    first = rows[0]
    for name in ("listener_id", "system", "item_id", "condition"):
        assert first[name][0] == "'", name
    assert "\n" not in first["condition"] and "," not in first["item_id"]
    assert rows[1]["score"] == "-3"  # numbers are not mangled
    assert neutralise("plain") == "plain"


def test_bad_rows_are_refused(tmp_path: Path):
    store = RatingStore(tmp_path / "r.csv")
    with pytest.raises(RatingError):
        store.append(row("", "s1"))
    with pytest.raises(RatingError):
        store.append(row("L1", "s1", score="five"))
    with pytest.raises(RatingError):
        store.append(row("L1", "s1", score=float("nan")))
    with pytest.raises(RatingError):
        store.append({**row("L1", "s1"), "unknown": 1})


def test_torn_last_line_is_repaired_and_skipped(tmp_path: Path):
    path = tmp_path / "r.csv"
    store = RatingStore(path)
    store.append(row("L1", "s1", 4))
    store.append(row("L1", "s2", 2))
    acked = path.read_bytes()
    # a crash in the middle of writing the next row: half a line, no newline
    torn = format_line({**row("L1", "s3", 5), "timestamp": "2026-01-01T00:00:00.000Z"})
    with path.open("ab") as handle:
        handle.write(torn[: len(torn) // 2])
    assert len(read_ratings(path)) == 2  # the file parses, the torn row is dropped
    assert RatingStore(path).append(row("L1", "s3", 5))  # the retry is not a "duplicate"
    data = path.read_bytes()
    assert data.startswith(acked)  # acknowledged rows untouched
    frame = read_ratings(path)
    assert sorted(frame["stimulus_id"]) == ["s1", "s2", "s3"]
    assert len(pd.read_csv(path)) == 4  # plain readers see the torn row as one short row


def test_torn_row_that_kept_every_field_fails_its_crc(tmp_path: Path):
    path = tmp_path / "r.csv"
    RatingStore(path).append(row("L1", "s1", 4))
    line = format_line({**row("L1", "s2", 5), "timestamp": "2026-01-01T00:00:00.000Z"})
    with path.open("ab") as handle:
        handle.write(line[:-3])  # lost the end of the CRC
    assert list(read_ratings(path)["stimulus_id"]) == ["s1"]


def test_threads_exactly_once(tmp_path: Path):
    path = tmp_path / "r.csv"
    store = RatingStore(path)
    jobs = [(f"L{i % 10}", f"s{i // 10}") for i in range(200)] * 2  # every key twice
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda k: store.append(row(*k)), jobs))
    assert sum(results) == 200
    frame = read_ratings(path)
    assert len(frame) == 200
    assert len(path.read_text().splitlines()) == 201


def _worker(args) -> list[tuple[str, str]]:
    path, worker = args
    store = RatingStore(path)
    acked = []
    for i in range(40):
        key = (f"L{worker}", f"s{i}")
        if store.append(row(*key)):
            acked.append(key)
        # every process also tries to write a shared key
        shared = ("shared", f"s{i}")
        if store.append(row(*shared)):
            acked.append(shared)
    return acked


def test_processes_exactly_once(tmp_path: Path):
    path = str(tmp_path / "r.csv")
    ctx = mp.get_context("spawn")  # no fork of a process that may hold threads and locks
    with ctx.Pool(4) as pool:
        acked = [k for part in pool.map(_worker, [(path, w) for w in range(4)]) for k in part]
    assert len(acked) == len(set(acked)) == 4 * 40 + 40
    frame = read_ratings(path)
    on_disk = list(zip(frame["listener_id"], frame["stimulus_id"], strict=True))
    assert sorted(on_disk) == sorted(acked)
    assert len(Path(path).read_text().splitlines()) == 1 + len(acked)


def test_columns_cover_the_issue_list():
    assert set(REQUIRED) <= set(COLUMNS)
