"""Recording hook decisions in the audit trail (SPEC §4 safeguard 5).

If the entry cannot be made durable, the caller fails closed: the exception
propagates and the hook exits 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsgate.models import Action, Decision

if TYPE_CHECKING:
    from opsgate.audit import AuditLog

__all__ = ["record_decision"]


def record_decision(
    action: Action, decision: Decision, log: AuditLog | None = None, *, os_user: str | None = None
) -> None:
    """Append ``decision.made``; with no ``log`` given, open (and close) the default one.
    ``os_user``: the operating-system user the hook ran as, when a protected-mode
    service (which learns it from the socket, not from the caller) records it."""
    from opsgate.audit import EventType, open_log

    c = decision.classification
    own = log is None
    if log is None:
        log = open_log()
    actor = {"type": "agent", "name": action.agent, "session": action.session}
    if os_user is not None:
        actor["os_user"] = os_user
    try:
        log.append(
            EventType.DECISION_MADE,
            actor=actor,
            target=c.target,
            environment=decision.environment.label,
            action={
                "kind": _kind(action),
                "tool": action.tool,
                "input": action.input,
                "cwd": action.cwd,
                # with the input and cwd: what `opsgate policy diff` replays
                "project_dir": action.project_dir,
            },
            classification={
                "impact": c.impact.label,
                "categories": list(c.categories),
                "unknown": c.unknown,
                "write": c.is_write,
                "environment_source": decision.env_source,
            },
            decision=decision.verdict.value,
            rule=decision.decided_by,
            approver=None,
            result=None,
            evidence=_evidence(decision),
        )
    finally:
        if own:
            log.close()


def _kind(action: Action) -> str:
    from opsgate.policy.engine import action_kind

    return action_kind(action.tool)


def _evidence(decision: Decision) -> list[dict[str, Any]]:
    return [
        {
            "category": f.category,
            "impact": f.impact.label,
            "evidence": f.evidence,
            "reason": f.reason,
        }
        for f in decision.classification.findings
    ]
