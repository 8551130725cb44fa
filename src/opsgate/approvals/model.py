"""Approval cards, grants, users and roles: values and the pure rules over them.

No I/O here.  The store persists these values; the service applies these rules
inside one transaction each; the HTTP layer only translates.  Every rule a client
could be tempted to enforce (who may approve, what must be typed, when a card
expires, which retry a grant covers) lives here, once, on the server side.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from opsgate.models import Environment, Impact

# The organisation settings are the policy's settings: one type, stored and decided on.
from opsgate.policy.model import Settings

__all__ = [
    "Approval",
    "Card",
    "CardState",
    "Denied",
    "Grant",
    "Role",
    "Settings",
    "User",
    "action_hash",
    "can_approve",
    "can_change_settings",
    "check_confirmation",
    "closed_reason",
    "next_state",
]


class Role(enum.StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"
    AGENT = "agent"  # an API token acting for an agent: proposes, never approves

    @property
    def rank(self) -> int:
        return {"agent": 0, "viewer": 1, "member": 2, "admin": 3, "owner": 4}[self.value]


class CardState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXECUTING = "executing"
    COMPLETED = "completed"
    FAILED = "failed"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    USED = "used"  # approved, and the agent's identical retry used the grant

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {CardState.COMPLETED, CardState.FAILED, CardState.DENIED, CardState.EXPIRED,
     CardState.CANCELLED, CardState.USED}
)  # fmt: skip
# The only transitions there are (SPEC §6).  `approved` may also be reached from
# `pending` only once every required approval is in.  Past approval a card says what
# happened: the agent's retry used the grant (`used`), opsgate ran the operation
# (`executing` → `completed` | `failed`), the grant ran out unused (`expired`), or a
# change since (settings, inventory, policy, tokens) means it can no longer be
# honoured (`cancelled`, with the reason; ``approvals._rejudge``).
_TRANSITIONS: dict[CardState, frozenset[CardState]] = {
    CardState.PENDING: frozenset(
        {CardState.APPROVED, CardState.DENIED, CardState.EXPIRED, CardState.CANCELLED}
    ),
    # An approved operation no executor has claimed yet is cancelled by a lockdown.
    CardState.APPROVED: frozenset(
        {CardState.EXECUTING, CardState.EXPIRED, CardState.CANCELLED, CardState.USED}
    ),
    CardState.EXECUTING: frozenset({CardState.COMPLETED, CardState.FAILED}),
}


class Denied(Exception):
    """A rule forbids the request.  ``reason`` is shown to the person; ``status`` is
    the HTTP status the API answers with."""

    def __init__(self, reason: str, *, status: int = 403, code: str = "forbidden") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code


def next_state(current: CardState, wanted: CardState) -> CardState:
    if wanted not in _TRANSITIONS.get(current, frozenset()):
        raise Denied(f"a {current.value} card cannot become {wanted.value}", status=409,
                     code="invalid_transition")  # fmt: skip
    return wanted


# Which role may change which setting (SPEC §6: owner alone changes Production
# Protection and the policy; admins manage the rest).
SETTING_ROLES: dict[str, Role] = {
    "production_protection": Role.OWNER,
    "write_actions": Role.ADMIN,
    "approval_ttl_seconds": Role.ADMIN,
    "two_approvers_for_destructive_production": Role.OWNER,
}


def can_change_settings(role: Role, changes: dict[str, Any]) -> None:
    for name in changes:
        needed = SETTING_ROLES.get(name)
        if needed is None:
            raise Denied(f"unknown setting {name!r}", status=422, code="unknown_setting")
        if role is Role.AGENT or role.rank < needed.rank:
            raise Denied(f"changing {name} needs the {needed.value} role; you are {role.value}")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    role: Role
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Approval:
    """One person's approval of a card, as it was given: who (name as of then) and when."""

    id: str
    name: str
    at: float
    role: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "at": self.at, "role": self.role}

    @classmethod
    def of(cls, value: Any) -> Approval | None:
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            return None
        at = value.get("at")
        return cls(
            id=value["id"],
            name=str(value.get("name") or value["id"]),
            at=float(at) if isinstance(at, int | float) else 0.0,
            role=str(value.get("role") or ""),
        )


@dataclass(frozen=True, slots=True)
class Card:
    """A pending request for a human (SPEC §1, seed 001)."""

    id: str
    state: CardState
    created_at: float
    expires_at: float
    description: str  # plain English, shown at the top of the card
    target: str
    environment: Environment
    impact: Impact
    action_kind: str  # shell.exec, file.write, … or an operation name
    action: dict[str, Any]  # the exact input, shown behind "View command"
    action_hash: str
    requested_by: str  # actor id: the agent token's id, or a user id
    requested_by_name: str
    reasoning: str = ""
    rollback: str = ""  # given with the request: the agent's words, or an operation's plan
    undo: str = ""  # what opsgate itself knows of undoing the action (approvals._undo)
    confirm: str | None = None  # the text an approver must type (destructive cards)
    approvers_needed: int = 1
    approvals: tuple[str, ...] = ()  # user ids who approved so far
    decided_by: str | None = None
    decided_at: float | None = None
    reason: str | None = None  # why denied / cancelled / failed
    result: dict[str, Any] = field(default_factory=dict)
    # What the approval also covers (``_binding``): cwd, file hashes, context digest.
    binding: dict[str, Any] = field(default_factory=dict)
    # Who approved, in order (both people where two are required).
    approved_by: tuple[Approval, ...] = ()
    # What happened after approval or why the card closed, as data (``_lifecycle``):
    # {"used": {...}} by which retry and when, {"cancelled": {...}} by which change,
    # {"expired_unused": {...}}.
    outcome: dict[str, Any] = field(default_factory=dict)
    # The facts the decision rested on, to decide it again after a change
    # (``_rejudge``); never shown.
    basis: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def irreversible(self) -> bool:
        """Destructive with no rollback plan opsgate knows: "cannot be undone".  A
        plan the agent gives is shown as its words, and never lifts the warning (the
        agent would decide whether the approver is warned)."""
        return self.impact is Impact.DESTRUCTIVE and not self.undo.strip()

    def expired(self, now: float) -> bool:
        return self.state in (CardState.PENDING, CardState.APPROVED) and now >= self.expires_at


