"""Cards, grants and the notification outbox.

Every decision on a card is a conditional ``UPDATE … WHERE id = ? AND version = ?
AND state = 'pending' AND expires_at > now``: of two deciders racing, exactly one
matches a row.  A grant is used by ``UPDATE … SET uses_left = uses_left - 1 WHERE
… uses_left > 0 AND expires_at > now RETURNING …``: the database, not the
process, decides who got it.  On PostgreSQL under READ COMMITTED the second
updater waits for the first and re-checks the condition on the new row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsgate.approvals.model import Approval, Card, CardState, Grant
from opsgate.approvals.service import CardFilter
from opsgate.models import Environment, Impact
from opsgate.store._batched import ahead, defer
from opsgate.store._schema import cards, grants, notifications

__all__ = [
    "claim_notifications",
    "consume_grant",
    "count_cards",
    "expire_due",
    "find_grants",
    "get_card",
    "insert_card",
    "insert_grant",
    "list_cards",
    "notification_done",
    "notify",
    "update_pending",
]


def _card(row: Any, now: float) -> Card:
    state = CardState(row.state)
    if state is CardState.PENDING and now >= row.expires_at:
        state = CardState.EXPIRED  # past its expiry: expired, whether or not swept yet
    return Card(
        id=row.id,
        state=state,
        created_at=row.created_at,
        expires_at=row.expires_at,
        description=row.description,
        target=row.target,
        environment=Environment.parse(row.environment),
        impact=Impact[row.impact.upper()],
        action_kind=row.action_kind,
        action=dict(row.action),
        action_hash=row.action_hash,
        requested_by=row.requested_by,
        requested_by_name=row.requested_by_name,
        reasoning=row.reasoning,
        rollback=row.rollback,
        undo=row.undo or "",
        confirm=row.confirm,
        approvers_needed=row.approvers_needed,
        approvals=tuple(row.approvals),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
        result=dict(row.result),
        binding=dict(row.binding or {}),
        approved_by=_approvals(row.approved_by),
        outcome=dict(row.outcome or {}),
        basis=dict(row.basis or {}),
    )


def _approvals(value: Any) -> tuple[Approval, ...]:
    found = (Approval.of(v) for v in value or ())
    return tuple(a for a in found if a is not None)


_INSERT_CARD = sa.insert(cards)
_INSERT_NOTIFICATION = sa.insert(notifications)


def insert_card(conn: Connection, card: Card, judged_rev: int | None = None) -> None:
    """``judged_rev``: the organisation revision the card's decision was made at."""
    # Values as parameters of one constant statement: its compiled form is cached,
    # where ``.values(...)`` would rebuild and re-key the statement on every card.
    values = dict(
        id=card.id,
        version=0,
        state=card.state.value,
        created_at=card.created_at,
        expires_at=card.expires_at,
        description=card.description,
        target=card.target,
        environment=card.environment.label,
        impact=card.impact.label,
        action_kind=card.action_kind,
        action=card.action,
        action_hash=card.action_hash,
        requested_by=card.requested_by,
        requested_by_name=card.requested_by_name,
        reasoning=card.reasoning,
        rollback=card.rollback,
        undo=card.undo or None,
        confirm=card.confirm,
        approvers_needed=card.approvers_needed,
        approvals=list(card.approvals),
        result=card.result,
        binding=card.binding or None,
        approved_by=[a.to_json() for a in card.approved_by] or None,
        outcome=card.outcome or None,
        basis=card.basis or None,
        judged_rev=judged_rev,
    )
    if not defer(conn, cards, values):  # else sent with its PostgreSQL batch's commit
        conn.execute(_INSERT_CARD, values)


def get_card(conn: Connection, card_id: str, now: float) -> tuple[Card, int] | None:
    row = conn.execute(sa.select(cards).where(cards.c.id == card_id)).first()
    return None if row is None else (_card(row, now), int(row.version))


def recent_denial(
    conn: Connection, digest: str, requested_by: str, since: float, now: float
) -> Card | None:
    """The newest card for this very action (``digest``) by this requester that a
    person denied at or after ``since``: its identical retry gets that answer."""
    read = ahead(conn)
    if read is not None and digest in read.digests:  # a write batch read it already
        row = read.denials.get((digest, requested_by))
        row = row if row is not None and row.decided_at >= since else None
    else:
        found = {"by": requested_by, "digest": digest, "since": since}
        row = conn.execute(_RECENT_DENIAL, found).first()
    return None if row is None else _card(row, now)


# Built once, as _FIND_GRANTS: run on every card-creating proposal.
_RECENT_DENIAL = (
    sa.select(cards)
    .where(
        cards.c.action_hash == sa.bindparam("digest"),
        cards.c.requested_by == sa.bindparam("by"),
        cards.c.state == CardState.DENIED.value,
        cards.c.decided_at >= sa.bindparam("since"),
    )
    .order_by(cards.c.decided_at.desc())
    .limit(1)
)


def _state_clause(state: CardState, now: float) -> sa.ColumnElement[bool]:
    pending = cards.c.state == CardState.PENDING.value
    if state is CardState.PENDING:
        return sa.and_(pending, cards.c.expires_at > now)
    if state is CardState.EXPIRED:
        return sa.or_(
            cards.c.state == CardState.EXPIRED.value, sa.and_(pending, cards.c.expires_at <= now)
        )
    return cards.c.state == state.value


def _where(filters: CardFilter, now: float) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if filters.states:
        clauses.append(sa.or_(*(_state_clause(s, now) for s in filters.states)))
    for column, value in (
        (cards.c.environment, filters.environment),
        (cards.c.impact, filters.impact),
        (cards.c.requested_by, filters.requested_by),
        (cards.c.target, filters.target),
    ):
        if value is not None:
            clauses.append(column == value)
    return clauses


