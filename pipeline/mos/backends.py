"""Where a listening test keeps its ratings and sessions: CSV files (default) or PostgreSQL.

* file backend (default): ``<test folder>/ratings.csv`` (:class:`RatingStore`) and
  ``<test folder>/sessions/*.json`` (:class:`SessionBook`) — one host;
* database backend: a ``postgresql://`` URL given as ``--ratings-db`` (app) or
  ``$STUDIO_RATINGS_DB``: :class:`PgRatingStore` and :class:`PgSessionBook` — any number of
  app processes or replicas on any hosts sharing one database.

Both have the same columns and guarantees; :func:`ratings_csv` gives the CSV of a test in
either mode (for the report), the database one through
:func:`pipeline.mos.pg_store.export_csv`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.mos.assignment import SessionBook
from pipeline.mos.definition import TestDefinition
from pipeline.mos.storage import RatingStore

ENV_VAR = "STUDIO_RATINGS_DB"
_SCHEMES = ("postgresql://", "postgres://")


def database_url(explicit: str | None = None) -> str | None:
    """The ratings database URL: ``explicit``, else ``$STUDIO_RATINGS_DB``, else None (CSV).

    Raises ValueError for anything that is not a ``postgresql://`` URL.
    """
    url = (explicit or os.environ.get(ENV_VAR) or "").strip()
    if not url:
        return None
    if not url.startswith(_SCHEMES):
        raise ValueError(f"ratings database must be a postgresql:// URL, got {url[:40]!r}")
    return url


def open_backend(folder: Path, definition: TestDefinition, db_url: str | None = None):
    """``(store, sessions)`` of the test in ``folder``, on the configured backend."""
    url = database_url(db_url)
    if url is None:
        return RatingStore(Path(folder) / "ratings.csv"), SessionBook(Path(folder), definition)
    from pipeline.mos.pg_sessions import PgSessionBook
    from pipeline.mos.pg_store import ConnectionPool, PgRatingStore

    pool = ConnectionPool(url)  # one per open test, shared by its store and session book
    return PgRatingStore(pool, definition.test_id), PgSessionBook(pool, definition)


def check_database(db_url: str | None = None) -> str | None:
    """Connect once (creating the schema) so a bad URL fails at startup; returns the URL."""
    url = database_url(db_url)
    if url is not None:
        from pipeline.mos.pg_store import ConnectionPool

        pool = ConnectionPool(url)
        with pool.connection():
            pass
        pool.close()
    return url


def ratings_csv(
    folder: Path, test_id: str, export_dir: Path, db_url: str | None = None
) -> Path | None:
    """The test's ratings as a CSV file, or None when it has none yet.

    File backend: ``folder/ratings.csv`` itself. Database backend: an export written to
    ``export_dir/ratings.csv``.
    """
    url = database_url(db_url)
    if url is None:
        path = Path(folder) / "ratings.csv"
        return path if path.is_file() else None
    from pipeline.mos.pg_store import ConnectionPool, export_csv

    out = Path(export_dir) / "ratings.csv"
    pool = ConnectionPool(url)
    try:
        return out if export_csv(pool, test_id, out) else None
    finally:
        pool.close()
