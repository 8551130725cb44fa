"""Engines: SQLite in the data directory (default) or PostgreSQL (scale-out).

SQLite: WAL, ``synchronous=FULL`` (a committed grant use survives power loss), a
busy timeout so concurrent writers queue, and ``BEGIN IMMEDIATE`` for every write
transaction, so a transaction takes the write lock before it reads; otherwise a
deferred reader that later writes fails with ``SQLITE_BUSY`` instead of waiting.
Read transactions use a plain deferred ``BEGIN`` so readers never queue on writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from opsgate._pg_encoding import require_utf8
from opsgate.store.errors import StoreError

__all__ = ["DB_FILE", "driver_execute", "make_engine", "resolve_url"]

DB_FILE = "opsgate.db"
_BUSY_MS = 30_000
_READ = "opsgate_read"
_SQLITE_POOL = 40


def resolve_url(data_dir: Path, database_url: str | None) -> str:
    """``postgresql://…`` → the psycopg 3 dialect; None → the SQLite file in ``data_dir``."""
    if database_url:
        scheme, sep, rest = database_url.partition("://")
        if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise StoreError(
                f"unsupported database URL {scheme}://…",
                hint="use postgresql://user@host/db, or unset OPSGATE_DATABASE_URL for SQLite",
            )
        return f"postgresql+psycopg://{rest}"
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / DB_FILE
    if not path.exists():
        # Password and token hashes live here: readable by the owner only.
        path.touch(mode=0o600)
    return f"sqlite:///{path}"


def make_engine(url: str) -> tuple[Engine, Engine]:
    """(write engine, read engine); they share one pool."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": _BUSY_MS / 1000},
            # Keep a connection per worker thread (anyio runs 40): an overflow
            # connection is opened and closed per use, and each open runs the
            # pragmas below — under load that churn cost more than the query.
            pool_size=_SQLITE_POOL,
            max_overflow=10,
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=_pool_size(),
            max_overflow=10,
            connect_args={"connect_timeout": 10},
        )
        # Ahead of the dialect's own first-connect work, whose version check is the
        # first thing a non-UTF8 database breaks (with a bare TypeError).
        location = url.split("@")[-1]  # never print credentials
        event.listen(engine, "first_connect", _utf8_only(location), insert=True)
    return engine, engine.execution_options(**{_READ: True})


def _utf8_only(location: str) -> Any:
    def check(dbapi_connection: Any, _record: Any) -> None:
        require_utf8(dbapi_connection.info.parameter_status("server_encoding"), location)

    return check


def _pool_size() -> int:
    from opsgate.config import current

    return current().integer("server.db_pool_size")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver: transactions are begun explicitly in _sqlite_begin.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        f"busy_timeout={_BUSY_MS}",
        "foreign_keys=ON",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    read = conn.get_execution_options().get(_READ, False)
    # Runs for every transaction, and the statement needs no result handling.
    driver_execute(conn, "BEGIN" if read else "BEGIN IMMEDIATE")


def driver_execute(conn: Connection, sql: str) -> tuple[Any, ...] | None:
    """Run a constant statement straight on ``conn``'s driver connection, in its
    current transaction; its first row, if it returns rows.  For statements run on
    every request, where SQLAlchemy's statement machinery costs ten times the query.
    A driver error is raised as SQLAlchemy raises it (so the store's translation
    into ``StoreError`` still applies)."""
    dbapi = conn.dialect.loaded_dbapi
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        if cursor.description is None:  # no rows (BEGIN and the like)
            return None
        row = cursor.fetchone()
        return None if row is None else tuple(row)
    except dbapi.Error as exc:
        raise sa_exc.DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
    finally:
        cursor.close()
