"""What a card looks like to a person: labels, badges, the exact command, outcome.

Pure functions over ``Card`` values.  Everything shown passes through the audit
log's redactor first (SPEC §7: nothing that leaves opsgate carries a secret
value or a secret-shaped string), and templates autoescape it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opsgate.approvals._describe import shown
from opsgate.approvals.model import Card, CardState
from opsgate.audit.redact import Redactor

__all__ = [
    "IMPACTS",
    "CardView",
    "Offer",
    "card_event",
    "card_view",
    "command_text",
    "state_label",
]

# label, icon (decorative: the label carries the meaning), CSS class
IMPACTS: dict[str, tuple[str, str]] = {
    "safe": ("Safe", "✓"),
    "caution": ("Caution", "⚠"),
    "destructive": ("Destructive", "✖"),
}
ENVIRONMENTS = ("production", "staging", "development", "local")
ACCESS_LABELS = {"full": "Full Access", "read_only": "Read Only", "no_access": "No Access"}

_redactor: Redactor | None = None


def redactor() -> Redactor:
    global _redactor  # one per process: compiling its patterns costs milliseconds
    if _redactor is None:
        _redactor = Redactor()
    return _redactor


_LABELS = {
    CardState.PENDING: "Action Required",
    CardState.APPROVED: "Approved — waiting to run",
    CardState.EXECUTING: "Executing…",
    CardState.COMPLETED: "Completed",
    CardState.FAILED: "Failed",
    CardState.EXPIRED: "Expired",
    CardState.CANCELLED: "Cancelled",
    CardState.USED: "Approved — used by the agent's retry",
}


def state_label(state: CardState, decided_by: str | None = None) -> str:
    if state is CardState.DENIED:
        return f"Denied by {decided_by}" if decided_by else "Denied"
    # A state added to the lifecycle later reads as its own name until it has a label.
    return _LABELS.get(state) or str(state.value).replace("_", " ").capitalize()


def command_text(action: Mapping[str, Any]) -> str:
    """The exact operation: a shell command as typed, anything else as JSON."""
    safe = redactor().document(dict(action))
    command = safe.get("command") if isinstance(safe, dict) else None
    if isinstance(command, str) and len(safe) == 1:
        return command
    if isinstance(command, str):
        rest = {k: v for k, v in safe.items() if k != "command"}
        return command + "\n\n" + json.dumps(rest, indent=2, ensure_ascii=False, sort_keys=True)
    return json.dumps(safe, indent=2, ensure_ascii=False, sort_keys=True)


def _output(result: Mapping[str, Any]) -> str:
    if not result:
        return ""
    safe = redactor().document(dict(result))
    for key in ("output", "stdout", "error", "message"):
        value = safe.get(key)
        if isinstance(value, str) and value:
            others = [
                str(safe[k]) for k in ("stderr",) if k != key and isinstance(safe.get(k), str)
            ]
            return "\n".join([value, *[o for o in others if o]])
    return json.dumps(safe, indent=2, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Offer:
    """Which decisions the viewer is offered on a card, and why not the others:
    the page never shows a control the server would refuse."""

    allow: bool = False
    deny: bool = False
    why: str = ""  # shown where a missing control would be


@dataclass(frozen=True, slots=True)
class CardView:
    card: Card
    impact: str  # safe | caution | destructive
    impact_label: str
    impact_icon: str
    environment: str
    state: str
    status: str  # the headline of the card's state
    command: str
    reasoning: str
    rollback: str
    undo: str
    output: str
    decided_by: str | None  # a name, not an id
    approvals: int
    pending: bool
    expires_in: str
    offer: Offer = Offer()


def _remaining(seconds: float) -> str:
    if seconds <= 0:
        return "now"
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def card_view(
    card: Card, names: Mapping[str, str], now: float | None = None, offer: Offer | None = None
) -> CardView:
    now = time.time() if now is None else now
    card = shown(card)  # description and target come from the agent's command
    impact = card.impact.label
    label, icon = IMPACTS.get(impact, (impact.title(), "?"))
    decided_by = names.get(card.decided_by, card.decided_by) if card.decided_by else None
    scrub = redactor().text
    return CardView(
        card=card,
        impact=impact,
        impact_label=label,
        impact_icon=icon,
        environment=card.environment.label,
        state=card.state.value,
        status=state_label(card.state, decided_by),
        command=command_text(card.action),
        reasoning=scrub(card.reasoning),
        rollback=scrub(card.rollback),
        undo=scrub(card.undo),
        output=_output(card.result),
        decided_by=decided_by,
        approvals=len(card.approvals),
        pending=card.state is CardState.PENDING,
        expires_in=_remaining(card.expires_at - now),
        offer=offer or Offer(),
    )


def card_event(card: Card, *, source: str = "app", event: str | None = None) -> dict[str, Any]:
    """What the bus carries about a card: enough to refresh it, no command input."""
    card = shown(card)
    return {
        "event": event or f"card.{card.state.value}",
        "time": time.time(),
        "source": source,
        "card": {
            "id": card.id,
            "state": card.state.value,
            "description": card.description,
            "target": card.target,
            "environment": card.environment.label,
            "impact": card.impact.label,
            "decided_by": card.decided_by,
            "reason": card.reason,  # why it closed (a cancellation names the change)
        },
    }