def list_cards(
    conn: Connection, filters: CardFilter, now: float, limit: int, after: tuple[float, str] | None
) -> list[Card]:
    """Newest first; ``after`` is the (created_at, id) of the last card already seen."""
    query = sa.select(cards).where(*_where(filters, now))
    if after is not None:
        at, last_id = after
        query = query.where(
            sa.or_(cards.c.created_at < at, sa.and_(cards.c.created_at == at, cards.c.id < last_id))
        )
    query = query.order_by(cards.c.created_at.desc(), cards.c.id.desc()).limit(limit)
    return [_card(r, now) for r in conn.execute(query)]


def count_cards(conn: Connection, filters: CardFilter, now: float) -> int:
    query = sa.select(sa.func.count()).select_from(cards).where(*_where(filters, now))
    return int(conn.execute(query).scalar_one())


def update_pending(
    conn: Connection, card_id: str, version: int, now: float, values: dict[str, Any]
) -> bool:
    """Apply ``values`` if the card is still the pending, unexpired card at ``version``."""
    query = (
        sa.update(cards)
        .where(
            cards.c.id == card_id,
            cards.c.version == version,
            cards.c.state == CardState.PENDING.value,
            cards.c.expires_at > now,
        )
        .values(version=cards.c.version + 1, **values)
    )
    return conn.execute(query).rowcount == 1


def expire_due(conn: Connection, now: float) -> list[Card]:
    query = (
        sa.update(cards)
        .where(cards.c.state == CardState.PENDING.value, cards.c.expires_at <= now)
        .values(
            state=CardState.EXPIRED.value,
            version=cards.c.version + 1,
            decided_at=now,
            reason="expired before enough approvals",
        )
        .returning(*cards.c)
    )
    return [_card(r, now) for r in conn.execute(query)]


def insert_grant(conn: Connection, grant: Grant) -> None:
    conn.execute(
        sa.insert(grants).values(
            id=grant.id,
            card_id=grant.card_id,
            action_hash=grant.action_hash,
            created_at=grant.created_at,
            expires_at=grant.expires_at,
            uses_left=grant.uses_left,
            impact=grant.impact.label if grant.impact is not None else None,
            environment=grant.environment.label if grant.environment is not None else None,
        )
    )


def _grant(row: Any) -> Grant:
    return Grant(
        id=row.id,
        card_id=row.card_id,
        action_hash=row.action_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        uses_left=row.uses_left,
        impact=Impact[row.impact.upper()] if row.impact else None,
        environment=Environment.parse(row.environment) if row.environment else None,
    )


# Built once: looked up on every card-creating proposal, where building and keying
# the statement anew cost more than running it.
_FIND_GRANTS = (
    sa.select(grants)
    .where(
        grants.c.action_hash == sa.bindparam("digest"),
        grants.c.uses_left > 0,
        grants.c.expires_at > sa.bindparam("now"),
    )
    .order_by(grants.c.expires_at, grants.c.id)
)


def find_grants(conn: Connection, digest: str, now: float) -> list[Grant]:
    """Live grants for ``digest``, the one expiring soonest first."""
    read = ahead(conn)
    if read is not None and digest in read.digests:  # a write batch read them already
        return [_grant(r) for r in read.grants.get(digest, ()) if r.expires_at > now]
    return [_grant(r) for r in conn.execute(_FIND_GRANTS, {"digest": digest, "now": now})]


def consume_grant(conn: Connection, grant_id: str, now: float) -> Grant | None:
    """Use the grant once; None if another caller used it first or it expired."""
    query = (
        sa.update(grants)
        .where(grants.c.id == grant_id, grants.c.uses_left > 0, grants.c.expires_at > now)
        .values(uses_left=grants.c.uses_left - 1)
        .returning(*grants.c)
    )
    row = conn.execute(query).first()
    return None if row is None else _grant(row)


def notify(conn: Connection, event: str, payload: dict[str, Any], now: float) -> None:
    """Queue a notification in the same transaction as the change it reports."""
    values = dict(event=event, payload=payload, created_at=now, attempts=0, next_attempt_at=now)
    if not defer(conn, notifications, values):
        conn.execute(_INSERT_NOTIFICATION, values)


def claim_notifications(
    conn: Connection, now: float, *, limit: int = 20, lease_seconds: float = 60.0
) -> list[dict[str, Any]]:
    """Claim due notifications for delivery: each is leased to one replica (its next
    attempt moves ``lease_seconds`` ahead) and its attempt counted."""
    due = (
        sa.select(notifications.c.id)
        .where(notifications.c.delivered_at.is_(None), notifications.c.next_attempt_at <= now)
        .order_by(notifications.c.id)
        .limit(limit)
    )
    ids = [r.id for r in conn.execute(due)]
    if not ids:
        return []
    query = (
        sa.update(notifications)
        .where(
            notifications.c.id.in_(ids),
            notifications.c.delivered_at.is_(None),
            notifications.c.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease_seconds, attempts=notifications.c.attempts + 1)
        .returning(*notifications.c)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def notification_done(
    conn: Connection,
    notification_id: int,
    now: float,
    *,
    error: str | None = None,
    retry_at: float | None = None,
) -> None:
    """Record a delivery (``error`` None) or a failure, to retry at ``retry_at``
    (None: give up, marking it delivered-with-error so it is not retried)."""
    values: dict[str, Any] = {"last_error": error}
    if error is None or retry_at is None:
        values["delivered_at"] = now
    else:
        values["next_attempt_at"] = retry_at
    conn.execute(
        sa.update(notifications).where(notifications.c.id == notification_id).values(**values)
    )
