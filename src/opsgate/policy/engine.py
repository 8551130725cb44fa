"""The decision pipeline (SPEC §4): a pure function of the action, its
classification and the policy.  First verdict wins, in this order:

1. classification failure → deny (the caller passes ``failure``)
2. immutable safeguards (code, not configuration): secret reads, guard tampering
   then lockdown (an incident's red button: writes denied, no card; ``_lockdown``)
3. per-target access level
4. Production Protection
5. Write Actions
6. policy rules, in file order
7. the default
"""

from __future__ import annotations

import dataclasses
import re

from opsgate.models import (
    MAX_EVIDENCE,
    MAX_LISTED,
    Action,
    Classification,
    Decision,
    Effect,
    Environment,
    Impact,
    Verdict,
)
from opsgate.policy._asking import never_ask
from opsgate.policy._lockdown import lockdown_decision
from opsgate.policy.model import Policy, Rule

__all__ = ["decide", "decide_failure"]

_TOOL_KINDS = {
    "Bash": "shell.exec",
    "PowerShell": "shell.exec",
    "Read": "file.read",
    "NotebookRead": "file.read",
    "Grep": "file.read",
    "Glob": "file.read",
    "LS": "file.read",
    "Write": "file.write",
    "Edit": "file.write",
    "MultiEdit": "file.write",
    "NotebookEdit": "file.write",
    "WebFetch": "network.request",
}
_CATEGORY_KINDS = {
    "vcs.push": "git.push",
    "vcs.force_push": "git.push",
    "vcs.push_protected": "git.push",
    "vcs.push_delete": "git.push",
    "secrets.read": "file.read",
    "filesystem.protected_write": "file.write",
    "filesystem.delete": "file.delete",
}


def action_kind(tool: str) -> str:
    if tool.startswith("mcp__"):
        return "mcp.call"
    return _TOOL_KINDS.get(tool, tool.lower())


def decide_failure(action: Action, reason: str, classification: Classification) -> Decision:
    """Classification crashed or overran its budget: fail closed."""
    return Decision(
        verdict=Verdict.DENY,
        impact=Impact.CAUTION,
        environment=classification.environment,
        env_source=classification.env_source,
        reasons=(f"opsgate could not analyse this action safely: {reason}",),
        decided_by="safeguard.fail_closed",
        classification=classification,
        suggestion="split the command into smaller, plainer steps, or ask a human to run it",
    )


def decide(action: Action, c: Classification, policy: Policy) -> Decision:
    steps = (_safeguard_secrets, _safeguard_guard, _lockdown, _access,
             _production_protection, _write_actions)  # fmt: skip
    for step in steps:
        decision = step(action, c, policy)
        if decision is not None:
            return _named(decision, action, policy)
    return _named(_rules_and_default(action, c, policy), action, policy)


def _named(decision: Decision, action: Action, policy: Policy) -> Decision:
    """A destructive action's approver types the target's name (safeguard 3)."""
    if decision.verdict is not Verdict.REQUIRE_APPROVAL:
        return decision
    if decision.impact is not Impact.DESTRUCTIVE:
        return decision
    # Imported here: paid only by a destructive decision, not by every hook call.
    from opsgate.policy._confirm import confirmation

    name = confirmation(decision.classification, action, policy.inventory)
    return dataclasses.replace(decision, confirm=name)


def _decision(c: Classification, verdict: Verdict, decided_by: str, reasons: list[str],
              suggestion: str | None = None, policy: Policy | None = None) -> Decision:  # fmt: skip
    # A card (never the agent's own prompt) for production, destructive actions and the
    # classes that no prompt may approve (policy/_asking.py).
    card = verdict is Verdict.REQUIRE_APPROVAL and (
        c.environment is Environment.PRODUCTION
        or c.impact is Impact.DESTRUCTIVE
        or never_ask(c) is not None
    )
    return Decision(
        verdict=verdict,
        impact=c.impact,
        environment=c.environment,
        env_source=c.env_source,
        reasons=tuple(reasons),
        decided_by=decided_by,
        classification=c,
        card=card,
        confirm=None,  # set by ``_named``, which has the action
        approvers=_approvers(c, policy) if verdict is Verdict.REQUIRE_APPROVAL else (),
        suggestion=suggestion,
    )


def _evidence(c: Classification, effects: tuple[Effect, ...]) -> list[str]:
    found = [f for f in c.findings if f.effect in effects]
    out = [f"{f.reason} — evidence: {f.evidence[:MAX_EVIDENCE]!r}" for f in found[:MAX_LISTED]]
    if len(found) > MAX_LISTED:
        out.append(f"… and {len(found) - MAX_LISTED} more findings like these")
    return out


def _safeguard_secrets(action: Action, c: Classification, policy: Policy) -> Decision | None:
    if not any(f.effect is Effect.SECRET for f in c.findings):
        return None
    return _decision(
        c,
        Verdict.DENY,
        "safeguard.secrets",
        [
            "Reading secret values is never allowed (immutable safeguard): the agent may learn "
            "that a secret exists, never its value.",
            *_evidence(c, (Effect.SECRET,)),
        ],
        'check for the secret\'s presence instead (e.g. `test -n "$NAME"`, list names only), '
        "or have opsgate run the operation that needs it",
    )


