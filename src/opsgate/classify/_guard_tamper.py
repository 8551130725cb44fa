"""The one shape of a guard-tampering finding (safeguard 6), for the modules that find it."""

from __future__ import annotations

from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["CATEGORY", "tamper"]

CATEGORY = "guard.tamper"


def tamper(evidence: str, reason: str, target: str | None = None) -> Finding:
    return Finding(
        CATEGORY,
        Impact.DESTRUCTIVE,
        Effect.WRITE,
        evidence[:200],
        reason,
        target,
        Environment.LOCAL,
        "the guard on this machine",
    )
