"""``incident_report.md`` and ``postmortem.md``: what happened, from the trail."""

from __future__ import annotations

from collections import Counter

from opsgate.incident._lines import approvals_line, entry_line, outcome, stamp, subject
from opsgate.incident._md import Citer, block, code, text
from opsgate.incident._trail import Story, Trail

__all__ = ["incident_report", "postmortem"]


def incident_report(trail: Trail, cite: Citer, head: str) -> str:
    parts = [head, "## Summary", "", _summary(trail, cite), ""]
    parts += ["## Timeline", ""]
    parts += [entry_line(e, cite) for e in trail.window] or ["- nothing in the window"]
    parts += ["", "## Actions", ""]
    for story in trail.stories:
        parts += _action(story, cite)
    if not trail.stories:
        parts.append("No action was proposed or decided in the window.\n")
    parts += ["## Still pending", ""]
    parts += _pending(trail, cite)
    parts += ["", "## Changes to opsgate in the window", ""]
    parts += [entry_line(e, cite) for e in trail.changes] or ["- none"]
    parts += ["", *_reads(trail, cite), ""]
    return "\n".join(parts) + "\n" + cite.sources()


def _summary(trail: Trail, cite: Citer) -> str:
    states = Counter(s.state for s in trail.stories)
    cards = [s for s in trail.stories if s.kind == "card"]
    denied = [s for s in trail.stories if s.kind == "decision" and s.verdict == "deny"]
    lines = [
        f"- {len(trail.stories)} action(s) proposed or decided in the window "
        f"({len(cards)} approval card(s)), and {len(trail.reads)} allowed read(s).",
        f"- Cards: {_counts(states, ('pending', 'approved', 'executing', 'completed', 'failed', 'denied', 'expired', 'cancelled'))}.",  # noqa: E501
        f"- Denied outright by the guard: {len(denied)} {cite.many(s.origin for s in denied)}",
    ]
    failed = [s for s in trail.stories if s.state == "failed"]
    if failed:
        lines.append(
            f"- Failed: {', '.join(code(s.id) for s in failed)} "
            f"{cite.many(s.finished or s.entries[-1] for s in failed)}"
        )
    return "\n".join(lines)


def _counts(states: Counter[str], order: tuple[str, ...]) -> str:
    found = [f"{states[s]} {s}" for s in order if states[s]]
    return ", ".join(found) or "none"


def _action(story: Story, cite: Citer) -> list[str]:
    title = {"card": "Card", "run": "Read-only run", "decision": "Decision"}[story.kind]
    lines = [
        f"### {title} {code(story.id)} — {text(story.description, 160)}",
        "",
        f"- Proposed by {text(story.requester)} at {stamp(story.origin)}: {subject(story)} "
        f"{cite(story.origin)}",
        f"- Decision: {code(story.verdict or '–')} by {code(story.rule or '–')}",
    ]
    if story.kind == "card":
        lines.append(f"- Approval: {approvals_line(story, cite)}")
    lines.append(f"- Outcome: {outcome(story, cite)}")
    finished = story.finished
    tail = finished.result.get("output_tail") if finished else None
    if isinstance(tail, str) and tail.strip():
        lines += [
            "",
            "Output (last lines, redacted):",
            "",
            block("\n".join(tail.splitlines()[-20:])),
        ]
    return [*lines, ""]


def _pending(trail: Trail, cite: Citer) -> list[str]:
    waiting = [s for s in trail.stories if s.open]
    if not waiting:
        return ["Nothing is waiting: every card in the window is decided and finished."]
    return [
        f"- {code(s.id)} **{text(s.state)}** since {stamp(s.entries[-1])}: {subject(s)}, "
        f"requested by {text(s.requester)} {cite(s.entries[-1])}"
        for s in waiting
    ]


def _reads(trail: Trail, cite: Citer) -> list[str]:
    if not trail.reads:
        return []
    first, last = trail.reads[0].origin, trail.reads[-1].origin
    return [
        "## Allowed reads",
        "",
        f"{len(trail.reads)} read(s) and ordinary workspace actions were allowed without a "
        f"card, the first {cite(first)} and the last {cite(last)}; list them with "
        "`opsgate incident report --include-reads` or `opsgate audit --decision allow`.",
    ]


# --- postmortem --------------------------------------------------------------------------------


