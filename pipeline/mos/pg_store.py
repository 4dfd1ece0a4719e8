"""Ratings in PostgreSQL (psycopg 3): the database twin of :class:`~pipeline.mos.storage.RatingStore`.

``PgRatingStore(pool, test_id)`` has the same interface and guarantees as the CSV store:

* ``append(row)`` returns ``True`` only after the ``INSERT`` is committed (the caller then
  shows "saved"), ``False`` when the ``(test_id, listener_id, stimulus_id)`` key already
  existed — a ``UNIQUE`` constraint decides, so retries and double clicks from any number
  of processes or replicas store a rating exactly once;
* rows are formatted and validated by the CSV store's own :func:`format_line` (same
  columns, same neutralising of text, same number formatting), stored cell by cell, and
  :func:`export_csv` writes them back through the same function: the export of a database
  is byte-for-byte the CSV the file backend writes for the same rows in the same order.

Table ``mos_ratings``: ``seq`` (insertion order), one ``text`` column per CSV column
(``score`` etc. hold the CSV's formatted numbers; cast in SQL, e.g. ``score::float``),
``token`` (random per ``append`` call, to recognise its own retry) and ``stored_at``
(server time). The schema is created on first use.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from pipeline.mos.rating_format import (
    COLUMNS,
    HEADER,
    RatingError,
    format_line,
    neutralise,
    rating_key,
    row_cells,
    stamped,
)

log = logging.getLogger(__name__)

TABLE = "mos_ratings"
_COLS_SQL = ", ".join(f'"{c}"' for c in COLUMNS)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq bigserial PRIMARY KEY,
    {", ".join(f'"{c}" text NOT NULL' for c in COLUMNS)},
    token text NOT NULL DEFAULT '',
    stored_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (test_id, listener_id, stimulus_id)
);
CREATE TABLE IF NOT EXISTS mos_sessions (
    test_id text NOT NULL,
    listener_id text NOT NULL,
    data jsonb NOT NULL,
    updated double precision NOT NULL,
    PRIMARY KEY (test_id, listener_id)
);
"""
_SCHEMA_LOCK = 0x5354_5544  # advisory lock id: concurrent first starts create the schema once


class DatabaseError(OSError):
    """The ratings database cannot be reached or failed (one-line message).

    An :class:`OSError`, like a failing disk under the CSV store, so callers that handle
    storage failures (the listening page shows a one-line error) handle both backends.
    """


class ConnectionPool:
    """A few reusable autocommit connections to one database, shared by threads.

    ``connection()`` lends one; a connection that failed is closed instead of returned.
    At most ``keep`` idle connections are kept; more are opened on demand under load.
    """

    def __init__(self, url: str, *, keep: int = 8, connect_timeout: int = 10) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue(maxsize=keep)
        self._connect_timeout = connect_timeout
        self._schema_ready = False

    def _connect(self) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self._connect_timeout)
        except psycopg.Error as err:
            raise DatabaseError(f"cannot connect to the ratings database: {one_line(err)}") from err
        if not self._schema_ready:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute(SCHEMA)
                have = {
                    r[0]
                    for r in conn.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = %s",
                        (TABLE,),
                    )
                }
                for name in (c for c in COLUMNS if c not in have):  # added to the CSV later
                    conn.execute(
                        f"ALTER TABLE {TABLE} ADD COLUMN \"{name}\" text NOT NULL DEFAULT ''"
                    )
            self._schema_ready = True
        return conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        except psycopg.OperationalError as err:  # connection lost, server restarting...
            conn.close()
            raise DatabaseError(f"ratings database: {one_line(err)}") from err
        except BaseException:
            conn.close()  # state unknown (failed or interrupted mid-statement)
            raise
        if conn.closed or conn.broken or conn.info.transaction_status != 0:
            conn.close()
            return
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


def one_line(err: BaseException) -> str:
    """A driver error message on one line (libpq adds hints on further lines)."""
    return " ".join(str(err).split())


