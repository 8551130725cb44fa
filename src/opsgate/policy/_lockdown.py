"""The lockdown step of the decision pipeline (SPEC §6): after the immutable
safeguards, before everything else.

While the organisation is locked down, a write (or an action whose effect is
unknown) is ``deny`` — never a card, never the agent's own prompt — with a reason
that names the lockdown, who pressed the button and why.  Reads and ordinary
workspace work are untouched, so people (and agents) can investigate.
"""

from __future__ import annotations

import time

from opsgate.models import Classification, Decision, Effect, Verdict
from opsgate.policy.model import Lockdown

__all__ = ["DECIDED_BY", "lockdown_decision", "lockdown_reason"]

DECIDED_BY = "lockdown"


def lockdown_reason(lockdown: Lockdown) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(lockdown.since))
    why = lockdown.reason or "no reason given"
    return (
        f"opsgate is locked down: every agent write is refused on every replica until a "
        f"person lifts the lockdown. Locked down by {lockdown.by} ({lockdown.role}) at "
        f"{when}: {why}"
    )


def lockdown_decision(
    c: Classification, lockdown: Lockdown | None, *, needs_person: bool = False
) -> Decision | None:
    """``deny`` for a write during ``lockdown``; None when it does not apply.
    ``needs_person``: the action was about to get a card, which nobody may approve
    during a lockdown — refused too, whatever it is."""
    if lockdown is None or not (c.is_write or needs_person):
        return None
    evidence = [
        f"{f.reason} — evidence: {f.evidence!r}"
        for f in c.findings
        if f.effect in (Effect.WRITE, Effect.UNKNOWN)
    ]
    return Decision(
        verdict=Verdict.DENY,
        impact=c.impact,
        environment=c.environment,
        env_source=c.env_source,
        reasons=(lockdown_reason(lockdown), *evidence),
        decided_by=DECIDED_BY,
        classification=c,
        suggestion="stop making changes; reads still work, so investigate and report to "
        "the people handling the incident. Do not retry or work around this.",
    )