def _safeguard_guard(action: Action, c: Classification, policy: Policy) -> Decision | None:
    if not any(f.category.startswith("guard.") for f in c.findings):
        return None
    found = [f"{f.reason} — evidence: {f.evidence!r}" for f in c.findings
             if f.category.startswith("guard.")]  # fmt: skip
    return _decision(
        c,
        Verdict.DENY,
        "safeguard.guard",
        [
            "An agent never disables, reconfigures, replaces or bypasses its guard "
            "(immutable safeguard 6): opsgate's own files, processes, administrative "
            "commands and package, and every agent's hook configuration, are out of its "
            "reach. No rule, setting, role or approval lifts this.",
            *found,
        ],
        "ask the person who runs opsgate to make this change themselves, outside the agent",
    )


def _lockdown(action: Action, c: Classification, policy: Policy) -> Decision | None:
    return lockdown_decision(c, policy.lockdown)


def _access(action: Action, c: Classification, policy: Policy) -> Decision | None:
    names = [f.target for f in c.findings if f.target] + [action.text]
    hit = policy.inventory.find_in(names)
    if hit is None or hit.access == "full":
        return None
    if hit.access == "no_access":
        return _decision(
            c,
            Verdict.DENY,
            f"access.{hit.name}",
            [f"Agents have no access to {hit.kind} {hit.name}."],
            "ask an owner to change its access level, or do this by hand",
        )
    if c.is_write:
        return _decision(
            c,
            Verdict.DENY,
            f"access.{hit.name}",
            [f"{hit.kind} {hit.name} is read-only for agents; this is a write."],
            "reads are allowed; ask an owner for Full Access to write",
        )
    return None


def _production_protection(action: Action, c: Classification, policy: Policy) -> Decision | None:
    if not (policy.settings.production_protection and c.is_write):
        return None
    if c.environment is not Environment.PRODUCTION:
        return None
    return _decision(
        c,
        Verdict.DENY,
        "settings.production_protection",
        [
            f"Production Protection is active: agents cannot make changes to production "
            f"targets (environment production: {c.env_source}).",
            *_evidence(c, (Effect.WRITE, Effect.UNKNOWN)),
        ],
        "perform the action manually, or have an owner temporarily disable Production "
        "Protection (Settings → Agent Controls), act with approval, and re-enable it",
    )


def _write_actions(action: Action, c: Classification, policy: Policy) -> Decision | None:
    if policy.settings.write_actions or not c.is_write:
        return None
    return _decision(
        c,
        Verdict.DENY,
        "settings.write_actions",
        [
            "Write Actions are disabled for agents in this organisation.",
            *_evidence(c, (Effect.WRITE, Effect.UNKNOWN)),
        ],
        "an owner or admin can enable Write Actions in Agent Controls",
    )


def _kinds(action: Action, c: Classification) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {action_kind(action.tool): [action.text]}
    for f in c.findings:
        kind = _CATEGORY_KINDS.get(f.category)
        if kind is None:
            continue
        resource = f.target or f.evidence
        m = re.search(r"branch (\S+)$", resource)
        kinds.setdefault(kind, []).append(m.group(1) if m else resource)
    return kinds


def _rules_and_default(action: Action, c: Classification, policy: Policy) -> Decision:
    kinds = _kinds(action, c)
    for rule in policy.rules:
        if rule.matches(kinds, c.environment, c.impact.label, c.categories, c.is_write):
            return _apply_rule(rule, c, policy)
    if c.is_write:
        what = "an unknown effect" if c.effect is Effect.UNKNOWN else "a write action"
        return _decision(
            c,
            Verdict.REQUIRE_APPROVAL,
            "default.write",
            [
                f"This is {what}; every write action needs a human's approval.",
                *_evidence(c, (Effect.WRITE, Effect.UNKNOWN)),
            ],
            _suggest(action, c),
            policy,
        )
    return _decision(
        c, Verdict.ALLOW, "default.read", ["Reads and ordinary workspace work are allowed."]
    )


def _apply_rule(rule: Rule, c: Classification, policy: Policy) -> Decision:
    reason = rule.reason or f"policy rule {rule.id} ({rule.effect.value})"
    where = f"rule {rule.id}" + (f" (line {rule.line})" if rule.line else "")
    if rule.effect is Verdict.ALLOW and c.is_write:
        # An allow rule never removes the human from a write (safeguard 2).
        return _decision(
            c,
            Verdict.REQUIRE_APPROVAL,
            "safeguard.no_auto_approve",
            [
                f"{where} allows this, but every write action needs a human's "
                "approval; an allow rule cannot lift that.",
                reason,
            ],
            policy=policy,
        )
    if rule.effect is Verdict.DENY:
        return _decision(
            c,
            Verdict.DENY,
            rule.id,
            [reason, f"decided by {where}"],
            "ask a human to do this by hand if it is really needed",
        )
    return _decision(c, rule.effect, rule.id, [reason, f"decided by {where}"], policy=policy)


def _suggest(action: Action, c: Classification) -> str:
    if action.tool in ("Bash", "PowerShell"):
        return f"ask a human to review and run it themselves: {action.text[:300]}"
    return "ask a human to make this change, or propose it through opsgate for approval"


def _approvers(c: Classification, policy: Policy | None) -> tuple[str, ...]:
    if c.impact is Impact.SAFE or (
        c.impact is Impact.CAUTION and c.environment is not Environment.PRODUCTION
    ):
        return ("member", "admin", "owner")
    two = bool(policy and policy.settings.two_approvers_for_destructive_production)
    if two and c.impact is Impact.DESTRUCTIVE and c.environment is Environment.PRODUCTION:
        return ("admin", "owner", "two-approvers")
    return ("admin", "owner")
