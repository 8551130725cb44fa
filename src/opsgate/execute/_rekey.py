"""Rotating the secret store's key: every sealed row — stored values and owners'
helper commands alike — opened with the configured keys (current, then previous)
and sealed again under a new key, in one write transaction with its audit entry.

All or nothing: when any row does not open, nothing is written and the error names
every such row; when a write or the audit entry fails, the transaction rolls back.
Rows keep their ``updated_at`` and ``updated_by``: their values did not change (and
other replicas, which re-learn values when those move, have nothing to re-learn).
The new key goes nowhere but into the cipher: not the audit entry, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from opsgate.audit import EventType
from opsgate.execute.errors import SecretError
from opsgate.execute.secrets import COMMAND, Sealed, SecretStore
from opsgate.store._schema import secrets as table
from opsgate.store.errors import StoreError

if TYPE_CHECKING:
    from opsgate.approvals.control import SqlControlPlane
    from opsgate.approvals.service import Principal

__all__ = ["Rotation", "rotate_key"]


@dataclass(frozen=True, slots=True)
class Rotation:
    values: int  # stored values re-sealed
    commands: int  # helper commands re-sealed (their values live elsewhere)

    @property
    def total(self) -> int:
        return self.values + self.commands

    def to_json(self) -> dict[str, int]:
        return {"secrets": self.total, "values": self.values, "commands": self.commands}


def rotate_key(
    control: SqlControlPlane, actor: Principal | None, current: SecretStore, new_key: bytes
) -> Rotation:
    """Re-seal every secret under ``new_key`` (owners only; ``actor`` None: the
    caller vouches, as for the local CLI's other secret changes)."""
    fresh = SecretStore(new_key)

    def step(conn: Connection) -> Rotation:
        from opsgate.approvals.model import Role

        if actor is not None:
            control.caller(conn, actor, Role.OWNER, "rotating the secret store's key")
        _lock(conn)
        opened = _open_all(conn, current)
        for sealed, plain in opened:
            _reseal(conn, fresh, sealed, plain)
        commands = sum(1 for sealed, _ in opened if sealed.source == COMMAND)
        done = Rotation(values=len(opened) - commands, commands=commands)
        told = {"change": "re-sealed under a new key", **done.to_json()}
        control.record(EventType.SECRET_KEY_ROTATED, actor, target="secret store", result=told)
        return done

    try:
        return control.write(step)
    except sa_exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise StoreError(
            f"the rotation failed and was rolled back, nothing changed: "
            f"{type(cause).__name__}: {cause}",
            hint="every secret is still sealed with the current key; fix the database "
            "and run it again",
        ) from exc


def _lock(conn: Connection) -> None:
    """No other writer of secrets until this transaction ends (SQLite's write
    transaction already holds the one write lock; PostgreSQL's readers go on)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE secrets IN SHARE ROW EXCLUSIVE MODE"))


def _open_all(conn: Connection, current: SecretStore) -> list[tuple[Sealed, bytes]]:
    rows = conn.execute(
        sa.select(table.c.name, table.c.source, table.c.nonce, table.c.ciphertext)
        .order_by(table.c.name)
    ).all()  # fmt: skip
    opened: list[tuple[Sealed, bytes]] = []
    closed: list[str] = []
    for r in rows:
        sealed = Sealed(r.name, r.source or "value", r.nonce, r.ciphertext)
        try:
            opened.append((sealed, current.unseal(sealed)))
        except SecretError:
            closed.append(r.name)
    if closed:
        raise SecretError(
            f"nothing was changed: {len(closed)} secret(s) do not open with the configured "
            f"key(s): " + ", ".join(repr(n) for n in closed),
            hint="run with the key they were sealed with (OPSGATE_SECRET_KEY, or secret.key; "
            "mid-rotation, the other one as OPSGATE_SECRET_KEY_PREVIOUS), or set or delete "
            "those secrets again",
        )
    return opened


def _reseal(conn: Connection, fresh: SecretStore, sealed: Sealed, plain: bytes) -> None:
    nonce, ciphertext = fresh.seal(sealed.name, sealed.source, plain)
    changed = conn.execute(
        sa.update(table)
        .where(table.c.name == sealed.name, table.c.nonce == sealed.nonce)
        .values(nonce=nonce, ciphertext=ciphertext)
    ).rowcount  # fmt: skip
    if changed != 1:  # the row moved under us: the lock says it cannot; refuse anyway
        raise StoreError(
            f"secret {sealed.name!r} changed during the rotation; nothing was changed",
            hint="run it again",
        )