class PgRatingStore:
    """Ratings of one test in PostgreSQL; safe for any number of threads, processes, hosts."""

    def __init__(self, pool: ConnectionPool, test_id: str) -> None:
        self.pool = pool
        self.test_id = neutralise(test_id)

    def append(self, row: Mapping[str, Any]) -> bool:
        """Store one rating; ``True`` once committed, ``False`` if the key already was.

        A failed connection (e.g. the server restarted under a pooled one) is retried once
        on a new one; if the first attempt had in fact committed, the stored row carries
        this call's random ``token`` and is acknowledged as saved. Raises
        :class:`DatabaseError` when the database stays unreachable (nothing acknowledged).
        """
        row = stamped(row)
        row.setdefault("test_id", self.test_id)
        values = row_cells(row)
        rating_key(values)
        if values["test_id"] != self.test_id:
            raise RatingError(f"row of test {values['test_id']!r} given to {self.test_id!r}")
        token = secrets.token_hex(8)
        for attempt in (1, 2):
            try:
                with self.pool.connection() as conn:
                    return self._insert(conn, values, token, retry=attempt > 1)
            except DatabaseError as err:
                if attempt == 2:
                    raise DatabaseError(f"rating not stored: {err}") from err
                log.warning("%s; retrying once on a new connection", err)
        raise AssertionError("unreachable")

    def _insert(
        self, conn: psycopg.Connection, values: dict[str, str], token: str, *, retry: bool
    ) -> bool:
        placeholders = ", ".join(["%s"] * (len(COLUMNS) + 1))
        cur = conn.execute(
            f"INSERT INTO {TABLE} ({_COLS_SQL}, token) VALUES ({placeholders}) "
            "ON CONFLICT (test_id, listener_id, stimulus_id) DO NOTHING RETURNING seq",
            [*(values[c] for c in COLUMNS), token],
        )
        if cur.fetchone() is not None:
            return True  # autocommit: committed when execute returned
        if retry:  # was it our own first attempt that committed before the connection broke?
            cur = conn.execute(
                f"SELECT token FROM {TABLE} WHERE test_id=%s AND listener_id=%s AND stimulus_id=%s",
                (values["test_id"], values["listener_id"], values["stimulus_id"]),
            )
            found = cur.fetchone()
            return found is not None and found[0] == token
        return False

    def stored_keys(self) -> set[tuple[str, ...]]:
        """All ``(listener_id, stimulus_id)`` keys stored for this test."""
        with self.pool.connection() as conn:
            cur = conn.execute(
                f"SELECT listener_id, stimulus_id FROM {TABLE} WHERE test_id=%s",
                (self.test_id,),
            )
            return {tuple(r) for r in cur.fetchall()}

    def rated_by(self, listener_id: str, *, refresh: bool = True) -> set[str]:  # noqa: ARG002
        """Stimulus ids the listener has a stored rating for (always read from the database)."""
        with self.pool.connection() as conn:
            cur = conn.execute(
                f"SELECT stimulus_id FROM {TABLE} WHERE test_id=%s AND listener_id=%s",
                (self.test_id, neutralise(listener_id)),
            )
            return {r[0] for r in cur.fetchall()}

    def count(self) -> int:
        with self.pool.connection() as conn:
            cur = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE test_id=%s", (self.test_id,))
            return int(cur.fetchone()[0])

    def lines(self) -> Iterator[bytes]:
        """Every stored row as the CSV line the file backend writes, in commit order."""
        with self.pool.connection() as conn:
            cur = conn.execute(
                f"SELECT {_COLS_SQL} FROM {TABLE} WHERE test_id=%s ORDER BY seq",
                (self.test_id,),
            )
            for record in cur.fetchall():
                yield format_line(dict(zip(COLUMNS, record, strict=True)))


def export_csv(pool: ConnectionPool, test_id: str, out: str | Path) -> int:
    """Write the test's ratings as the CSV the file backend writes; returns the row count.

    The file is written to a temporary name, fsync-ed and renamed into place.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    count = 0
    with open(tmp, "wb") as handle:
        handle.write(HEADER)
        for line in PgRatingStore(pool, test_id).lines():
            handle.write(line)
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(out)
    return count
