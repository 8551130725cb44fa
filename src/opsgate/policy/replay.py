"""Policy replay: the recorded actions decided again under two policies, and every
decision that would change (``opsgate policy diff OLD NEW``).

What a recorded ``decision.made`` entry holds is enough to decide again: the tool,
its input, the working directory (and, from this version on, the project
directory).  Classification does not depend on the policy except through its
inventory, so each distinct action is classified once per distinct inventory and
decided twice — ``decide`` is a pure function.  The answers are those of
``guard.evaluate`` for each action under each policy (a test holds them equal).

Limits, reported with the result rather than hidden:

- an input the audit redactor masked before it was written (``[REDACTED]``) is
  replayed as recorded, which may classify differently;
- entries written before the project directory was recorded are replayed with the
  working directory as the project (what the HTTP API assumes);
- files an action read when it was decided (a script it runs) are read as they are
  now;
- governed operations are classified from opsgate's catalog, not from their input:
  their recorded facts (impact, write, target, environment) are replayed as they are.

Pure apart from the classifier's own file reads; the caller reads the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opsgate.classify import ClassifyContext, classify
from opsgate.environments import Inventory
from opsgate.errors import OpsgateError
from opsgate.models import Action, Classification, Decision, Effect, Environment, Finding, Impact
from opsgate.policy.engine import decide, decide_failure
from opsgate.policy.model import Policy

__all__ = [
    "Change",
    "Outcome",
    "Recorded",
    "ReplayReport",
    "Subject",
    "recorded",
    "replay",
    "skip",
    "subject_of",
]

MASK = "[REDACTED]"  # the audit redactor's mask (opsgate.audit.redact.MASK)
_RANK = {"allow": 0, "require_approval": 1, "deny": 2}
Direction = Literal["looser", "stricter", "rule"]


@dataclass(frozen=True, slots=True, eq=False)
class Subject:
    """What was decided: the action as recorded, shared by every decision of it.
    Equal subjects have equal keys (tool, input, directories, operation facts)."""

    action: Action
    approximate: tuple[str, ...] = ()  # why a replay may differ from the original
    facts: Classification | None = None  # a governed operation: its recorded facts
    key: Any = None


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded decision, ready to be decided again."""

    seq: int
    time: str
    agent: str
    verdict: str  # what was decided then
    decided_by: str
    subject: Subject

    @property
    def action(self) -> Action:
        return self.subject.action


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: str
    decided_by: str

    def to_json(self) -> dict[str, str]:
        return {"decision": self.verdict, "decided_by": self.decided_by}


@dataclass(frozen=True, slots=True)
class Change:
    record: Recorded
    old: Outcome
    new: Outcome
    direction: Direction

    def to_json(self) -> dict[str, Any]:
        a = self.record.action
        return {
            "seq": self.record.seq,
            "time": self.record.time,
            "agent": self.record.agent,
            "tool": a.tool,
            "action": a.text,
            "old": self.old.to_json(),
            "new": self.new.to_json(),
            "change": self.direction,
            "approximate": list(self.record.subject.approximate),
        }


@dataclass
class ReplayReport:
    decisions: int = 0  # decision entries considered
    replayed: int = 0
    distinct: int = 0  # distinct actions classified
    skipped: dict[str, int] = field(default_factory=dict)  # reason → count
    approximate: dict[str, int] = field(default_factory=dict)  # reason → count
    recorded_differs: int = 0  # OLD's answer is not what was recorded (not by a grant)
    changes: list[Change] = field(default_factory=list)

    def count(self, direction: Direction) -> int:
        return sum(1 for c in self.changes if c.direction == direction)

    def to_json(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "replayed": self.replayed,
            "distinct_actions": self.distinct,
            "skipped": dict(self.skipped),
            "approximate": dict(self.approximate),
            "recorded_differs_from_old": self.recorded_differs,
            "counts": {d: self.count(d) for d in ("looser", "stricter", "rule")},
            "changes": [c.to_json() for c in self.changes],
        }


def recorded(seq: int, data: Mapping[str, Any], subject: Subject | None = None) -> Recorded | str:
    """A ``decision.made`` entry as a ``Recorded``, or why it cannot be replayed.
    ``subject``: the entry's ``subject_of``, when the caller has it already."""
    found = subject if subject is not None else subject_of(data)
    if isinstance(found, str):
        return found
    actor = data.get("actor")
    name = actor.get("name") if isinstance(actor, dict) else None
    return Recorded(
        seq=seq,
        time=str(data.get("time", "")),
        agent=name if isinstance(name, str) and name else "unknown",
        verdict=str(data.get("decision", "")),
        decided_by=str(data.get("rule", "")),
        subject=found,
    )


def subject_of(data: Mapping[str, Any]) -> Subject | str:
    """What a ``decision.made`` entry decided, or why it cannot be decided again."""
    action = data.get("action")
    if not isinstance(action, dict):
        return "no action recorded"
    tool, given = action.get("tool"), action.get("input")
    if not isinstance(tool, str) or not tool or not isinstance(given, dict):
        return "no tool or input recorded"
    cwd = _text(action.get("cwd"))
    project = _text(action.get("project_dir"))
    notes: list[str] = []
    frozen, masked = _freeze(given)
    if masked:
        notes.append("input redacted before it was recorded")
    if project is None and cwd is not None:
        notes.append("no project directory recorded (the working directory is used)")
    act = Action(_text(action.get("kind")) or "", tool, given, cwd=cwd, project_dir=project or cwd)
    facts = _operation_facts(act, data) if "." in tool else None
    return Subject(act, tuple(notes), facts, (tool, frozen, cwd, act.project_dir, facts))


