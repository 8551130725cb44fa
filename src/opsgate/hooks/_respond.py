"""The decision behind every agent's hook: one path for all of them.

An adapter turns its agent's payload into one or more ``Action`` values (Codex's
``apply_patch`` can add, change and delete several files at once), and renders an
``Answer`` back in its agent's form.  Everything between — classifier, policy, audit
entry per action, the control plane in connected mode — is shared, so no agent can
be weaker than another.  The strictest action decides the whole call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from opsgate.models import Action, Decision, Verdict

__all__ = [
    "Adapter",
    "Answer",
    "AuditSink",
    "HookInputError",
    "parse_json",
    "respond",
    "respond_as",
]

AuditSink = Callable[[Action, Decision], None]


class HookInputError(Exception):
    """The payload is not what the agent documents: the call is blocked."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the hook tells the agent.  ``ask`` only where a person will see the agent's
    prompt (Claude Code's ``default`` and ``plan`` modes); everywhere else ``deny``."""

    verdict: Literal["allow", "ask", "deny"]
    reason: str = ""


class Adapter(Protocol):
    AGENT: str  # the actor name in the audit trail
    # The payload's ``permission_mode`` values in which the agent shows an "ask" to a
    # person; empty: never (an ask there becomes deny).
    ASK_MODES: frozenset[str]

    def actions(self, payload: dict[str, Any], env: Mapping[str, str]) -> list[Action]: ...

    def render(self, answer: Answer, payload: dict[str, Any]) -> tuple[str, int]: ...


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise HookInputError(f"the hook input is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(payload, dict):
        raise HookInputError("the hook input must be a JSON object")
    return payload


def respond_as(
    module: str,
    raw: bytes,
    env: Mapping[str, str] | None = None,
    audit: AuditSink | None = None,
) -> tuple[str, int]:
    """``respond`` for the adapter module named ``module`` (a module is an Adapter)."""
    import sys

    adapter = cast("Adapter", sys.modules[module])
    return respond(adapter, raw, env, audit)


def respond(
    adapter: Adapter,
    raw: bytes,
    env: Mapping[str, str] | None = None,
    audit: AuditSink | None = None,
) -> tuple[str, int]:
    """The hook's stdout and exit code for one payload.  ``env`` stands in for the
    process environment (the resident service answers for other processes)."""
    env = os.environ if env is None else env
    payload = parse_json(raw)
    actions = adapter.actions(payload, env)
    if not actions:
        raise HookInputError("the hook input names no action")
    from opsgate.config import MissingDataDir
    from opsgate.guard import evaluate, load_configured_policy

    try:
        policy = load_configured_policy(env=env)
    except MissingDataDir as exc:
        # No rules to decide by and no audit log to record in (creating the named
        # directory would give a fresh, empty one): every action is refused, and the
        # agent's user is told how to fix it.
        return adapter.render(Answer("deny", _unusable_home(exc)), payload)
    record = audit or _audit
    decisions = []
    for action in actions:
        decision = evaluate(action, policy, environ=env)
        record(action, decision)
        decisions.append(decision)
    from opsgate.hooks import _connect

    ask = person_sees_ask(adapter, payload)
    remote = _connect.settings(env)
    if remote is not None:
        answer = _connect.answer(remote, actions, decisions, ask=ask, env=env)
        return adapter.render(answer, payload)
    return adapter.render(local_answer(decisions, ask=ask), payload)


def _unusable_home(exc: Exception) -> str:
    from opsgate.hooks._shapes import BLOCKED

    hint = getattr(exc, "hint", None)
    return f"{BLOCKED}{exc}" + (f"; {hint}" if hint else "")


def person_sees_ask(adapter: Adapter, payload: dict[str, Any]) -> bool:
    """Whether an ``ask`` for this payload reaches a person: the agent's mode says so.
    A missing or unknown mode is nobody (``bypassPermissions`` accepts an ask by itself)."""
    mode = payload.get("permission_mode")
    return isinstance(mode, str) and mode in adapter.ASK_MODES


_RANK = {Verdict.ALLOW: 0, Verdict.REQUIRE_APPROVAL: 1, Verdict.DENY: 2}


def strictest(decisions: Sequence[Decision]) -> Decision:
    return max(decisions, key=lambda d: _RANK[d.verdict])


def local_answer(decisions: Sequence[Decision], *, ask: bool) -> Answer:
    """The answer without a control plane: anything that needs approval is refused,
    except that a local caution action may be asked where a person sees the prompt
    (``Decision.card`` is False only for those; see policy/_asking.py)."""
    from opsgate.hooks._render import render_reason

    decision = strictest(decisions)
    if decision.verdict is Verdict.ALLOW:
        return Answer("allow")
    can_ask = (
        ask
        and decision.verdict is Verdict.REQUIRE_APPROVAL
        and not any(d.card for d in decisions if d.verdict is Verdict.REQUIRE_APPROVAL)
    )
    return Answer("ask" if can_ask else "deny", render_reason(decision, ask=can_ask))


def _audit(action: Action, decision: Decision) -> None:
    """Record the decision; if it cannot be recorded, the answer is a block (safeguard 5)."""
    from opsgate.hooks._audit import record_decision

    record_decision(action, decision)  # raises → the adapter's fail form
