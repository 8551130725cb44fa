"""Approval cards and grants: the pure rules (``model``) and the service facade."""

from __future__ import annotations

from opsgate.approvals.model import (
    Card,
    CardState,
    Denied,
    Grant,
    Role,
    Settings,
    User,
    action_hash,
    can_approve,
    can_change_settings,
    check_confirmation,
    next_state,
)

__all__ = [
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
    "next_state",
]
