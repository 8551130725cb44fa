"""Typed event names and the shape of one stored entry.

Event names are stable strings: they are part of the signed history and of every
SIEM query written against it, so a member is never renamed, only added.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["SCHEMA_VERSION", "Entry", "EventType", "outcome_of"]

# Bumped only when the meaning of a field changes; verifiers accept all known versions.
SCHEMA_VERSION = 1


class EventType(enum.StrEnum):
    ACTION_PROPOSED = "action.proposed"
    DECISION_MADE = "decision.made"
    CARD_CREATED = "card.created"
    CARD_APPROVED = "card.approved"
    CARD_DENIED = "card.denied"
    CARD_EXPIRED = "card.expired"
    CARD_CANCELLED = "card.cancelled"
    EXECUTION_STARTED = "execution.started"
    EXECUTION_COMPLETED = "execution.completed"
    EXECUTION_FAILED = "execution.failed"
    ROLLBACK_RECORDED = "rollback.recorded"
    SETTINGS_CHANGED = "settings.changed"
    POLICY_CHANGED = "policy.changed"
    USER_LOGIN = "user.login"
    USER_LOGOUT = "user.logout"
    ROLE_CHANGED = "role.changed"
    USER_CREATED = "user.created"
    TOKEN_CREATED = "token.created"  # noqa: S105 — an event name, not a secret
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 — an event name, not a secret
    INVENTORY_CHANGED = "inventory.changed"
    GRANT_CREATED = "grant.created"
    GRANT_USED = "grant.used"
    CHECKPOINT_CREATED = "checkpoint.created"
    NOTIFICATION_FAILED = "notification.failed"
    AUDIT_EXPORTED = "audit.exported"
    SECRET_CHANGED = "secret.changed"  # noqa: S105 — an event name; names the secret, never its value
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 — an event name, not a secret
    ACCOUNT_LINKED = "account.linked"
    ACCOUNT_UNLINKED = "account.unlinked"
    LOCKDOWN_STARTED = "lockdown.started"
    LOCKDOWN_LIFTED = "lockdown.lifted"
    GRANT_REVOKED = "grant.revoked"
    SECRET_KEY_ROTATED = "secret.key_rotated"  # noqa: S105 — an event name; counts, never a key
    AUDIT_KEY_INTRODUCED = "audit.key_introduced"  # the next checkpoint key's public half


class Entry:
    """One stored entry.  ``body`` is the canonical RFC 8785 bytes that were hashed;
    ``data`` is those bytes decoded; ``hash`` is the chain (link) hash in hex.

    A plain slotted class rather than a dataclass: building a dataclass costs
    ~0.7 ms at import, on the hook's path.
    """

    __slots__ = ("body", "data", "link", "seq")

    def __init__(self, seq: int, body: bytes, link: bytes, data: dict[str, Any]) -> None:
        self.seq = seq
        self.body = body
        self.link = link
        self.data = data

    def __repr__(self) -> str:
        return f"Entry(seq={self.seq}, event={self.event!r}, hash={self.hash[:16]}…)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.seq, self.body, self.link) == (
            other.seq,
            other.body,
            other.link,
        )

    def __hash__(self) -> int:
        return hash((self.seq, self.link))

    @property
    def hash(self) -> str:
        return self.link.hex()

    @property
    def event(self) -> str:
        return str(self.data.get("event", ""))

    @property
    def time(self) -> str:
        return str(self.data.get("time", ""))


def outcome_of(data: dict[str, Any]) -> str:
    """What happened in the end, for ``--outcome``: a result's status if there is
    one, else the decision, else the last part of the event name (approved, …)."""
    result = data.get("result")
    if isinstance(result, dict):
        for key in ("outcome", "status"):
            value = result.get(key)
            if isinstance(value, str):
                return value
    if isinstance(result, str) and result:
        return result
    decision = data.get("decision")
    if isinstance(decision, str) and decision:
        return decision
    return str(data.get("event", "")).rpartition(".")[2]
