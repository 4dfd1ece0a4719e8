"""The one write path for ratings: an append-only, crash-safe, lock-protected CSV.

``RatingStore(csv_path).append(row)`` is safe across threads *and* processes:

* every append holds an exclusive :class:`filelock.FileLock` (``ratings.csv.lock``);
* a row is one complete line written with a single ``os.write`` on an ``O_APPEND`` file
  descriptor, then ``fsync``-ed, and only then is ``True`` returned (the caller shows "saved");
* earlier bytes are never rewritten. A crash mid-write can leave at most one torn last line;
  the next writer ends it with a newline, and readers drop it because its ``row_crc32``
  (CRC-32 of the rest of the line) does not match — the file always parses;
* one rating per ``(listener_id, stimulus_id)``: a second append with the same key is
  ignored (``append`` returns ``False``) even when it comes from another process;
* text fields cannot smuggle CSV structure or spreadsheet formulas: control characters are
  removed, ``"`` becomes ``'``, ``,`` becomes ``;`` and a leading ``= + - @`` gets a ``'``
  prefix. Numeric fields are formatted by the store and must be finite numbers, so no field
  ever needs quoting (the line format: :mod:`pipeline.mos.rating_format`).

Reading: :func:`read_ratings` (valid rows as a DataFrame); :func:`write_frame` for derived
tables.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock

from pipeline.mos.rating_format import (
    BOOLEAN,
    COLUMNS,
    CRC_COLUMN,
    FORMULA_START,
    HEADER,
    KEY,
    LEGACY_COLUMNS,
    LEGACY_HEADER,
    NUMERIC,
    RatingError,
    format_line,
    neutralise,
    parse_line,
    rating_key,
    stamped,
)

log = logging.getLogger(__name__)


@dataclass
class _Request:
    key: tuple[str, ...]
    line: bytes
    row: Mapping[str, Any]
    saved: bool = False
    done: bool = False
    error: Exception | None = None


@dataclass
class _Index:
    offset: int = 0
    keys: set[tuple[str, ...]] | None = None
    columns: tuple[str, ...] = COLUMNS  # the file's layout (LEGACY_COLUMNS for old files)
    by_listener: dict[str, set[str]] = field(default_factory=dict)

    def add(self, key: tuple[str, ...]) -> None:
        self.keys.add(key)
        self.by_listener.setdefault(key[0], set()).add(key[1])


class RatingStore:
    """Append-only ratings CSV with exactly-once rows per ``(listener_id, stimulus_id)``.

    One instance may be shared by many threads; any number of processes may hold their own
    instance on the same file. Each instance keeps an index of stored keys that it extends
    incrementally (reading only bytes appended since it last looked) under the lock.
    """

    def __init__(self, csv_path: str | Path, *, lock_timeout: float = 30.0) -> None:
        self.path = Path(csv_path)
        # short poll: waiters retry every 2 ms instead of filelock's default 50 ms
        self._file_lock = FileLock(
            str(self.path) + ".lock", timeout=lock_timeout, poll_interval=0.002
        )
        self._thread_lock = threading.Lock()  # guards the index and the file descriptor work
        self._index = _Index()
        self._batch = threading.Condition()  # guards _pending / _flushing (group commit)
        self._pending: list[_Request] = []
        self._flushing = False

    # -- writing ---------------------------------------------------------------------------
    def append(self, row: Mapping[str, Any]) -> bool:
        """Store one rating; ``True`` once it is on disk, ``False`` if the key already was.

        ``timestamp`` is filled in (UTC) when absent. Raises :class:`RatingError` for a row
        without ``listener_id``/``stimulus_id`` or with a non-numeric score.

        Group commit: rows arriving from several threads while a write is in progress are
        written together by the next writer with one ``os.write`` and one ``fsync``; each
        caller returns only after the ``fsync`` covering its row.
        """
        row = stamped(row)
        request = _Request(rating_key(row), format_line(row), row)
        with self._batch:
            self._pending.append(request)
            while not request.done:
                if self._flushing:
                    self._batch.wait()
                    continue
                batch, self._pending, self._flushing = self._pending, [], True
                self._batch.release()
                try:
                    self._write_batch(batch)
                finally:
                    self._batch.acquire()
                    self._flushing = False
                    self._batch.notify_all()
        if request.error is not None:
            raise request.error
        return request.saved

    def _write_batch(self, batch: list[_Request]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._thread_lock, self._file_lock:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    keys = self._refresh(fd)
                    lines = []
                    for request in batch:
                        if self._index.columns != COLUMNS:  # an old file keeps its layout
                            try:
                                request.line = format_line(request.row, self._index.columns)
                            except RatingError as err:
                                request.error, request.done = err, True
                                continue
                        request.saved = request.key not in keys
                        if request.saved:
                            self._index.add(request.key)
                            lines.append(request.line)
                    if lines:
                        data = b"".join(lines)
                        _write_all(fd, data)
                        os.fsync(fd)
                        self._index.offset += len(data)
                finally:
                    os.close(fd)
            for request in batch:
                request.saved = request.saved and request.error is None
                request.done = True
        except Exception as err:  # handed to every caller of this batch: none is acknowledged
            for request in batch:
                request.error, request.saved, request.done = err, False, True
            self._index = _Index()  # re-read from disk next time
        finally:
            for request in batch:  # interrupted (e.g. KeyboardInterrupt): never acknowledge
                if not request.done:
                    request.error = RatingError("write interrupted")
                    request.saved, request.done = False, True

    def stored_keys(self) -> set[tuple[str, ...]]:
        """All ``(listener_id, stimulus_id)`` keys on disk now (a copy)."""
        with self._thread_lock:
            self._sync()
            return set(self._index.keys or ())

    def _sync(self) -> None:
        """Under the thread lock: index the rows appended since this instance last looked."""
        if not self.path.exists():
            return
        with self._file_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
            try:
                self._refresh(fd)
            finally:
                os.close(fd)

    def rated_by(self, listener_id: str, *, refresh: bool = True) -> set[str]:
        """Stimulus ids the listener has a stored rating for.

        ``refresh=False`` answers from this instance's index without touching the file: it
        holds every row on disk as of this instance's last read or write (e.g. right after
        :meth:`append`), which is enough to tell that a listener's own session is complete.
        """
        with self._thread_lock:
            if refresh:
                self._sync()  # reads only the bytes appended since the last look
            return set(self._index.by_listener.get(neutralise(listener_id), ()))

    # -- internals -------------------------------------------------------------------------
    def _refresh(self, fd: int) -> set[tuple[str, ...]]:
        """Under the lock: write the header to a new file, repair a torn tail, index new rows."""
        size = os.fstat(fd).st_size
        if size == 0:
            _write_all(fd, HEADER)
            os.fsync(fd)
            self._index = _Index(offset=len(HEADER), keys=set())
            return self._index.keys
        if self._index.keys is None or self._index.offset > size:
            self._index = _Index(offset=0, keys=set())
        index = self._index
        if index.offset < size:
            data = os.pread(fd, size - index.offset, index.offset)
            if not data.endswith(b"\n"):
                log.warning("%s: torn last line (crash mid-write?); ending it", self.path)
                _write_all(fd, b"\n")
                os.fsync(fd)
                data += b"\n"
                size += 1
            start = 0
            if index.offset == 0:
                header_line, _, _ = data.partition(b"\n")
                if header_line + b"\n" not in (HEADER, LEGACY_HEADER):
                    raise RatingError(f"{self.path} has an unexpected header; not appending")
                index.columns = COLUMNS if header_line + b"\n" == HEADER else LEGACY_COLUMNS
                start = len(header_line) + 1
            header = [*index.columns, CRC_COLUMN]
            for raw in data[start:].decode("utf-8", errors="replace").splitlines():
                fields = parse_line(raw, header)
                if fields is not None:
                    index.add(tuple(fields[k] for k in KEY))
            index.offset = size
        return index.keys


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_ratings(csv_path: str | Path) -> pd.DataFrame:
    """All valid rows of a ratings CSV as a DataFrame (first rating per key wins).

    Torn or corrupt lines (CRC mismatch, wrong field count) are skipped with a warning.
    A CSV written by another tool (no ``row_crc32`` column) is read with pandas as is.
    Numeric columns become floats, ``is_gold``/``is_trap`` booleans. A file without the
    label columns (written before the emotion kinds) loads with them empty.
    """
    path = Path(csv_path)
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    if not lines:
        return _typed(pd.DataFrame(columns=list(COLUMNS)))
    header = lines[0].split(",")
    if header[-1] != CRC_COLUMN:
        return _typed(pd.read_csv(path, dtype=str, keep_default_na=False))
    rows, bad = [], 0
    for raw in lines[1:]:
        fields = parse_line(raw, header)
        if fields is None:
            bad += bool(raw.strip())
            continue
        rows.append(fields)
    if bad:
        log.warning("%s: skipped %d torn or corrupt line(s)", path, bad)
    frame = pd.DataFrame(rows, columns=header).drop(columns=[CRC_COLUMN])
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("listener_id", "stimulus_id", "system", "score") if c not in frame]
    if missing:
        raise RatingError(f"ratings CSV lacks columns: {', '.join(missing)}")
    for name in NUMERIC & set(frame.columns):
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    for name in BOOLEAN:
        frame[name] = (
            frame[name].astype(str).isin(["1", "True", "true"]) if name in frame else False
        )
    for name in ("item_id", "question", "condition", "session_id", "test_id", "label", "truth"):
        if name not in frame:
            frame[name] = ""
    for name in ("expected", "play_count", "certainty"):
        if name not in frame:
            frame[name] = float("nan")
    # a rating needs a score, an emotion answer a label (its score, the intensity, is optional)
    frame = frame[frame["score"].notna() | (frame["label"].astype(str) != "")]
    return frame.drop_duplicates(subset=list(KEY), keep="first").reset_index(drop=True)


def write_frame(
    frame: pd.DataFrame, path: str | Path, columns: Iterable[str] | None = None
) -> Path:
    """Write a derived table (screened ratings, summaries) as CSV with formula neutralising."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame[list(columns)] if columns is not None else frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(lambda v: v if not isinstance(v, str) else _safe_cell(v))
    out.to_csv(path, index=False)
    return path


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
