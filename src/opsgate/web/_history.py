"""The Activity Center's history and the inbox's filter choices, read from the store.

A history line is one state a card reached, at the time it reached it: proposed
(created), approved or denied or cancelled (decided), expired (its expiry),
executing and completed or failed (the execution's start and finish).  Lines are
derived from the cards themselves, so the list the server renders after a reload
is the list the live page showed: the browser re-fetches this rendering on every
change rather than appending what the stream says (which arrived twice, in no
particular order, and never for the states a reload could not rebuild).  One line
per card and state; newest first; the inbox's filters apply.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsgate.approvals.model import CardState
from opsgate.approvals.service import CardFilter
from opsgate.store._schema import cards, executions
from opsgate.web._present import redactor, state_label

__all__ = ["Line", "activity", "filter_choices"]

LINES = 20
_ORDER = {s: n for n, s in enumerate(CardState)}  # ties: the later state is the newer line


@dataclass(frozen=True, slots=True)
class Line:
    key: str  # "<card id>:<state>": one line per state a card reached
    at: float
    card_id: str
    state: str
    label: str
    description: str
    target: str


def _where(filters: CardFilter) -> list[sa.ColumnElement[bool]]:
    pairs = (
        (cards.c.environment, filters.environment),
        (cards.c.impact, filters.impact),
        (cards.c.requested_by, filters.requested_by),
        (cards.c.target, filters.target),
    )
    return [column == value for column, value in pairs if value is not None]


def _latest(conn: Connection, now: float) -> sa.ColumnElement[Any]:
    """When a row last changed: the newest of its known times."""
    expired = sa.case(
        (sa.and_(cards.c.state == "pending", cards.c.expires_at <= now), cards.c.expires_at),
        else_=0.0,
    )
    parts = (
        cards.c.created_at,
        sa.func.coalesce(cards.c.decided_at, 0.0),
        sa.func.coalesce(executions.c.started_at, 0.0),
        sa.func.coalesce(executions.c.finished_at, 0.0),
        expired,
    )
    greatest = sa.func.greatest if conn.dialect.name == "postgresql" else sa.func.max
    return greatest(*parts)


def activity(
    conn: Connection, filters: CardFilter, names: Mapping[str, str], limit: int = LINES
) -> list[Line]:
    now = time.time()
    query = (
        sa.select(
            cards.c.id,
            cards.c.state,
            cards.c.created_at,
            cards.c.expires_at,
            cards.c.decided_at,
            cards.c.decided_by,
            cards.c.description,
            cards.c.target,
            executions.c.started_at,
            executions.c.finished_at,
        )
        .select_from(cards.outerjoin(executions, executions.c.card_id == cards.c.id))
        .where(*_where(filters))
        .order_by(_latest(conn, now).desc(), cards.c.id.desc())
        .limit(limit)
    )
    lines = [line for row in conn.execute(query) for line in _lines(row, names, now)]
    lines.sort(key=lambda x: (x.at, _ORDER.get(CardState(x.state), 99), x.card_id), reverse=True)
    return lines[:limit]


def _lines(row: Any, names: Mapping[str, str], now: float) -> list[Line]:
    state = CardState(row.state)
    if state is CardState.PENDING and now >= row.expires_at:
        state = CardState.EXPIRED  # past its expiry, swept or not
    who = names.get(row.decided_by or "", row.decided_by or "")
    scrub = redactor().text
    text, target = scrub(row.description), scrub(row.target)
    decided = row.decided_at or row.created_at

    def line(reached: CardState, at: float | None, label: str | None = None) -> Line:
        return Line(
            key=f"{row.id}:{reached.value}",
            at=float(at if at is not None else decided),
            card_id=row.id,
            state=reached.value,
            label=label or state_label(reached, who),
            description=text,
            target=target,
        )

    out = [line(CardState.PENDING, row.created_at, "Proposed")]
    ran = state in (CardState.EXECUTING, CardState.COMPLETED, CardState.FAILED)
    if state is CardState.APPROVED or ran:
        out.append(line(CardState.APPROVED, decided, f"Approved by {who}" if who else "Approved"))
    if ran:
        out.append(line(CardState.EXECUTING, row.started_at))
    if state in (CardState.COMPLETED, CardState.FAILED):
        out.append(line(state, row.finished_at))
    elif state is CardState.EXPIRED:
        out.append(line(state, min(row.expires_at, decided) if row.decided_at else row.expires_at))
    elif state not in (CardState.PENDING, CardState.APPROVED) and not ran:
        out.append(line(state, decided))  # denied, cancelled, and any later state
    return out


def filter_choices(conn: Connection) -> tuple[list[tuple[str, str]], list[str]]:
    """(agent id, name) pairs and targets that cards have, for the inbox's filters."""
    agents = conn.execute(
        sa.select(cards.c.requested_by, sa.func.max(cards.c.requested_by_name))
        .group_by(cards.c.requested_by)
        .order_by(sa.func.max(cards.c.requested_by_name))
    ).all()
    scrub = redactor().text
    targets = sorted({scrub(t) for (t,) in conn.execute(sa.select(cards.c.target).distinct())})
    return [(str(a), str(n)) for a, n in agents], targets
