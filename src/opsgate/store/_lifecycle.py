"""A card past approval, and cards judged again: plain functions over a Connection.

Every change of state is a conditional ``UPDATE``: a card is marked used only while
it is ``approved``, cancelled only while it is the open card at the version read,
expired unused only while its grant ran out unused.  On PostgreSQL a row another
transaction is changing makes the statement wait and re-check, so of a retry using
the grant and a change cancelling the card exactly one wins.  Grants are revoked
before their cards are cancelled, the order in which a retry uses them (grant, then
card), so the two never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsgate.approvals.model import Card, CardState
from opsgate.store._cards import _card
from opsgate.store._schema import (
    api_tokens,
    cards,
    executions,
    grants,
    inventory_targets,
    notifications,
    settings,
    users,
)

__all__ = [
    "cancel",
    "expire_unused",
    "judged",
    "live",
    "mark_used",
    "names",
    "notify_all",
    "revoke_grants",
    "set_outcome",
    "setting_changes",
    "target_changes",
    "tokens",
]

_PENDING, _APPROVED = CardState.PENDING.value, CardState.APPROVED.value
_CHUNK = 500  # ids per IN (...) list


def _open(now: float) -> sa.ColumnElement[bool]:
    """A card that can still be decided or used: pending and unexpired, or approved
    and not yet used, run, expired or cancelled."""
    return sa.or_(
        sa.and_(cards.c.state == _PENDING, cards.c.expires_at > now),
        cards.c.state == _APPROVED,
    )


def live(
    conn: Connection, now: float, *, judged_below: int | None = None, ids: Iterable[str] = ()
) -> list[tuple[Card, int]]:
    """Open cards with their versions, oldest first: all of them, or those judged at a
    revision below ``judged_below`` (or never), or those in ``ids``."""
    query = sa.select(cards).where(_open(now))
    wanted = list(ids)
    if wanted:
        query = query.where(cards.c.id.in_(wanted))
    if judged_below is not None:
        query = query.where(sa.or_(cards.c.judged_rev.is_(None), cards.c.judged_rev < judged_below))
    rows = conn.execute(query.order_by(cards.c.created_at, cards.c.id))
    return [(_card(r, now), int(r.version)) for r in rows]


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def judged(conn: Connection, ids: list[str], revision: int) -> None:
    """Record that these cards were judged at ``revision`` (no version change: nothing
    a person sees changed)."""
    for chunk in _chunks(ids):
        conn.execute(
            sa.update(cards)
            .where(cards.c.id.in_(chunk), sa.or_(cards.c.judged_rev.is_(None),
                                                  cards.c.judged_rev < revision))
            .values(judged_rev=revision)
        )  # fmt: skip


def revoke_grants(conn: Connection, card_ids: list[str]) -> list[str]:
    """Use up every grant of these cards; the ids of the grants that were live."""
    revoked: list[str] = []
    for chunk in _chunks(card_ids):
        query = (
            sa.update(grants)
            .where(grants.c.card_id.in_(chunk), grants.c.uses_left > 0)
            .values(uses_left=0)
            .returning(grants.c.id)
        )
        revoked.extend(r.id for r in conn.execute(query))
    return revoked


def cancel(conn: Connection, card: Card, version: int, now: float, values: dict[str, Any]) -> bool:
    """Close ``card`` as cancelled if it is still the open card at ``version``."""
    query = (
        sa.update(cards)
        .where(cards.c.id == card.id, cards.c.version == version, _open(now))
        .values(state=CardState.CANCELLED.value, version=cards.c.version + 1, **values)
    )
    return conn.execute(query).rowcount == 1


def mark_used(conn: Connection, card_id: str, now: float, outcome: dict[str, Any]) -> Card | None:
    """``approved → used`` (by the retry ``outcome`` names); None if not approved, or
    if it is an operation opsgate runs itself (its executor claims it, not a retry)."""
    planned = sa.select(executions.c.card_id).where(executions.c.card_id == card_id)
    query = (
        sa.update(cards)
        .where(cards.c.id == card_id, cards.c.state == _APPROVED, ~sa.exists(planned))
        .values(state=CardState.USED.value, version=cards.c.version + 1, outcome=outcome)
        .returning(*cards.c)
    )
    row = conn.execute(query).first()
    return None if row is None else _card(row, now)


def set_outcome(conn: Connection, card_id: str, outcome: dict[str, Any]) -> None:
    conn.execute(sa.update(cards).where(cards.c.id == card_id).values(outcome=outcome))


def expire_unused(conn: Connection, now: float) -> list[Card]:
    """``approved → expired``: cards whose grant ran out with none of its uses taken."""
    ran_out = (
        sa.select(grants.c.card_id, sa.func.max(grants.c.expires_at).label("at"),
                  sa.func.min(grants.c.id).label("grant"))
        .where(grants.c.uses_left > 0, grants.c.expires_at <= now)
        .group_by(grants.c.card_id)
        .subquery()
    )  # fmt: skip
    live_grant = sa.select(grants.c.id).where(
        grants.c.card_id == cards.c.id, grants.c.uses_left > 0, grants.c.expires_at > now
    )
    found = conn.execute(
        sa.select(cards.c.id, ran_out.c.at, ran_out.c.grant)
        .join(ran_out, ran_out.c.card_id == cards.c.id)
        .where(cards.c.state == _APPROVED, ~sa.exists(live_grant))
    ).all()
    expired: list[Card] = []
    for card_id, at, grant in found:
        outcome = {"expired_unused": {"grant": grant, "at": float(at)}}
        query = (
            sa.update(cards)
            .where(cards.c.id == card_id, cards.c.state == _APPROVED)
            .values(state=CardState.EXPIRED.value, version=cards.c.version + 1, outcome=outcome,
                    reason="approved, but the agent did not use the approval before it expired")
            .returning(*cards.c)
        )  # fmt: skip
        row = conn.execute(query).first()
        if row is not None:
            expired.append(_card(row, now))
    return expired


# --- who changed what, for the words of a cancellation ----------------------------------------


def names(conn: Connection, ids: set[str]) -> dict[str, str]:
    """Display names of users and tokens by id."""
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    found = {r.id: r.name for r in conn.execute(
        sa.select(users.c.id, users.c.name).where(users.c.id.in_(wanted)))}  # fmt: skip
    found.update({r.id: r.name for r in conn.execute(
        sa.select(api_tokens.c.id, api_tokens.c.name).where(api_tokens.c.id.in_(wanted)))
        if r.id not in found})  # fmt: skip
    return found


def setting_changes(conn: Connection) -> dict[str, tuple[str | None, float]]:
    """Setting name → (who changed it last, when)."""
    rows = conn.execute(sa.select(settings.c.key, settings.c.updated_by, settings.c.updated_at))
    return {r.key: (r.updated_by, float(r.updated_at)) for r in rows}


def target_changes(conn: Connection) -> dict[str, tuple[str | None, float]]:
    """Inventory target name → (who changed it last, when)."""
    rows = conn.execute(sa.select(inventory_targets.c.name, inventory_targets.c.updated_by,
                                  inventory_targets.c.updated_at))  # fmt: skip
    return {r.name: (r.updated_by, float(r.updated_at)) for r in rows}


def tokens(conn: Connection, ids: set[str]) -> dict[str, Any]:
    """The tokens among ``ids``: name, role, revoked, by whom and when."""
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    query = sa.select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.role,
                      api_tokens.c.revoked, api_tokens.c.revoked_at, api_tokens.c.revoked_by,
                      api_tokens.c.created_by).where(api_tokens.c.id.in_(wanted))  # fmt: skip
    return {r.id: r for r in conn.execute(query)}


def notify_all(conn: Connection, rows: list[tuple[str, dict[str, Any]]], now: float) -> None:
    """Queue notifications (event, payload) in the outbox, in one statement."""
    if rows:
        conn.execute(
            sa.insert(notifications),
            [dict(event=event, payload=payload, created_at=now, attempts=0, next_attempt_at=now)
             for event, payload in rows],
        )  # fmt: skip
