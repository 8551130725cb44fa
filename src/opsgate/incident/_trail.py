"""The audit trail read as stories: what was proposed, how it was decided, who
approved, what ran, what is left.  Pure: entries in, frozen values out.

A *story* is everything the trail holds about one proposed thing: an approval card
(``c_…``: its decision, card events, grants, rollback plan, execution), a read-only
operation run (``x_…``), or a decision that made no card (a hook's allow or deny).
Entries that belong to no story and change opsgate itself (settings, policy,
tokens, inventory) are *changes*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["Cited", "Query", "Story", "Trail", "read_trail"]

# Events that say nothing about what agents did (noise in an incident's timeline).
_QUIET = frozenset(
    {"checkpoint.created", "user.login", "user.logout", "notification.failed", "audit.exported"}
)
_STATE_OF = {
    "card.created": "pending",
    "card.approved": "approved",
    "card.denied": "denied",
    "card.expired": "expired",
    "card.cancelled": "cancelled",
    "execution.started": "executing",
    "execution.completed": "completed",
    "execution.failed": "failed",
}
OPEN_STATES = frozenset({"pending", "approved", "executing"})


@dataclass(frozen=True, slots=True)
class Cited:
    """One audit entry: its sequence number, chain hash and decoded document."""

    seq: int
    hash: str
    data: Mapping[str, Any]

    @property
    def event(self) -> str:
        return str(self.data.get("event", ""))

    @property
    def time(self) -> str:
        return str(self.data.get("time", ""))

    @property
    def result(self) -> Mapping[str, Any]:
        found = self.data.get("result")
        return found if isinstance(found, dict) else {}

    @property
    def actor(self) -> str:
        return _name(self.data.get("actor"))

    @property
    def approver(self) -> str:
        return _name(self.data.get("approver"))


def _name(who: Any) -> str:
    if isinstance(who, dict):
        for key in ("name", "id", "type"):
            if isinstance(who.get(key), str) and who[key]:
                return str(who[key])
    return str(who) if isinstance(who, str) and who else "opsgate"


@dataclass(frozen=True, slots=True)
class Query:
    """The window and filters of a report (times are RFC 3339 strings, UTC)."""

    since: str | None = None
    until: str | None = None
    agents: tuple[str, ...] = ()  # globs over the requester's name
    targets: tuple[str, ...] = ()  # globs over the target
    cards: tuple[str, ...] = ()  # card or run ids
    include_reads: bool = False  # list allowed reads one by one

    def in_window(self, entry: Cited) -> bool:
        stamp = entry.time
        return not ((self.since and stamp < self.since) or (self.until and stamp > self.until))

    @property
    def filtered(self) -> bool:
        return bool(self.agents or self.targets or self.cards)


@dataclass
class Story:
    id: str  # c_…, x_…, or d<seq> for a decision without a card
    entries: list[Cited] = field(default_factory=list)

    # --- what the entries say --------------------------------------------------------------
    def first(self, *events: str) -> Cited | None:
        return next((e for e in self.entries if e.event in events), None)

    def all(self, *events: str) -> list[Cited]:
        return [e for e in self.entries if e.event in events]

    @property
    def kind(self) -> str:
        if self.id.startswith("c_"):
            return "card"
        return "run" if self.id.startswith("x_") else "decision"

    @property
    def origin(self) -> Cited:
        """The entry that started the story (its decision, else the first)."""
        return self.first("decision.made", "card.created", "execution.started") or self.entries[0]

    @property
    def requester(self) -> str:
        return self.origin.actor

    @property
    def target(self) -> str:
        for e in self.entries:
            if isinstance(e.data.get("target"), str) and e.data["target"]:
                return str(e.data["target"])
        return ""

    @property
    def environment(self) -> str:
        return str(self.origin.data.get("environment") or "")

    @property
    def impact(self) -> str:
        facts = self.origin.data.get("classification")
        return str(facts.get("impact", "")) if isinstance(facts, dict) else ""

    @property
    def write(self) -> bool:
        facts = self.origin.data.get("classification")
        return bool(facts.get("write", True)) if isinstance(facts, dict) else True

    @property
    def action(self) -> Mapping[str, Any]:
        found = self.origin.data.get("action")
        return found if isinstance(found, dict) else {}

    @property
    def command(self) -> str:
        given = self.action.get("input")
        if isinstance(given, dict):
            for key in ("command", "file_path", "path", "url", "query", "sql"):
                if isinstance(given.get(key), str):
                    return str(given[key])
        return str(self.action.get("kind") or self.action.get("tool") or "")

    @property
    def operation(self) -> str | None:
        given = self.action.get("input")
        if isinstance(given, dict) and isinstance(given.get("operation"), str):
            return str(given["operation"])
        return None

    @property
    def verdict(self) -> str:
        decided = self.first("decision.made")
        return str(decided.data.get("decision") or "") if decided else ""

    @property
    def rule(self) -> str:
        decided = self.first("decision.made")
        return str(decided.data.get("rule") or "") if decided else ""

    @property
    def state(self) -> str:
        """The newest state the trail shows (a card), else the decision."""
        for e in reversed(self.entries):
            if e.event in _STATE_OF:
                return _STATE_OF[e.event]
        return self.verdict

    @property
    def description(self) -> str:
        created = self.first("card.created")
        if created is not None and isinstance(created.result.get("description"), str):
            return str(created.result["description"])
        what = self.operation or self.command
        return f"{what} on {self.target}" if self.target and self.target != what else what

    @property
    def open(self) -> bool:
        """Still waiting for a person or a run.  An approved card whose grant the agent
        used is done: the agent ran it (opsgate runs only governed operations)."""
        if self.kind != "card" or self.state not in OPEN_STATES:
            return False
        return not (self.state == "approved" and self.grant_uses)

    @property
    def finished(self) -> Cited | None:
        return self.first("execution.completed", "execution.failed")

    @property
    def decided(self) -> Cited | None:
        """The entry that closed the card: denied, expired or cancelled."""
        return self.first("card.denied", "card.expired", "card.cancelled")

    @property
    def approvals(self) -> list[Cited]:
        return self.all("card.approved")

    @property
    def grant_uses(self) -> list[Cited]:
        return [
            e for e in self.all("decision.made") if str(e.data.get("rule", "")).startswith("grant.")
        ]

    @property
    def rollbacks(self) -> list[Cited]:
        return self.all("rollback.recorded")


@dataclass(frozen=True, slots=True)
class Trail:
    """The stories and changes a report covers, and every entry it may cite."""

    stories: tuple[Story, ...]  # in order of their first entry
    changes: tuple[Cited, ...]  # changes to opsgate itself, in the window
    window: tuple[Cited, ...]  # the entries in the window that the report covers
    reads: tuple[Story, ...]  # allowed reads, summarised unless the query lists them
    by_seq: Mapping[int, Cited]


def _story_id(entry: Cited) -> str | None:
    result = entry.result
    for key in ("card", "execution"):
        value = result.get(key)
        if isinstance(value, str) and value:
            return value
    if entry.event == "decision.made":
        return f"d{entry.seq}"
    if entry.event == "grant.used" and isinstance(result.get("card"), str):
        return str(result["card"])
    return None


def read_trail(entries: Iterable[Cited], query: Query) -> Trail:
    """Group every entry up to ``query.until`` into stories; keep the stories with an
    entry in the window that pass the filters."""
    stories: dict[str, Story] = {}
    changes: list[Cited] = []
    by_seq: dict[int, Cited] = {}
    for entry in entries:
        if query.until and entry.time > query.until:
            continue
        by_seq[entry.seq] = entry
        if entry.event in _QUIET:
            continue
        sid = _story_id(entry)
        if sid is None:
            if query.in_window(entry) and not query.filtered:
                changes.append(entry)
            continue
        stories.setdefault(sid, Story(sid)).entries.append(entry)
    chosen = [s for s in stories.values() if _chosen(s, query)]
    chosen.sort(key=lambda s: s.entries[0].seq)
    reads = tuple(s for s in chosen if _plain_read(s)) if not query.include_reads else ()
    kept = [s for s in chosen if s not in reads]
    window = sorted((e for s in kept for e in s.entries if query.in_window(e)), key=lambda e: e.seq)
    return Trail(tuple(kept), tuple(changes), tuple(window), reads, by_seq)


def _chosen(story: Story, query: Query) -> bool:
    if not any(query.in_window(e) for e in story.entries):
        return False
    if query.cards and story.id not in query.cards:
        return False
    if query.agents and not _any_glob(story.requester, query.agents):
        return False
    return not (query.targets and not _any_glob(story.target, query.targets))


def _any_glob(value: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _plain_read(story: Story) -> bool:
    """An allowed action that changed nothing: counted, not listed (an agent's
    session holds thousands)."""
    return story.kind == "decision" and story.verdict == "allow" and not story.write