def can_approve(
    user: User, card: Card, *, now: float, requester_creator: str | None = None
) -> None:
    """Raise ``Denied`` unless ``user`` may approve ``card`` (SPEC §4 safeguard 4, §6).

    ``requester_creator``: who created the API token that requested the card.  A
    person never approves a request made through their own token: it is their own
    request by another name."""
    if card.state is not CardState.PENDING:
        raise Denied(closed_reason(card), status=409, code="not_pending")
    if card.expired(now):
        raise Denied("the card has expired; ask the agent to propose it again", status=409,
                     code="expired")  # fmt: skip
    if user.disabled:
        raise Denied("this account is disabled")
    if user.role in (Role.VIEWER, Role.AGENT):
        raise Denied(f"the {user.role.value} role never approves")
    if user.id == card.requested_by:
        raise Denied("nobody approves their own request")
    if requester_creator is not None and user.id == requester_creator:
        raise Denied(
            "nobody approves their own request: this card was requested with an API token "
            "you created; another person must approve it"
        )
    if user.id in card.approvals:
        raise Denied("you have already approved this card; a second approver is needed",
                     status=409, code="already_approved")  # fmt: skip
    if user.role is Role.MEMBER and not (
        card.impact is Impact.SAFE
        or (card.impact is Impact.CAUTION and card.environment is not Environment.PRODUCTION)
    ):
        raise Denied("members approve safe actions and caution actions outside production; "
                     "this card needs an admin or owner")  # fmt: skip


def closed_reason(card: Card) -> str:
    """Why a card no longer takes a decision, in the words a person needs."""
    if card.state is CardState.CANCELLED and card.reason:
        return f"the card was cancelled: {card.reason}"
    if card.state is CardState.USED:
        return "the card was approved and the agent's retry has used it"
    if card.state is CardState.APPROVED:
        who = " and ".join(a.name for a in card.approved_by)
        return f"the card is approved{f' by {who}' if who else ''}"
    return f"the card is {card.state.value}"


def check_confirmation(card: Card, typed: str | None) -> None:
    """Destructive cards: the approver types the target's name; case-insensitive,
    otherwise exact (no trimming beyond the ends, no partial match)."""
    if card.confirm is None:
        return
    from opsgate.approvals._describe import shown_confirm

    # The approver types what the card shows: the name, redacted where it holds a secret.
    expected = {card.confirm.casefold(), (shown_confirm(card.confirm) or "").casefold()}
    if typed is None or typed.strip().casefold() not in expected:
        raise Denied(f"type {card.confirm!r} to approve this destructive action", status=422,
                     code="confirmation_mismatch")  # fmt: skip


def approvers_needed(impact: Impact, environment: Environment, settings: Settings) -> int:
    if (
        settings.two_approvers_for_destructive_production
        and impact is Impact.DESTRUCTIVE
        and environment is Environment.PRODUCTION
    ):
        return 2
    return 1


def action_hash(
    kind: str, action: dict[str, Any], target: str | None, actor: str, binding: str = ""
) -> str:
    """The identity a grant is bound to: the exact action, its target, its actor and
    the digest of what its decision rested on (``_binding``: file hashes, working
    directory, resolved context).  Canonical JSON (sorted keys, no whitespace),
    SHA-256, with a domain prefix (v2: grants made before the binding match none)."""
    body = json.dumps(
        {"kind": kind, "action": action, "target": target or "", "actor": actor,
         "binding": binding},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )  # fmt: skip
    return hashlib.sha256(b"opsgate-grant-v2\x00" + body.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Grant:
    """What an approval produces: a bounded permission for the identical retry.

    ``impact`` and ``environment`` are what the approver approved: a retry that
    classifies above either is not covered, even with the same action hash (the
    policy or inventory changed since).  A grant without them (made before they
    were recorded) covers nothing."""

    id: str
    card_id: str
    action_hash: str
    created_at: float
    expires_at: float
    uses_left: int = 1
    impact: Impact | None = None
    environment: Environment | None = None

    def covers(self, digest: str, now: float) -> bool:
        return self.uses_left > 0 and now < self.expires_at and digest == self.action_hash

    def within(self, impact: Impact, environment: Environment) -> bool:
        """Whether a decision of ``impact`` in ``environment`` is within the approval."""
        if self.impact is None or self.environment is None:
            return False
        return impact <= self.impact and environment <= self.environment
