"""What the SDK returns and raises: an ``Answer`` (the decision, and the card when a
person must decide), ``CardInfo``, and the exceptions a gated call raises instead
of running.  Plain frozen values, built from the HTTP API's JSON shapes (the
in-process backend produces the same shapes), so both backends answer alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opsgate.errors import EXIT_REFUSED, EXIT_UNREACHABLE, OpsgateError
from opsgate.models import Verdict

__all__ = [
    "ActionDenied",
    "Answer",
    "ApprovalRequired",
    "CardInfo",
    "CardTimeout",
    "GateUnavailable",
    "NotAllowed",
]

_FINAL_NO = frozenset({"denied", "expired", "cancelled"})


@dataclass(frozen=True, slots=True)
class CardInfo:
    """An approval card as the agent may see it (agent-controlled text redacted)."""

    id: str
    state: str  # pending, approved, executing, completed, failed, denied, expired, cancelled
    link: str
    description: str = ""
    target: str = ""
    environment: str = ""
    impact: str = ""
    decided_by: str | None = None
    reason: str | None = None
    expires_at: float | None = None

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def refused(self) -> bool:
        """Denied, expired or cancelled: retrying the same action needs a new card."""
        return self.state in _FINAL_NO

    @classmethod
    def from_json(cls, data: Mapping[str, Any], link: str | None = None) -> CardInfo:
        return cls(
            id=str(data["id"]),
            state=str(data["state"]),
            link=str(data.get("link") or link or ""),
            description=str(data.get("description") or ""),
            target=str(data.get("target") or ""),
            environment=str(data.get("environment") or ""),
            impact=str(data.get("impact") or ""),
            decided_by=data.get("decided_by"),
            reason=data.get("reason"),
            expires_at=data.get("expires_at"),
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """opsgate's decision about one action."""

    verdict: Verdict
    decided_by: str
    reasons: tuple[str, ...] = ()
    impact: str = ""
    environment: str = ""
    suggestion: str | None = None
    card: CardInfo | None = None  # when a person must decide
    grant: str | None = None  # when an approved card's grant let this call through
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    @classmethod
    def from_json(
        cls, decision: Mapping[str, Any], card: CardInfo | None = None, grant: str | None = None
    ) -> Answer:
        return cls(
            verdict=Verdict(decision["decision"]),
            decided_by=str(decision.get("decided_by") or ""),
            reasons=tuple(str(r) for r in decision.get("reasons") or ()),
            impact=str(decision.get("impact") or ""),
            environment=str(decision.get("environment") or ""),
            suggestion=decision.get("suggestion"),
            card=card,
            grant=grant,
            raw=dict(decision),
        )


class NotAllowed(OpsgateError):
    """The gate did not allow the action; the gated code did not run."""

    code = "not_allowed"
    exit_code = EXIT_REFUSED

    def __init__(self, message: str, *, answer: Answer | None = None,
                 card: CardInfo | None = None, hint: str | None = None) -> None:  # fmt: skip
        super().__init__(message, hint=hint)
        self.answer = answer
        self.card = card if card is not None else (answer.card if answer else None)


class ApprovalRequired(NotAllowed):
    """A person must approve first.  ``card`` is the approval card (``card.link`` for
    a person); ``Gate.wait_for(card)`` blocks until it is decided, and the identical
    call then runs once on the approval's grant."""

    code = "approval_required"


class ActionDenied(NotAllowed):
    """Denied by policy or a safeguard, or the card was denied, expired or cancelled."""

    code = "denied"


class CardTimeout(NotAllowed, TimeoutError):
    """``wait_for`` gave up: the card is still pending (it may still be approved)."""

    code = "card_timeout"


class GateUnavailable(OpsgateError):
    """opsgate could not be asked (unreachable, bad token, audit unavailable): fail
    closed — the gated code did not run."""

    code = "gate_unavailable"
    exit_code = EXIT_UNREACHABLE
