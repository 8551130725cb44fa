"""How a decision reads on a card, in the audit trail and in a notification:
plain-English descriptions, the card's target, cursors.  Pure functions."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import TYPE_CHECKING, Any

from opsgate.approvals._title import family_title, remote_target, remote_title
from opsgate.approvals.model import Card, Denied, Grant
from opsgate.models import (
    MAX_EVIDENCE,
    MAX_LISTED,
    Action,
    Decision,
    Effect,
    Environment,
    Finding,
    Impact,
    Verdict,
)

if TYPE_CHECKING:
    from opsgate.audit.redact import Redactor

__all__ = [
    "action_json",
    "allowed_by_grant",
    "classification_json",
    "describe",
    "evidence_json",
    "make_cursor",
    "notification",
    "parse_cursor",
    "target_of",
]

_NEEDS_HUMAN = (Effect.WRITE, Effect.UNKNOWN)
_WRAPPERS = frozenset({"sudo", "doas", "env", "exec", "time", "nohup", "nice", "timeout"})


def _shown(text: str, limit: int) -> str:
    """Text as a card may show it: without control or invisible formatting characters
    (a right-to-left override would show a path reversed), and bounded."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " if ch in "\t\n" else "" for ch in text)
    return text[:limit]


def target_of(decision: Decision, action: Action) -> str:
    """The classification's target, else the first finding's, else the action text."""
    return _shown(_target_of(decision, action), 1000)


def _target_of(decision: Decision, action: Action) -> str:
    c = decision.classification
    target = c.target or next((f.target for f in c.findings if f.target), None)
    if not target:
        return action.text
    # A change on another machine: the host as the inventory names it, not host:host.
    found = next((f for f in c.findings if f.target == target), None)
    return (remote_target(found) if found is not None else None) or target


def describe(decision: Decision, action: Action) -> str:
    """One sentence for the top of a card, e.g. "Drops table users on
    postgresql://db.prod/app (production), with psql"."""
    return _shown(_describe(decision, action), 500)


def _describe(decision: Decision, action: Action) -> str:
    findings = sorted(
        decision.classification.findings,
        key=lambda f: (f.effect in _NEEDS_HUMAN, f.impact, f.environment or 0),
        reverse=True,
    )
    return _headline(decision, action, findings) + _also(findings)


def _headline(decision: Decision, action: Action, findings: list[Finding]) -> str:
    remote = remote_title(findings[0], decision.environment) if findings else None
    if remote is not None:
        return remote  # "Restart nginx on web-staging-1 (staging), over SSH"
    family = family_title(findings[0], decision.environment, action) if findings else None
    if family is not None:
        return family  # "Delete deploy/web in namespace shop on staging (staging)"
    what = findings[0].reason if findings else f"runs {action.tool}"
    sentence = what[:1].upper() + what[1:]
    target = target_of(decision, action)
    if target and target != action.text and target not in sentence:
        sentence += f" on {target}"
    sentence += f" ({decision.environment.label})"
    program = _program_of(findings[0]) if findings else None
    program = program or _program(action)
    if program and program not in sentence:
        sentence += f", with {program}"
    return sentence[:500]


def _also(findings: list[Finding]) -> str:
    """The other changes the action makes, so a title never hides one: "; also:
    reboots the host", "; also 3 more changes"."""
    top = findings[0] if findings else None
    others: list[str] = []
    for f in findings[1:]:
        if f.effect not in _NEEDS_HUMAN or f.impact < Impact.CAUTION:
            continue
        remote = remote_title(f, f.environment or Environment.PRODUCTION)
        if remote is not None:
            said = (
                remote[:1].lower() + remote[1:]
            )  # "reboot … on web-staging-1 (staging), over SSH"
        elif not f.target or f.target in f.reason:
            said = f.reason
        else:
            said = f"{f.reason} on {f.target}"
        if top is not None and (f.reason, f.target) == (top.reason, top.target):
            continue
        if said not in others:
            others.append(said)
    if not others:
        return ""
    if len(others) > 2:
        return f"; also {others[0]} and {len(others) - 1} more changes"
    return "; also " + "; ".join(others)


def _program_of(finding: Finding) -> str | None:
    """The program the finding's evidence names (``psql: DROP TABLE users``)."""
    words = [w.rstrip(":") for w in finding.evidence.split()[:4]]
    first = next((w for w in words if w not in _WRAPPERS and "=" not in w), "")
    return first.rsplit("/", 1)[-1][:40] if first.replace("-", "").isalnum() else None


def _program(action: Action) -> str | None:
    command = action.input.get("command")
    if not isinstance(command, str):
        return None
    for word in command.split():
        if "=" in word or word in ("sudo", "env", "exec", "time", "nohup"):
            continue
        return word.rsplit("/", 1)[-1][:40]
    return None


def action_json(action: Action) -> dict[str, Any]:
    return {
        "kind": action.kind,
        "tool": action.tool,
        "input": action.input,
        "cwd": action.cwd,
        "project_dir": action.project_dir,  # replayed by `opsgate policy diff`
        "agent": action.agent,
        "session": action.session,
    }


