"""Execution records and the card transitions that go with them.

Exactly once: a card is claimed by one conditional ``UPDATE cards SET
state='executing' … WHERE id = ? AND state = 'approved'`` — of any number of
executors (threads, processes, replicas) racing, the database lets exactly one
match the row, and only that one runs the operation.  Nothing ever moves a card
back to ``approved``: after a crash the recovery sweep finds the record still
``running`` with a stale heartbeat and fails it as "interrupted; outcome
unknown", so a human verifies before anyone proposes it again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsgate.approvals.model import CardState
from opsgate.store._schema import cards, executions

__all__ = [
    "INTERRUPTED",
    "claim",
    "finish",
    "get",
    "heartbeat",
    "insert",
    "ready",
    "set_captured",
    "stale",
]

INTERRUPTED = "interrupted; outcome unknown — verify before retrying"


def insert(conn: Connection, record: dict[str, Any]) -> None:
    conn.execute(sa.insert(executions).values(**record))


def get(conn: Connection, card_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(executions).where(executions.c.card_id == card_id)).first()
    return None if row is None else dict(row._mapping)


def ready(conn: Connection, limit: int = 20) -> list[str]:
    """Approved cards with a planned execution, oldest first."""
    query = (
        sa.select(cards.c.id)
        .join(executions, executions.c.card_id == cards.c.id)
        .where(cards.c.state == CardState.APPROVED.value, executions.c.status == "planned")
        .order_by(cards.c.decided_at, cards.c.id)
        .limit(limit)
    )
    return [r.id for r in conn.execute(query)]


def claim(conn: Connection, card_id: str, owner: str, now: float) -> bool:
    """``approved → executing`` for exactly one caller; the record becomes running."""
    moved = conn.execute(
        sa.update(cards)
        .where(cards.c.id == card_id, cards.c.state == CardState.APPROVED.value)
        .values(state=CardState.EXECUTING.value, version=cards.c.version + 1)
    ).rowcount
    if moved != 1:
        return False
    started = conn.execute(
        sa.update(executions)
        .where(executions.c.card_id == card_id, executions.c.status == "planned")
        .values(status="running", owner=owner, started_at=now, heartbeat_at=now)
    ).rowcount
    if started != 1:
        # An approved card without a planned record was not proposed through the
        # executor: never run it.  Undo the claim (the caller's transaction).
        raise LookupError(card_id)
    return True


def set_captured(conn: Connection, card_id: str, captured: dict[str, Any]) -> None:
    conn.execute(
        sa.update(executions).where(executions.c.card_id == card_id).values(captured=captured)
    )


def heartbeat(conn: Connection, card_id: str, owner: str, now: float, output: str) -> None:
    conn.execute(
        sa.update(executions)
        .where(
            executions.c.card_id == card_id,
            executions.c.owner == owner,
            executions.c.status == "running",
        )
        .values(heartbeat_at=now, output=output)
    )


def finish(
    conn: Connection, card_id: str, owner: str | None, now: float, values: dict[str, Any]
) -> bool:
    """Close a running record (and its card, if any): completed or failed.  Only the
    owner closes its run; the recovery sweep passes ``owner=None``."""
    where = [executions.c.card_id == card_id, executions.c.status == "running"]
    if owner is not None:
        where.append(executions.c.owner == owner)
    done = conn.execute(
        sa.update(executions).where(*where).values(finished_at=now, **values)
    ).rowcount
    if done != 1:
        return False
    state = CardState.COMPLETED if values["status"] == "completed" else CardState.FAILED
    result = {
        "status": values["status"],
        "exit_status": values.get("exit_status"),
        "duration": values.get("duration"),
        "output": values.get("output", ""),
    }
    closed = conn.execute(
        sa.update(cards)
        .where(cards.c.id == card_id, cards.c.state == CardState.EXECUTING.value)
        .values(
            state=state.value,
            version=cards.c.version + 1,
            result=result,
            reason=values.get("reason"),
        )
    ).rowcount
    if closed == 1:
        _notify_outcome(conn, card_id, now)
    return True


def _notify_outcome(conn: Connection, card_id: str, now: float) -> None:
    """Queue ``card.completed`` / ``card.failed`` in the notification outbox, in the
    same transaction as the change (as the control plane does for decisions), so the
    person who approved hears how it went even if this process dies right after."""
    from opsgate.approvals._describe import notification
    from opsgate.store._cards import get_card, notify

    found = get_card(conn, card_id, now)
    if found is not None:
        card = found[0]
        notify(conn, f"card.{card.state.value}", notification(card), now)


def stale(conn: Connection, before: float) -> list[dict[str, Any]]:
    """Running records whose executor stopped beating before ``before``."""
    query = sa.select(executions).where(
        executions.c.status == "running", executions.c.heartbeat_at < before
    )
    return [dict(r._mapping) for r in conn.execute(query)]
