"""A small versioned migration runner: ordered functions, one row per applied
version in ``schema_version``, run on every open.

All of it happens in one transaction that first takes a lock: on PostgreSQL a
transaction-scoped advisory lock (several replicas starting at once queue here,
and concurrent ``CREATE TABLE IF NOT EXISTS`` cannot collide); on SQLite the
``BEGIN IMMEDIATE`` write lock.  DDL is transactional on both, so a failed
migration leaves the previous version intact.  Re-running is a no-op.

A released migration never changes.  A schema change is a new function appended
to ``MIGRATIONS`` (and the column added to ``_schema``); it must tolerate a
database created by the current ``_schema`` shape (check before it alters), and
any other migration having run before it: each version missing from
``schema_version`` is applied, in order, whatever the newest one applied is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from opsgate.store import _schema as t
from opsgate.store.errors import StoreError

__all__ = ["LATEST", "MIGRATIONS", "REVISED_TABLES", "migrate"]

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


# The tables whose every change bumps ``org_revision`` (what a decision request
# derives its caller and policy from).
REVISED_TABLES = ("users", "api_tokens", "settings", "inventory_targets")


def _v3(conn: Connection) -> None:
    t.metadata.create_all(conn, tables=[t.org_revision], checkfirst=True)
    if conn.execute(sa.select(t.org_revision.c.rev)).first() is None:
        conn.execute(sa.insert(t.org_revision).values(id=1, rev=0))
    bump = "UPDATE org_revision SET rev = rev + 1 WHERE id = 1"
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "CREATE OR REPLACE FUNCTION opsgate_bump_revision() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN {bump}; RETURN NULL; END $$"
            )
        )
        for table in REVISED_TABLES:
            conn.execute(
                sa.text(
                    f"CREATE OR REPLACE TRIGGER og_revision_{table} "
                    f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION opsgate_bump_revision()"
                )
            )
        return
    for table in REVISED_TABLES:
        for verb in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER IF NOT EXISTS og_revision_{table}_{verb.lower()} "
                    f"AFTER {verb} ON {table} BEGIN {bump}; END"
                )
            )


def _v4(conn: Connection) -> None:
    """Grants bound to what was approved: the card's binding (cwd, file hashes,
    context digest) and the grant's approved impact and environment.  Grants made
    before have neither and cover nothing (their action hash is of the old form)."""
    inspector = sa.inspect(conn)
    wanted = {"cards": (("binding", "JSON"),),
              "grants": (("impact", "VARCHAR(16)"), ("environment", "VARCHAR(16)"))}  # fmt: skip
    for table, columns in wanted.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        for name, kind in columns:
            if name not in present:
                conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))


def _v5(conn: Connection) -> None:
    """Secret sources: a secret is a stored value or an owner's helper command."""
    columns = {c["name"] for c in sa.inspect(conn).get_columns("secrets")}
    if "source" not in columns:
        conn.execute(sa.text("ALTER TABLE secrets ADD COLUMN source VARCHAR(16)"))


def _v6(conn: Connection) -> None:
    """The console and Slack: linked accounts, posted Slack messages, one-time values."""
    t.metadata.create_all(
        conn, tables=[t.account_links, t.slack_messages, t.one_time], checkfirst=True
    )


def _v7(conn: Connection) -> None:
    """Card lifecycle past approval: who approved, what happened next (used by which
    retry, cancelled by which change, expired unused), the facts its decision
    rested on and the revision it was judged at; who changed an inventory target
    and who revoked a token, when."""
    inspector = sa.inspect(conn)
    wanted = {
        "cards": (("approved_by", "JSON"), ("outcome", "JSON"),
                  ("basis", "JSON"), ("judged_rev", "BIGINT")),
        "inventory_targets": (("updated_by", "VARCHAR(40)"),),
        "api_tokens": (("revoked_at", "DOUBLE PRECISION"), ("revoked_by", "VARCHAR(40)")),
    }  # fmt: skip
    for table, columns in wanted.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        for name, kind in columns:
            if name not in present:
                conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))


def _v8(conn: Connection) -> None:
    """The rollback plan opsgate itself knows for a card's action."""
    columns = {c["name"] for c in sa.inspect(conn).get_columns("cards")}
    if "undo" not in columns:
        conn.execute(sa.text("ALTER TABLE cards ADD COLUMN undo TEXT"))


def _v9(conn: Connection) -> None:
    """Cards by action hash: a proposal's look-up of denied retries of the same action
    read every card of its requester."""
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_cards_action_hash ON cards (action_hash)"))


MIGRATIONS: tuple[tuple[int, str, Callable[[Connection], None]], ...] = (
    (1, "users, sessions, tokens, settings, inventory, cards, grants, notifications", _v1),
    (2, "execution: inventory connection, encrypted secrets, executions", _v2),
    (3, "org revision: bumped by triggers on users, tokens, settings, inventory", _v3),
    (4, "grant binding: card binding, grant's approved impact and environment", _v4),
    (5, "secret sources: a stored value or an owner's credential-helper command", _v5),
    (6, "console and Slack: account links, Slack messages, one-time values", _v6),
    (7, "card lifecycle: approvers, outcome, decision basis, judged revision", _v7),
    (8, "cards: the rollback plan opsgate knows for the action", _v8),
    (9, "cards: an index on the action hash (denied retries of one action)", _v9),
)
LATEST = MIGRATIONS[-1][0]


def migrate(engine: Engine) -> int:
    """Bring the schema to ``LATEST``; return the version found before."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        t.schema_version.create(conn, checkfirst=True)
        applied = {int(v) for v in conn.execute(sa.select(t.schema_version.c.version)).scalars()}
        found = max(applied, default=0)
        if found > LATEST:
            raise StoreError(
                f"the database schema is version {found}, newer than this opsgate ({LATEST})",
                hint="upgrade opsgate on this host to the version the other replicas run",
            )
        for version, _name, apply in MIGRATIONS:
            # Every version not yet applied, not only those above the newest: two
            # migrations developed side by side may land in either order.
            if version not in applied:
                apply(conn)
                conn.execute(
                    sa.insert(t.schema_version).values(version=version, applied_at=time.time())
                )
    return int(found)
