"""One line per audit entry, and the short facts about a story the artifacts share.
Every line ends in the citation of the entry it states."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opsgate.incident._md import Citer, code, text
from opsgate.incident._trail import Cited, Story

__all__ = ["approvals_line", "entry_line", "outcome", "stamp", "subject"]


def stamp(entry: Cited) -> str:
    """``2026-12-06 10:01:02Z``: the second is enough to read a timeline."""
    t = entry.time
    return f"{t[:10]} {t[11:19]}Z" if len(t) >= 19 else text(t)


def subject(story: Story) -> str:
    """What was proposed, where: ``restart web`` on `web-staging` (staging, caution)."""
    what = code(story.command or story.description, 200)
    where = (
        f" on {code(story.target, 120)}" if story.target and story.target != story.command else ""
    )
    facts = ", ".join(x for x in (story.environment, story.impact) if x)
    return f"{what}{where}" + (f" ({text(facts)})" if facts else "")


def outcome(story: Story, cite: Citer) -> str:
    """How it ended (or where it stands), with the entries that show it."""
    state = story.state
    if story.kind == "decision":
        return f"{_verdict(story.verdict)} by {code(story.rule)} {cite(story.origin)}"
    finished = story.finished
    if finished is not None:
        r = finished.result
        detail = _exit(r)
        return f"**{text(r.get('status') or state)}**{detail} {cite(finished)}"
    closed = story.decided
    if closed is not None:
        reason = closed.result.get("reason")
        why = f": {text(reason)}" if isinstance(reason, str) and reason else ""
        by = f" by {text(closed.approver)}" if closed.event == "card.denied" else ""
        return f"**{text(state)}**{by}{why} {cite(closed)}"
    if story.grant_uses:
        used = story.grant_uses[-1]
        return f"**approved; the agent then ran it on its grant** {cite(used)}"
    last = story.entries[-1]
    return f"**{text(state)}** {cite(last)}"


def _exit(result: Mapping[str, Any]) -> str:
    parts = []
    if result.get("exit_status") is not None:
        parts.append(f"exit {text(result['exit_status'])}")
    if isinstance(result.get("duration"), (int, float)):
        parts.append(f"{result['duration']:.1f} s")
    reason = result.get("reason")
    out = f" ({', '.join(parts)})" if parts else ""
    if isinstance(reason, str) and reason:
        out += f": {text(reason, 200)}"
    return out


def _verdict(verdict: str) -> str:
    return {
        "allow": "**allowed**",
        "deny": "**denied**",
        "require_approval": "**needs approval**",
    }.get(verdict, f"**{text(verdict)}**")


def approvals_line(story: Story, cite: Citer) -> str:
    approvals = story.approvals
    if not approvals:
        return "nobody approved it"
    who = ", ".join(
        f"{text(a.approver)} ({text(_role(a))}) at {stamp(a)} {cite(a)}" for a in approvals
    )
    return f"approved by {who}"


def _role(entry: Cited) -> str:
    approver = entry.data.get("approver")
    return str(approver.get("role", "?")) if isinstance(approver, dict) else "?"


def entry_line(entry: Cited, cite: Citer) -> str:
    """``- 2026-… [#12] claude — …``: what one entry says, in a sentence."""
    describe = _DESCRIBE.get(entry.event, _other)
    return f"- {stamp(entry)} {cite(entry)} {describe(entry)}"


def _decision(e: Cited) -> str:
    d = e.data
    action = d.get("action") if isinstance(d.get("action"), dict) else {}
    assert isinstance(action, dict)
    given = action.get("input") if isinstance(action.get("input"), dict) else {}
    assert isinstance(given, dict)
    what = next(
        (
            given[k]
            for k in ("command", "file_path", "path", "url")
            if isinstance(given.get(k), str)
        ),
        action.get("tool") or action.get("kind"),
    )
    rule = str(d.get("rule") or "")
    line = (
        f"{text(e.actor)} proposed {code(what, 200)} ({text(d.get('environment') or '?')}): "
        f"{_verdict(str(d.get('decision') or ''))} by {code(rule)}"
    )
    r = e.result
    if r.get("dry_run"):
        line += " — a dry run, nothing proposed"
    if isinstance(r.get("card"), str):
        line += (
            f" — ran on the grant of card {code(r['card'])}"
            if rule.startswith("grant.")
            else f" — card {code(r['card'])}"
        )
    return line


def _card(verb: str) -> Callable[[Cited], str]:
    def describe(e: Cited) -> str:
        r = e.result
        card = code(r.get("card", "?"))
        if e.event == "card.created":
            return f"card {card} created for {text(e.actor)}: {text(r.get('description', ''))}"
        if e.event == "card.approved":
            return (
                f"{text(e.approver)} approved card {card} "
                f"({text(r.get('approvals', '?'))} of {text(r.get('needed', '?'))})"
            )
        reason = r.get("reason")
        why = f": {text(reason)}" if isinstance(reason, str) and reason else ""
        who = f"{text(e.approver)} " if e.approver != "opsgate" else ""
        return f"{who}{verb} card {card}{why}"

    return describe


def _grant(e: Cited) -> str:
    r = e.result
    if e.event == "grant.created":
        return f"grant {code(r.get('grant', '?'))} issued for card {code(r.get('card', '?'))}"
    return f"grant {code(r.get('grant', '?'))} of card {code(r.get('card', '?'))} used"


def _rollback(e: Cited) -> str:
    r = e.result
    plan = r.get("rollback") if isinstance(r.get("rollback"), dict) else {}
    assert isinstance(plan, dict)
    when = "before the write" if r.get("before_write") else "at proposal"
    return f"rollback plan recorded {when} for {code(r.get('card', '?'))}: " + text(
        plan.get("description", "")
    )


def _execution(e: Cited) -> str:
    r = e.result
    run = code(r.get("card") or r.get("execution") or "?")
    if e.event == "execution.started":
        return f"execution of {run} started on {code(e.data.get('target') or '?')}"
    return f"execution of {run} **{text(r.get('status') or e.event.rpartition('.')[2])}**" + _exit(
        r
    )


def _other(e: Cited) -> str:
    target = e.data.get("target")
    where = f" on {code(target)}" if isinstance(target, str) and target else ""
    return f"**{text(e.event)}** by {text(e.actor)}{where}"


def _lockdown(e: Cited) -> str:
    reason = e.result.get("reason")
    verb = "locked opsgate down" if e.event == "lockdown.started" else "lifted the lockdown"
    return f"**{text(e.actor)}** {verb}" + (f": {text(reason)}" if reason else "")


_DESCRIBE: dict[str, Callable[[Cited], str]] = {
    "lockdown.started": _lockdown,
    "lockdown.lifted": _lockdown,
    "decision.made": _decision,
    "card.created": _card("created"),
    "card.approved": _card("approved"),
    "card.denied": _card("denied"),
    "card.expired": _card("expiry closed"),
    "card.cancelled": _card("cancelled"),
    "grant.created": _grant,
    "grant.used": _grant,
    "rollback.recorded": _rollback,
    "execution.started": _execution,
    "execution.completed": _execution,
    "execution.failed": _execution,
}
