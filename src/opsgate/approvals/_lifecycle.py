"""What a card records past approval, as data (the ``outcome`` column): which retry
used its grant and when, linked to that retry's audit entry.  Pure."""

from __future__ import annotations

from typing import Any

from opsgate.approvals.model import Card, Grant
from opsgate.approvals.service import Principal

__all__ = ["linked", "used", "used_by"]


def used(actor: Principal, grant: Grant, now: float) -> dict[str, Any]:
    """The outcome of a card whose grant ``actor``'s identical retry just used."""
    return {"used": {"at": now, "by": actor.name, "by_id": actor.id, "grant": grant.id}}


def linked(outcome: dict[str, Any], seq: int) -> dict[str, Any]:
    """``outcome`` with the retry's audit entry (``grant.used``), once it has a number."""
    return {**outcome, "used": {**outcome.get("used", {}), "audit_seq": seq}}


def used_by(card: Card) -> dict[str, Any] | None:
    """Who used the card's grant and when (and the audit entry), if anybody did."""
    found = card.outcome.get("used")
    return found if isinstance(found, dict) else None
