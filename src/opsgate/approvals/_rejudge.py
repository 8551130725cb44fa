"""Judging a card again after a change (SPEC §6): can it still be honoured?

A card stays open only while the agent's identical retry would still pass on its
grant: the card's action, decided again with the policy as it is now (settings,
inventory, rules, a lockdown), must still ask for approval (or allow it) at no
higher impact or environment than the card shows, and whoever asked must still be
able to ask.  Otherwise the card is closed as ``cancelled`` with a reason that names
the change, and who made it when, where opsgate knows.

The verdict is the engine's own (``policy.engine.decide``), made from the facts the
card's decision rested on (``basis``: tool, directories, the classification's
findings), not from a new classification: the files a classification read are
never stored (SPEC §4 safeguard 7), and a card must not change its meaning because
the classifier did.  Where the inventory names a finding's target, its environment
is read from the inventory as it is now, so moving a target between environments
counts.  Pure: the store and the clock are the caller's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opsgate.approvals.model import Card
from opsgate.environments import Inventory, guess_environment
from opsgate.models import (
    Action,
    Classification,
    Decision,
    Effect,
    Environment,
    Finding,
    Impact,
    Verdict,
)
from opsgate.policy.engine import decide
from opsgate.policy.model import Policy

__all__ = ["BASIS_VERSION", "Changed", "Closure", "Requester", "basis_of", "judge"]

BASIS_VERSION = 1
_MAX_FINDINGS = 64
_MAX_TEXT = 500
# The tool a card's action came from, for cards made before the basis was kept.
_TOOLS = {"shell.exec": "Bash", "file.write": "Write", "file.read": "Read",
          "file.delete": "Bash", "network.request": "WebFetch"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Changed:
    """Who made a change and when (a setting, an inventory target, a token)."""

    by: str | None
    at: float | None

    def words(self) -> str:
        by = f" by {self.by}" if self.by else ""
        at = f" at {time.strftime('%H:%M UTC', time.gmtime(self.at))}" if self.at else ""
        return by + at


@dataclass(frozen=True, slots=True)
class Requester:
    """Whether whoever asked for the card can still ask: ``gone`` says why not."""

    gone: str | None = None
    changed: Changed | None = None


@dataclass(frozen=True, slots=True)
class Closure:
    """Why a card can no longer be honoured: the rule that decided it now, in words."""

    rule: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "reason": self.reason}


# --- the facts a card's decision rested on -------------------------------------------------


def basis_of(action: Action, decision: Decision) -> dict[str, Any]:
    """What ``judge`` needs to decide the card's action again: JSON, bounded."""
    c = decision.classification
    return {
        "v": BASIS_VERSION,
        "tool": action.tool,
        "cwd": action.cwd,
        "project_dir": action.project_dir,
        "agent": action.agent,
        "environment": c.environment.label,
        "env_source": c.env_source[:_MAX_TEXT],
        "target": c.target,
        "findings": [_finding_json(f) for f in c.findings[:_MAX_FINDINGS]],
    }


def _finding_json(f: Finding) -> list[Any]:
    return [f.category, f.impact.label, f.effect.name.lower(), f.evidence[:_MAX_TEXT],
            f.reason[:_MAX_TEXT], f.target, f.environment.label if f.environment else None,
            f.env_source]  # fmt: skip


def _finding(row: list[Any]) -> Finding:
    category, impact, effect, evidence, reason, target, env, source = row
    return Finding(
        category=str(category),
        impact=Impact[str(impact).upper()],
        effect=Effect[str(effect).upper()],
        evidence=str(evidence),
        reason=str(reason),
        target=target if isinstance(target, str) else None,
        environment=Environment.parse(env) if isinstance(env, str) else None,
        env_source=source if isinstance(source, str) else None,
    )


def _recorded(card: Card) -> tuple[Action, Classification]:
    """The card's action and classification as they were decided (a card made before
    the basis was kept: one finding from what the card shows)."""
    basis = card.basis
    if basis.get("v") == BASIS_VERSION:
        try:
            findings = tuple(_finding(row) for row in basis.get("findings") or ())
            env = Environment.parse(str(basis.get("environment")))
        except (KeyError, ValueError, TypeError):
            findings, env = (), card.environment
        else:
            action = Action(
                card.action_kind,
                str(basis.get("tool") or ""),
                dict(card.action),
                cwd=_text(basis.get("cwd")),
                project_dir=_text(basis.get("project_dir")),
                agent=str(basis.get("agent") or "unknown"),
            )
            source = str(basis.get("env_source") or "recorded on the card")
            return action, Classification(findings, env, source, _text(basis.get("target")))
    tool = _TOOLS.get(card.action_kind, card.action_kind)
    action = Action(card.action_kind, tool, dict(card.action))
    finding = Finding(f"card.{card.action_kind}", card.impact, Effect.WRITE, "", card.description,
                      card.target, card.environment, "recorded on the card")  # fmt: skip
    return action, Classification((finding,), card.environment, "recorded on the card",
                                  card.target)  # fmt: skip


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _now_in(c: Classification, inventory: Inventory) -> Classification:
    """The classification with each finding's environment as the inventory says now
    (a target named in the inventory), or as it would be if it left the inventory."""
    findings = tuple(_refreshed(f, inventory) for f in c.findings)
    if findings == c.findings:
        return c
    best: tuple[Environment, str, str | None] = (Environment.LOCAL, "agent workspace", None)
    for f in findings:
        if f.environment is not None and f.environment > best[0]:
            best = (f.environment, f.env_source or "the action", f.target)
    return Classification(findings, best[0], best[1], best[2] or c.target, c.files, c.facts)