def _freeze(value: Any) -> tuple[Any, bool]:
    """A hashable copy of a JSON value (to find repeated actions), and whether the
    redactor's mask occurs in it: one pass, a third of ``json.dumps``'s time."""
    if isinstance(value, str):
        return value, MASK in value
    if isinstance(value, dict):
        items = []
        masked = False
        for k, v in value.items():
            frozen, hit = _freeze(v)
            items.append((str(k), frozen))
            masked = masked or hit
        items.sort(key=lambda kv: kv[0])
        return ("{}", tuple(items)), masked
    if isinstance(value, list):
        parts = [_freeze(v) for v in value]
        return ("[]", tuple(p for p, _ in parts)), any(h for _, h in parts)
    return (type(value).__name__, value), False


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _operation_facts(action: Action, data: Mapping[str, Any]) -> Classification | None:
    """A governed operation (its tool is the operation's name): the facts the
    executor decided on came from the catalog and the inventory, and are recorded."""
    if action.input.get("operation") != action.tool or "." not in action.tool:
        return None
    facts = data.get("classification") if isinstance(data.get("classification"), dict) else {}
    assert isinstance(facts, dict)
    try:
        env = Environment.parse(str(data.get("environment") or "production"))
        impact = Impact[str(facts.get("impact", "caution")).upper()]
    except (ValueError, KeyError):
        env, impact = Environment.PRODUCTION, Impact.CAUTION
    target = _text(action.input.get("target")) or _text(data.get("target"))
    source = str(facts.get("environment_source") or "recorded")
    finding = Finding(
        category=f"operation.{action.tool}",
        impact=impact,
        effect=Effect.WRITE if facts.get("write", True) else Effect.READ,
        evidence=str(action.input.get("command", ""))[:500],
        reason=f"governed operation {action.tool}",
        target=target,
        environment=env,
        env_source=source,
    )
    return Classification((finding,), env, source, target)


def replay(
    records: Iterable[Recorded], old: Policy, new: Policy, *, budget_seconds: float | None = None
) -> ReplayReport:
    """Decide every record under ``old`` and ``new``; the report lists each change."""
    report = ReplayReport()
    answers: dict[Any, tuple[Outcome, Outcome]] = {}
    same_inventory = old.inventory == new.inventory
    for record in records:
        report.decisions += 1
        report.replayed += 1
        subject = record.subject
        for note in subject.approximate:
            report.approximate[note] = report.approximate.get(note, 0) + 1
        key = subject.key
        found = answers.get(key)
        if found is None:
            found = answers[key] = _decide_both(subject, old, new, same_inventory, budget_seconds)
        before, after = found
        if before.verdict != record.verdict and not record.decided_by.startswith("grant."):
            report.recorded_differs += 1
        direction = _direction(before, after)
        if direction is not None:
            report.changes.append(Change(record, before, after, direction))
    report.distinct = len(answers)
    return report


def skip(report: ReplayReport, reason: str) -> None:
    """Count a decision entry that could not be replayed (``recorded`` said why)."""
    report.decisions += 1
    report.skipped[reason] = report.skipped.get(reason, 0) + 1


def _decide_both(
    subject: Subject, old: Policy, new: Policy, same_inventory: bool, budget: float | None
) -> tuple[Outcome, Outcome]:
    first = _decide(subject, old, budget)
    if subject.facts is not None or not same_inventory:
        second = _decide(subject, new, budget)
    elif first.decided_by == "safeguard.fail_closed":
        second = first  # classification failed: deny under any policy
    else:
        second = decide(subject.action, first.classification, new)
    return _outcome(first), _outcome(second)


def _decide(subject: Subject, policy: Policy, budget: float | None) -> Decision:
    """``guard.evaluate`` for a recorded action (and the same failure answers)."""
    action = subject.action
    if subject.facts is not None:
        return decide(action, _in_inventory(subject.facts, policy.inventory), policy)
    ctx = ClassifyContext(
        project_dir=action.project_dir or action.cwd,
        inventory=policy.inventory,
        budget_seconds=budget,
    )
    try:
        classification = classify(action, ctx)
    except OpsgateError as exc:
        return decide_failure(action, exc.message, _failed())
    except RecursionError:
        return decide_failure(action, "the input nests too deeply", _failed())
    except Exception as exc:
        return decide_failure(action, f"internal error ({type(exc).__name__})", _failed())
    return decide(action, classification, policy)


def _in_inventory(facts: Classification, inventory: Inventory) -> Classification:
    """An operation's target takes its environment from the policy's inventory when
    the inventory names it (else the recorded environment stands)."""
    if facts.target is None:
        return facts
    hit = inventory.find(facts.target)
    if hit is None or hit.environment is facts.environment:
        return facts
    import dataclasses

    source = f"inventory: {hit.kind} {hit.name}"
    findings = tuple(
        dataclasses.replace(f, environment=hit.environment, env_source=source)
        for f in facts.findings
    )
    return Classification(findings, hit.environment, source, facts.target)


def _failed() -> Classification:
    return Classification((), Environment.PRODUCTION, "unknown (classification failed)")


def _outcome(decision: Decision) -> Outcome:
    return Outcome(decision.verdict.value, decision.decided_by)


def _direction(old: Outcome, new: Outcome) -> Direction | None:
    if old.verdict != new.verdict:
        return "stricter" if _RANK[new.verdict] > _RANK[old.verdict] else "looser"
    if old.decided_by != new.decided_by:
        return "rule"
    return None