def postmortem(trail: Trail, cite: Citer, head: str, tampered: bool) -> str:
    changed = [s for s in trail.stories if s.state in ("completed", "failed")]
    parts = [
        head,
        "## Summary",
        "",
        "_To be written by the incident's owner: what happened, in two sentences. The "
        "sections below are what the audit trail shows._",
        "",
        "## Impact",
        "",
        *_impact(trail, changed, cite),
        "",
        "## Timeline",
        "",
        *[entry_line(e, cite) for e in trail.window if _milestone(e.event, e.data)],
        "",
        "## Contributing decisions",
        "",
        *_contributing(trail, cite),
        "",
        "## What the guard stopped",
        "",
        *_stopped(trail, cite),
        "",
        "## What the guard let through",
        "",
        *_let_through(trail, cite),
        "",
        "## Root cause",
        "",
        "_To be written: why it happened, beyond what the trail records._",
        "",
        "## Follow-ups",
        "",
        *_follow_ups(trail, tampered, cite),
        "",
    ]
    return "\n".join(parts) + "\n" + cite.sources()


def _impact(trail: Trail, changed: list[Story], cite: Citer) -> list[str]:
    if not changed:
        return ["No operation ran in the window: nothing was changed through opsgate."]
    lines = []
    for s in changed:
        worst = " — **production**" if s.environment == "production" else ""
        lines.append(f"- {code(s.target or '?')}{worst}: {subject(s)} {outcome(s, cite)}")
    envs = Counter(s.environment or "?" for s in changed)
    lines.append(f"- Environments touched: {', '.join(f'{n} {e}' for e, n in envs.items())}.")
    return lines


def _milestone(event: str, data: object) -> bool:
    """The entries a postmortem's timeline keeps: decisions that were not plain reads,
    and every card and execution step."""
    if event.startswith(("card.", "execution.", "grant.created")):
        return True
    return event == "decision.made"


def _contributing(trail: Trail, cite: Citer) -> list[str]:
    lines = []
    for s in trail.stories:
        if s.approvals and s.state in ("completed", "failed", "approved", "executing"):
            lines.append(f"- {code(s.id)}: {approvals_line(s, cite)} — {subject(s)}")
        for used in s.grant_uses:
            lines.append(f"- {code(s.id)}: the identical action ran on its grant {cite(used)}")
    for change in trail.changes:
        if change.event in ("settings.changed", "policy.changed", "inventory.changed",
                            "lockdown.started", "lockdown.lifted"):  # fmt: skip
            lines.append(
                f"- {text(change.actor)} changed opsgate: {text(change.event)} {cite(change)}"
            )
    return lines or ["- No approval, grant or configuration change in the window."]


def _stopped(trail: Trail, cite: Citer) -> list[str]:
    lines = []
    for s in trail.stories:
        if s.kind == "decision" and s.verdict == "deny":
            lines.append(f"- Denied {subject(s)} by {code(s.rule)} {cite(s.origin)}")
        elif s.state in ("denied", "expired", "cancelled"):
            lines.append(f"- Card {code(s.id)} {outcome(s, cite)} — {subject(s)}")
    return lines or ["- The guard stopped nothing in the window."]


def _let_through(trail: Trail, cite: Citer) -> list[str]:
    lines = []
    for s in trail.stories:
        if s.state in ("completed", "failed", "executing", "approved") or s.grant_uses:
            lines.append(f"- {code(s.id)}: {subject(s)} — {outcome(s, cite)}")
        elif s.kind == "decision" and s.verdict == "allow":
            lines.append(f"- Allowed {subject(s)} {cite(s.origin)}")
    lines.append(f"- And {len(trail.reads)} allowed read(s) (see the incident report).")
    return lines


def _follow_ups(trail: Trail, tampered: bool, cite: Citer) -> list[str]:
    items = []
    if tampered:
        items.append(
            "- [ ] The audit trail failed verification: preserve the database and "
            "find who changed it before trusting anything above."
        )
    for s in trail.stories:
        if s.state == "failed":
            items.append(
                f"- [ ] Verify the state of {code(s.target or '?')} after the failed "
                f"{code(s.operation or s.id)} {cite(s.finished)}; roll back with "
                f"`opsgate ops undo {s.id}` if needed (runbook.md)."
            )
        elif s.open:
            items.append(f"- [ ] Decide or cancel the open card {code(s.id)} ({text(s.state)}).")
        elif s.kind == "decision" and s.verdict == "deny" and s.rule.startswith("safeguard."):
            items.append(
                f"- [ ] An agent tried something a safeguard stops ({code(s.rule)}) "
                f"{cite(s.origin)}: review its instructions."
            )
    items.append(
        "- [ ] Review the policy with `opsgate policy diff` before changing it, and "
        "add a `policy test` case for each decision above that should change."
    )
    return items
