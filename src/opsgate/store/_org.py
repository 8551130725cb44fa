"""Organisation settings (key/value over the defaults in ``approvals.model``) and
the inventory of targets."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from opsgate.approvals.model import Settings
from opsgate.environments import InventoryTarget
from opsgate.models import Environment
from opsgate.store._engine import driver_execute
from opsgate.store._schema import inventory_targets, settings

__all__ = [
    "delete_target",
    "get_target",
    "list_targets",
    "load_settings",
    "put_target",
    "revision",
    "save_settings",
]

_FIELDS = {f.name for f in dataclasses.fields(Settings)}


def _upsert(conn: Connection, table: sa.Table, values: dict[str, Any], key: str) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values)
    update = {k: stmt.excluded[k] for k in values if k != key}
    conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=update))


def revision(conn: Connection) -> int:
    """The organisation's revision, bumped by triggers on every change to users, API
    tokens, settings and inventory (on this replica or any other).  What a reader
    derived from those tables in a transaction that saw revision N is still exact in
    any later transaction that sees N."""
    row = driver_execute(conn, "SELECT rev FROM org_revision WHERE id = 1")  # every decision
    return int(row[0]) if row is not None else -1


def load_settings(conn: Connection) -> Settings:
    stored = {
        row.key: row.value
        for row in conn.execute(sa.select(settings.c.key, settings.c.value))
        if row.key in _FIELDS  # a key written by a newer version is ignored, not fatal
    }
    return dataclasses.replace(Settings(), **stored)


def save_settings(conn: Connection, changes: dict[str, Any], actor_id: str, now: float) -> None:
    for key, value in changes.items():
        _upsert(
            conn,
            settings,
            {"key": key, "value": value, "updated_at": now, "updated_by": actor_id},
            "key",
        )


def _target(row: Any) -> InventoryTarget:
    return InventoryTarget(
        name=row.name,
        kind=row.kind,
        environment=Environment.parse(row.environment),
        access=row.access,
        match=tuple(row.match),
        connection=tuple(sorted((row.connection or {}).items())),
    )


def list_targets(conn: Connection) -> list[InventoryTarget]:
    query = sa.select(inventory_targets).order_by(inventory_targets.c.name)
    return [_target(r) for r in conn.execute(query)]


def get_target(conn: Connection, name: str) -> InventoryTarget | None:
    query = sa.select(inventory_targets).where(inventory_targets.c.name == name)
    row = conn.execute(query).first()
    return None if row is None else _target(row)


def put_target(
    conn: Connection, target: InventoryTarget, now: float, by: str | None = None
) -> None:
    values = {
        "name": target.name,
        "kind": target.kind,
        "environment": target.environment.label,
        "access": target.access,
        "match": list(target.match),
        "connection": dict(target.connection),
        "updated_at": now,
        "updated_by": by,
    }
    _upsert(conn, inventory_targets, values, "name")


def delete_target(conn: Connection, name: str) -> bool:
    result = conn.execute(sa.delete(inventory_targets).where(inventory_targets.c.name == name))
    return bool(result.rowcount)