def _refreshed(f: Finding, inventory: Inventory) -> Finding:
    if f.target is None or f.target.startswith(("/", "~", ".")):
        return f
    hit = inventory.find_in([f.target, f.target.split(":", 1)[0]])
    if hit is not None:
        source = f"inventory: {hit.kind} {hit.name}"
        if (f.environment, f.env_source) == (hit.environment, source):
            return f
        return dataclasses.replace(f, environment=hit.environment, env_source=source)
    if (f.env_source or "").startswith("inventory:"):
        # It left the inventory: what its name says, else an unknown remote target.
        guessed = guess_environment(f.target.split(":", 1)[0])
        env = guessed if guessed is not None else Environment.PRODUCTION
        return dataclasses.replace(f, environment=env, env_source=f"no longer in the inventory: "
                                   f"{f.target!r}")  # fmt: skip
    return f


# --- the judgement ----------------------------------------------------------------------------


def judge(
    card: Card,
    policy: Policy,
    requester: Requester,
    changes: Mapping[str, Changed] | None = None,
) -> Closure | None:
    """None while ``card`` can still be honoured; else why not.  ``changes``: who
    last changed each setting (``setting.NAME``) and inventory target
    (``target.NAME``), for the reason's words."""
    if requester.gone is not None:
        said = requester.gone + (requester.changed.words() if requester.changed else "")
        return Closure("requester", said)
    action, recorded = _recorded(card)
    decision = decide(action, _now_in(recorded, policy.inventory), policy)
    known = changes or {}
    if decision.verdict is Verdict.DENY:
        if decision.environment > card.environment and decision.decided_by in _ENV_RULES:
            # The setting was there all along: what changed is where the target is.
            said = (
                f"{_moved(decision, card, policy, known)}, where {_ENV_RULES[decision.decided_by]}"
            )
            return Closure(decision.decided_by, said)
        return Closure(decision.decided_by, _denied(decision, policy, known))
    if decision.environment > card.environment:
        return Closure("environment", _moved(decision, card, policy, known))
    if decision.impact > card.impact:
        return Closure("impact", f"the action would now be {decision.impact.label}, and this card "
                       f"was shown as {card.impact.label}")  # fmt: skip
    return None


# Rules that deny by environment, and what they mean there.
_ENV_RULES = {"settings.production_protection": "Production Protection stops agents' changes"}


def _denied(decision: Decision, policy: Policy, changes: Mapping[str, Changed]) -> str:
    rule = decision.decided_by
    when = _when(changes.get(f"setting.{rule.removeprefix('settings.')}"))
    if rule == "settings.production_protection":
        return (f"Production Protection was turned on{when}: agents cannot change production "
                "targets")  # fmt: skip
    if rule == "settings.write_actions":
        return f"Write Actions were turned off{when}: agents cannot make changes"
    if rule.startswith("access."):
        name = rule.removeprefix("access.")
        hit = next((t for t in policy.inventory.targets if t.name == name), None)
        level = {"read_only": "Read only", "no_access": "No access"}.get(
            hit.access if hit else "", "a narrower access level"
        )
        what = f"{hit.kind} {name}" if hit else name
        return f"{what} was set to {level}{_when(changes.get(f'target.{name}'))}: " + (
            "agents have no access to it" if level == "No access" else "agents cannot change it"
        )
    first = decision.reasons[0] if decision.reasons else "opsgate now denies this action"
    if rule.startswith(("safeguard.", "lockdown", "settings.")):
        return first
    return f"policy rule {rule} now denies this: {first}"


def _moved(decision: Decision, card: Card, policy: Policy, changes: Mapping[str, Changed]) -> str:
    env = decision.environment.label
    c = decision.classification
    hit = policy.inventory.find_in([t for t in (c.target,) if t])
    if hit is not None:
        when = _when(changes.get(f"target.{hit.name}"))
        return (f"{hit.kind} {hit.name} was moved to {env}{when}; this card was approved "
                f"for {card.environment.label}")  # fmt: skip
    was = str(card.basis.get("env_source") or "")
    before = f" (by {was})" if was.startswith("inventory") else ""
    return (f"the target is now {env} ({decision.env_source}); this card was for "
            f"{card.environment.label}{before}")  # fmt: skip


def _when(changed: Changed | None) -> str:
    return changed.words() if changed is not None else ""
