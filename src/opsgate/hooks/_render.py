"""The reason text an agent (and the person watching it) reads."""

from __future__ import annotations

from opsgate.models import Decision, Verdict

__all__ = ["render_reason"]


def render_reason(decision: Decision, *, ask: bool) -> str:
    c = decision.classification
    head = {
        Verdict.DENY: "opsgate denied this action.",
        Verdict.REQUIRE_APPROVAL: "opsgate needs a human to approve this action.",
        Verdict.ALLOW: "opsgate allowed this action.",
    }[decision.verdict]
    lines = [head]
    lines.extend(decision.reasons)
    lines.append(
        f"impact: {decision.impact.label}; environment: {decision.environment.label} "
        f"({decision.env_source}); decided by: {decision.decided_by}"
    )
    if c.categories:
        lines.append("categories: " + ", ".join(c.categories))
    if decision.confirm:
        lines.append(f"an approver must type {decision.confirm!r} to allow it")
    if ask:
        lines.append("Approve it only if you meant to make this change.")
    elif decision.verdict is Verdict.REQUIRE_APPROVAL:
        from opsgate.policy._asking import never_ask

        never = never_ask(c)
        if never is not None:
            lines.append(f"Approvals of this kind never go to the agent's own prompt: {never}.")
        lines.append(
            "No opsgate control plane is connected, so this cannot be approved from here. "
            "Do not retry or work around it."
        )
    if decision.suggestion:
        lines.append("Instead: " + decision.suggestion)
    return "\n".join(lines)
