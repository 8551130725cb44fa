"""A small versioned migration runner: ordered functions, one row per applied
version in ``schema_version``, run on every open.

All of it happens in one transaction that first takes a lock: on PostgreSQL a
transaction-scoped advisory lock (several replicas starting at once queue here,
and concurrent ``CREATE TABLE IF NOT EXISTS`` cannot collide); on SQLite the
``BEGIN IMMEDIATE`` write lock.  DDL is transactional on both, so a failed
migration leaves the previous version intact.  Re-running is a no-op.

A released migration never changes.  A schema change is a new function appended
to ``MIGRATIONS`` (and the column added to ``_schema``); it must tolerate a
database created by the current ``_schema`` shape (check before it alters).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from opsgate.store import _schema as t
from opsgate.store.errors import StoreError

__all__ = ["LATEST", "MIGRATIONS", "migrate"]

# An arbitrary 64-bit constant naming opsgate's migration lock ("opsgate" in ASCII).
_LOCK_KEY = 0x6F70736761746531

_V1_TABLES = (
    t.users,
    t.sessions,
    t.api_tokens,
    t.settings,
    t.inventory_targets,
    t.cards,
    t.grants,
    t.notifications,
)


def _v1(conn: Connection) -> None:
    t.metadata.create_all(conn, tables=list(_V1_TABLES), checkfirst=True)


def _v2(conn: Connection) -> None:
    columns = {c["name"] for c in sa.inspect(conn).get_columns("inventory_targets")}
    if "connection" not in columns:
        conn.execute(sa.text("ALTER TABLE inventory_targets ADD COLUMN connection JSON"))
    t.metadata.create_all(conn, tables=[t.secrets, t.executions], checkfirst=True)


MIGRATIONS: tuple[tuple[int, str, Callable[[Connection], None]], ...] = (
    (1, "users, sessions, tokens, settings, inventory, cards, grants, notifications", _v1),
    (2, "execution: inventory connection, encrypted secrets, executions", _v2),
)
LATEST = MIGRATIONS[-1][0]


def migrate(engine: Engine) -> int:
    """Bring the schema to ``LATEST``; return the version found before."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        t.schema_version.create(conn, checkfirst=True)
        found = conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar() or 0
        if found > LATEST:
            raise StoreError(
                f"the database schema is version {found}, newer than this opsgate ({LATEST})",
                hint="upgrade opsgate on this host to the version the other replicas run",
            )
        for version, _name, apply in MIGRATIONS:
            if version > found:
                apply(conn)
                conn.execute(
                    sa.insert(t.schema_version).values(version=version, applied_at=time.time())
                )
    return int(found)
