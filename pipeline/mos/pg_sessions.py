"""Listener sessions in PostgreSQL: the database twin of :class:`~pipeline.mos.assignment.SessionBook`.

Sessions live in table ``mos_sessions`` (``test_id``, ``listener_id``, the session as
``jsonb``), so every app process or replica sharing the database resumes the same session.
A new session is claimed atomically: under a transaction-scoped advisory lock per test
(``pg_advisory_xact_lock``), the book reads the live sessions and stored ratings, chooses
the stimuli with the same :func:`~pipeline.mos.assignment.stimulus_loads` /
:func:`~pipeline.mos.assignment.new_order` as the file backend, and inserts the session
before the lock is released; two replicas never see the same loads.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict

from psycopg.types.json import Jsonb

from pipeline.mos.assignment import Session, new_session
from pipeline.mos.definition import TestDefinition
from pipeline.mos.pg_store import ConnectionPool

_LOCK_PREFIX = "studio-mos-sessions:"


def _session(data: dict | str) -> Session:
    return Session(**(json.loads(data) if isinstance(data, str) else data))


class PgSessionBook:
    """Creates and resumes the sessions of one test in PostgreSQL (threads, processes, hosts)."""

    #: a live session's ``updated`` time is rewritten at most this often (seconds)
    TOUCH_EVERY_S = 60.0

    def __init__(self, pool: ConnectionPool, definition: TestDefinition) -> None:
        self.pool = pool
        self.definition = definition
        self.test_id = definition.test_id

    def get(self, listener_id: str) -> Session | None:
        with self.pool.connection() as conn:
            found = conn.execute(
                "SELECT data FROM mos_sessions WHERE test_id=%s AND listener_id=%s",
                (self.test_id, listener_id),
            ).fetchone()
        return _session(found[0]) if found else None

    def all(self) -> list[Session]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT data FROM mos_sessions WHERE test_id=%s", (self.test_id,)
            ).fetchall()
        return [_session(r[0]) for r in rows]

    def open(
        self,
        listener_id: str,
        stored_keys_fn: Callable[[], set[tuple[str, ...]]],
        *,
        rng: random.Random | None = None,
        now: float | None = None,
    ) -> Session:
        """The listener's session, created with a balanced order on first visit.

        ``stored_keys_fn()`` is called while this test's advisory lock is held.
        """
        now = time.time() if now is None else now
        existing = self.get(listener_id)
        if existing is not None:
            return existing
        rng = rng or random.Random(secrets.randbits(64))
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK_PREFIX + self.test_id,)
            )
            rows = conn.execute(
                "SELECT listener_id, data FROM mos_sessions WHERE test_id=%s", (self.test_id,)
            ).fetchall()
            sessions = {who: _session(data) for who, data in rows}
            if listener_id in sessions:
                return sessions[listener_id]
            session = new_session(
                self.definition, listener_id, sessions.values(), stored_keys_fn(), rng, now=now
            )
            conn.execute(
                "INSERT INTO mos_sessions (test_id, listener_id, data, updated) "
                "VALUES (%s, %s, %s, %s)",
                (self.test_id, listener_id, Jsonb(asdict(session)), now),
            )
        return session

    def save(self, session: Session, *, now: float | None = None) -> None:
        """Store the session's progress (insert or replace), committed on return."""
        session.updated = time.time() if now is None else now
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO mos_sessions (test_id, listener_id, data, updated) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (test_id, listener_id) "
                "DO UPDATE SET data = EXCLUDED.data, updated = EXCLUDED.updated",
                (self.test_id, session.listener_id, Jsonb(asdict(session)), session.updated),
            )

    def touch(self, session: Session, *, now: float | None = None) -> None:
        """Keep a live session's reservation (rewritten at most once a minute)."""
        now = time.time() if now is None else now
        if now - session.updated >= self.TOUCH_EVERY_S:
            self.save(session, now=now)
