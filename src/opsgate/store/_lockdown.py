"""The lockdown's state and its sweep: plain functions over a ``Connection``.

The state is one row of ``settings`` (key ``lockdown``): every change to that
table bumps the organisation's revision (triggers, migration 3), which every
decision already reads, so each replica sees a lockdown on its next decision
with no query of its own.  The sweep cancels what could still let a write
through: live pending cards, approved operation cards no executor has claimed,
and every unused grant; optionally it revokes every agent token.

Each sweep statement is a conditional ``UPDATE``: on PostgreSQL a row another
transaction is changing (an approval, a claim, a grant being used) makes the
statement wait for it and re-check, so whatever commits first is either swept
or done before the lockdown commits — never after.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsgate.approvals.model import Card, CardState, Grant, Role
from opsgate.approvals.service import TokenInfo
from opsgate.policy.model import Lockdown
from opsgate.store._cards import _card, _grant
from opsgate.store._org import _upsert
from opsgate.store._people import _token
from opsgate.store._schema import api_tokens, cards, executions, grants, notifications, settings

__all__ = [
    "KEY",
    "cancel_cards",
    "clear",
    "load",
    "notify_all",
    "revoke_agent_tokens",
    "revoke_grants",
    "save",
]

KEY = "lockdown"


def load(conn: Connection) -> Lockdown | None:
    row = conn.execute(sa.select(settings.c.value).where(settings.c.key == KEY)).first()
    return None if row is None else parse(row.value)


def parse(value: Any) -> Lockdown | None:
    """The stored value; anything malformed counts as locked down (fail closed: a
    row someone wrote by hand is not a way to lift it)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return Lockdown(by="unknown", role="unknown", reason="(unreadable lockdown row)", since=0)
    since = value.get("since")
    return Lockdown(
        by=str(value.get("by") or "unknown"),
        role=str(value.get("role") or "unknown"),
        reason=str(value.get("reason") or ""),
        since=float(since) if isinstance(since, int | float) else 0.0,
    )


def save(conn: Connection, lockdown: Lockdown, actor_id: str, now: float) -> None:
    value = {
        "by": lockdown.by,
        "role": lockdown.role,
        "reason": lockdown.reason,
        "since": lockdown.since,
    }
    row = {"key": KEY, "value": value, "updated_at": now, "updated_by": actor_id}
    _upsert(conn, settings, row, "key")


def clear(conn: Connection) -> bool:
    return bool(conn.execute(sa.delete(settings).where(settings.c.key == KEY)).rowcount)


def cancel_cards(conn: Connection, now: float, reason: str, by: str) -> list[Card]:
    """Cancel live pending cards and approved operation cards not yet claimed."""
    planned = sa.select(executions.c.card_id).where(executions.c.status == "planned")
    query = (
        sa.update(cards)
        .where(
            sa.or_(
                sa.and_(cards.c.state == CardState.PENDING.value, cards.c.expires_at > now),
                sa.and_(cards.c.state == CardState.APPROVED.value, cards.c.id.in_(planned)),
            )
        )
        .values(
            state=CardState.CANCELLED.value,
            version=cards.c.version + 1,
            decided_by=by,
            decided_at=now,
            reason=reason,
        )
        .returning(*cards.c)
    )
    return sorted((_card(r, now) for r in conn.execute(query)), key=lambda c: c.created_at)


def revoke_grants(conn: Connection, now: float) -> list[Grant]:
    """Every grant that could still be used: used up now (kept, for the record)."""
    query = (
        sa.update(grants)
        .where(grants.c.uses_left > 0, grants.c.expires_at > now)
        .values(uses_left=0)
        .returning(*grants.c)
    )
    return sorted((_grant(r) for r in conn.execute(query)), key=lambda g: g.created_at)


def revoke_agent_tokens(conn: Connection) -> list[TokenInfo]:
    query = (
        sa.update(api_tokens)
        .where(api_tokens.c.role == Role.AGENT.value, api_tokens.c.revoked == sa.false())
        .values(revoked=True)
        .returning(*api_tokens.c)
    )
    return sorted((_token(r) for r in conn.execute(query)), key=lambda t: t.created_at)


def notify_all(conn: Connection, rows: list[tuple[str, dict[str, Any]]], now: float) -> None:
    """Queue notifications (event, payload) in the outbox, in one statement."""
    if rows:
        conn.execute(
            sa.insert(notifications),
            [dict(event=event, payload=payload, created_at=now, attempts=0, next_attempt_at=now)
             for event, payload in rows],
        )  # fmt: skip
