"""``DECISION_RECORD.md`` (per card: the options, the decision, who decided, the
evidence) and ``runbook.md`` (the operations run, in order, and the recorded
rollback plans, newest first, with the commands that carry them out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsgate.incident._lines import approvals_line, outcome, stamp, subject
from opsgate.incident._md import Citer, block, code, text
from opsgate.incident._trail import Cited, Story, Trail

__all__ = ["decision_record", "runbook"]


def decision_record(trail: Trail, cite: Citer, head: str) -> str:
    cards = [s for s in trail.stories if s.kind == "card"]
    parts = [head]
    if not cards:
        parts.append("No approval card in the window: no change was proposed for a decision.\n")
    for story in cards:
        parts += _record(story, cite)
    return "\n".join(parts) + "\n" + cite.sources()


def _record(s: Story, cite: Citer) -> list[str]:
    created = s.first("card.created")
    told = created.result if created is not None else {}
    reasoning = str(told.get("reasoning") or "")
    rollback = (
        str(told.get("rollback") or "") or str(told.get("undo") or "") or _planned_rollback(s)
    )
    lines = [
        f"## {code(s.id)} — {text(s.description, 160)}",
        "",
        "### Context",
        "",
        f"- Proposed by {text(s.requester)} at {stamp(s.origin)}: {subject(s)} {cite(s.origin)}",
        f"- The agent's reasoning: {text(reasoning) if reasoning else '_none given_'} "
        f"{cite(created)}",
        "",
        "### Options",
        "",
        f"1. **Approve** as proposed: {_approve_means(s)}",
        "",
        block(s.command or s.description, 2000),
        "",
        "2. **Deny** it (with a reason the agent reads), or let the card expire.",
        f"3. **Undo** after the fact: {_or_none(rollback)} {cite(*s.rollbacks[:1], created)}",
        "",
        "### Decision",
        "",
        f"- {_decision(s, cite)}",
        f"- Outcome: {outcome(s, cite)}",
        "",
        "### Evidence",
        "",
        f"- opsgate decided {code(s.verdict)} by {code(s.rule)}; impact {text(s.impact or '?')}, "
        f"environment {text(s.environment or '?')} ({text(_source(s.origin))}) {cite(s.origin)}",
        *_evidence(s.origin, cite),
        "",
    ]
    return lines


def _approve_means(s: Story) -> str:
    if s.operation:
        return "opsgate runs these steps once, with credentials the agent never sees:"
    return "the agent's identical retry passes once, on a grant bound to exactly this:"


def _or_none(plan: str) -> str:
    return text(plan) if plan else "_no rollback plan recorded_"


def _decision(s: Story, cite: Citer) -> str:
    needed = s.first("card.created")
    count = needed.result.get("approvers_needed") if needed is not None else None
    need = f" ({text(count)} approval(s) needed)" if count else ""
    if s.state in ("denied", "expired", "cancelled"):
        return f"**{text(s.state)}**{need}"
    if s.approvals:
        return f"**approved**{need}: {approvals_line(s, cite)}"
    return f"**not decided yet** ({text(s.state)}){need}"


def _source(entry: Cited) -> str:
    facts = entry.data.get("classification")
    return str(facts.get("environment_source", "?")) if isinstance(facts, dict) else "?"


def _evidence(entry: Cited, cite: Citer) -> list[str]:
    found = entry.data.get("evidence")
    if not isinstance(found, list) or not found:
        return []
    lines = []
    for item in found[:20]:
        if isinstance(item, dict):
            lines.append(
                f"- {text(item.get('category', '?'))} ({text(item.get('impact', '?'))}): "
                f"{text(item.get('reason', ''))} — evidence {code(item.get('evidence', ''))}"
            )
    return lines


def _planned_rollback(s: Story) -> str:
    for e in s.rollbacks:
        plan = _plan(e.result)
        if plan.get("description"):
            return str(plan["description"])
    return ""


def _plan(result: Mapping[str, Any]) -> Mapping[str, Any]:
    plan = result.get("rollback")
    return plan if isinstance(plan, dict) else {}


# --- runbook --------------------------------------------------------------------------------


def runbook(trail: Trail, cite: Citer, head: str) -> str:
    ran = [s for s in trail.stories if s.first("execution.started") is not None]
    parts = [head, "## 1. What ran, in order", ""]
    for n, s in enumerate(ran, 1):
        parts += _ran(n, s, cite)
    if not ran:
        parts.append("No operation ran through opsgate in the window.\n")
    parts += ["## 2. Rolling back, newest first", ""]
    undo = [s for s in reversed(trail.stories) if s.kind == "card" and _has_rollback(s)]
    for s in undo:
        parts += _undo(s, cite)
    if not undo:
        parts.append("No rollback plan is recorded for the cards in the window.\n")
    parts += ["## 3. Waiting for a decision", ""]
    waiting = [s for s in trail.stories if s.open]
    parts += [
        f"- {code(s.id)} ({text(s.state)}): {subject(s)} — `opsgate approve {s.id}` or "
        f"`opsgate deny {s.id} --reason …` {cite(s.entries[-1])}"
        for s in waiting
    ] or ["- nothing"]
    parts += [
        "",
        "## 4. Check",
        "",
        "- `opsgate audit verify`: the trail is intact.",
        *(f"- `opsgate ops status {s.id}`" for s in ran),
        "",
    ]
    return "\n".join(parts) + "\n" + cite.sources()


def _ran(n: int, s: Story, cite: Citer) -> list[str]:
    started = s.first("execution.started")
    assert started is not None
    plan = started.result.get("plan") if isinstance(started.result.get("plan"), dict) else {}
    assert isinstance(plan, dict)
    params = plan.get("params") if isinstance(plan.get("params"), dict) else {}
    assert isinstance(params, dict)
    flags = " ".join(f"--param {k}={v}" for k, v in params.items())
    op = plan.get("operation") or s.operation or "?"
    lines = [
        f"### {n}. {code(op)} on {code(s.target or '?')} — card {code(s.id)}",
        "",
        f"- Started {stamp(started)} {cite(started)}; outcome: {outcome(s, cite)}",
        f"- To run it again (a new card): {code(f'opsgate ops propose {op} --target {s.target} {flags}'.strip())}",  # noqa: E501
    ]
    for title, key in (("Backup first", "backup"), ("Steps", "steps"), ("Verify", "verify")):
        steps = plan.get(key)
        if isinstance(steps, list) and steps:
            lines += ["", f"{title}:", "", block("\n".join(str(x) for x in steps), 2000)]
    return [*lines, ""]


def _has_rollback(s: Story) -> bool:
    created = s.first("card.created")
    result = created.result if created is not None else {}
    told = [result.get(key) for key in ("rollback", "undo")]
    return bool(s.rollbacks) or any(isinstance(t, str) and t for t in told)


def _undo(s: Story, cite: Citer) -> list[str]:
    latest = s.rollbacks[-1] if s.rollbacks else None  # before the write beats at proposal
    plan = _plan(latest.result) if latest is not None else {}
    lines = [f"### Undo {code(s.id)} — {text(s.description, 160)}", ""]
    if plan:
        lines.append(f"- Plan: {text(plan.get('description', ''))} {cite(latest)}")
        operation = plan.get("operation")
        params = plan.get("params") if isinstance(plan.get("params"), dict) else {}
        if operation:
            shown = ", ".join(f"{k}={v}" for k, v in (params or {}).items())
            lines.append(f"- Operation: {code(operation)} ({text(shown)})")
            lines.append(
                f"- Run it: `opsgate ops undo {s.id}` (a new card for a person to approve)"
            )
        backup = latest.result.get("backup_file") if latest is not None else None
        if isinstance(backup, str) and backup:
            lines.append(f"- Backup taken before the write: {code(backup)}")
    else:
        created = s.first("card.created")
        told = created.result.get("rollback", "") if created is not None else ""
        known = created.result.get("undo", "") if created is not None else ""
        if known:
            lines.append(f"- The rollback opsgate knows for it: {text(known)} {cite(created)}")
        if told or not known:
            lines.append(
                f"- The agent's rollback plan (run by hand, or propose it): {text(told)} "
                f"{cite(created)}"
            )
    return [*lines, ""]