def classification_json(decision: Decision) -> dict[str, Any]:
    c = decision.classification
    return {
        "impact": c.impact.label,
        "categories": list(c.categories),
        "unknown": c.unknown,
        "write": c.is_write,
        "environment_source": decision.env_source,
        # What it read, by path and hash; never a file's text (SPEC §4 safeguard 7).
        "files": [{"path": f.path, "sha256": f.sha256} for f in c.files],
    }


def evidence_json(decision: Decision) -> list[dict[str, Any]]:
    return [
        {
            "category": f.category,
            "impact": f.impact.label,
            "evidence": f.evidence[:MAX_EVIDENCE],
            "reason": f.reason,
        }
        for f in decision.classification.findings[:MAX_LISTED]
    ]


def allowed_by_grant(decision: Decision, grant: Grant) -> Decision:
    """The identical retry of an approved action: allowed, and it says by what."""
    said = (f"Approved on card {grant.card_id}: this identical action uses its grant "
            f"{grant.id} ({grant.uses_left} use(s) left).")  # fmt: skip
    return _answered(decision, Verdict.ALLOW, said, f"grant.{grant.id}")


def denied_by_card(decision: Decision, card: Card) -> Decision:
    """The identical retry of an action a person just denied: denied again, with the
    person's reason, so the agent learns why instead of asking again."""
    why = f": {card.reason}" if card.reason else ""
    said = (f"A person denied this identical action on card {card.id}{why}. Do not retry "
            "it; change the approach, or ask the person.")  # fmt: skip
    return _answered(decision, Verdict.DENY, said, f"card.{card.id}")


def _answered(decision: Decision, verdict: Verdict, said: str, decided_by: str) -> Decision:
    """``decision`` answered by an earlier card: ``said`` first, the reasons after."""
    return Decision(
        verdict=verdict,
        impact=decision.impact,
        environment=decision.environment,
        env_source=decision.env_source,
        reasons=(said, *decision.reasons),
        decided_by=decided_by,
        classification=decision.classification,
    )


def make_cursor(card: Card) -> str:
    raw = f"{card.created_at!r}|{card.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(cursor: str | None) -> tuple[float, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, card_id = raw.split("|", 1)
        return float(at), card_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Denied(
            "the cursor is not one this server returned", status=422, code="invalid_cursor"
        ) from exc


_redactor: Redactor | None = None


def shown(card: Card) -> Card:
    """The card as it may leave opsgate (API, pages, live stream, notifications).

    Every text on a card an agent controls — the command, and the description and
    target derived from it, the reasoning, the rollback plan, the outcome — passes
    through the audit log's redactor (SPEC §7).  The stored card keeps the exact
    action: its grant is bound to the action's hash, computed from the original."""
    global _redactor  # one per process: its patterns compile once
    if _redactor is None:
        from opsgate.audit.redact import Redactor

        _redactor = Redactor()
    text, document = _redactor.text, _redactor.document
    return dataclasses.replace(
        card,
        description=text(card.description),
        target=text(card.target),
        action=document(dict(card.action)),
        reasoning=text(card.reasoning),
        rollback=text(card.rollback),
        undo=text(card.undo),
        reason=text(card.reason) if card.reason is not None else None,
        result=document(dict(card.result)),
        confirm=shown_confirm(card.confirm),
        binding=_shown_binding(card.binding, document),
    )


def _shown_binding(binding: dict[str, Any], document: Any) -> dict[str, Any]:
    """The names in a card's binding (directory, paths, context), redacted; hashes are
    shown as they are (nothing to redact, and there is one per card)."""
    if not (binding.get("cwd") or binding.get("files") or binding.get("context")):
        return dict(binding)
    names = document({k: binding.get(k) for k in ("cwd", "files", "context")})
    return {**binding, **names}


def shown_confirm(confirm: str | None) -> str | None:
    """The name an approver is asked to type, as the card shows it (redacted)."""
    if confirm is None:
        return None
    global _redactor
    if _redactor is None:
        from opsgate.audit.redact import Redactor

        _redactor = Redactor()
    return _redactor.text(confirm)


def notification(card: Card) -> dict[str, Any]:
    """What leaves opsgate about a card: no command input (it may hold secrets), no
    reasoning text; enough to find the card and decide."""
    card = shown(card)
    return {
        "card": card.id,
        "state": card.state.value,
        "description": card.description,
        "target": card.target,
        "environment": card.environment.label,
        "impact": card.impact.label,
        "requested_by": card.requested_by_name,
        "approvals": len(card.approvals),
        "approvers_needed": card.approvers_needed,
        "confirm_required": card.confirm is not None,
        "decided_by": card.decided_by,
        "expires_at": card.expires_at,
        # Past approval: who approved, why it closed, which retry used it.
        "approved_by": [a.name for a in card.approved_by],
        "reason": card.reason,
        "used_by": (card.outcome.get("used") or {}).get("by"),
    }
