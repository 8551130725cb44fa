"""Frozen value types shared by every layer: what an action is, what it would do,
and what opsgate decided about it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Action",
    "Classification",
    "Decision",
    "Effect",
    "Environment",
    "FileRead",
    "Finding",
    "Impact",
    "Verdict",
]


class Impact(enum.IntEnum):
    """How bad the worst outcome is.  Ordered, so ``max`` gives the worst."""

    SAFE = 0
    CAUTION = 1
    DESTRUCTIVE = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Effect(enum.IntEnum):
    """What kind of change a finding is.  Ordered by how much it needs a human.

    ``LOCAL`` is ordinary work inside the agent's own workspace (edits, builds,
    deleting build output); ``WRITE`` is a state change on infrastructure or a
    destructive action anywhere — a "write action" in SPEC §3.
    """

    READ = 0
    LOCAL = 1
    WRITE = 2
    UNKNOWN = 3
    SECRET = 4


class Environment(enum.IntEnum):
    """A target's environment tag, ordered so ``max`` gives the most sensitive."""

    LOCAL = 0
    DEVELOPMENT = 1
    STAGING = 2
    PRODUCTION = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Environment:
        """Map a tag or a common abbreviation (prod, stg, dev) to an environment."""
        key = text.strip().lower()
        for env, names in _ENV_NAMES.items():
            if key in names:
                return env
        raise ValueError(f"unknown environment {text!r}")


_ENV_NAMES: dict[Environment, frozenset[str]] = {
    Environment.PRODUCTION: frozenset({"production", "prod", "prd", "live"}),
    Environment.STAGING: frozenset({"staging", "stage", "stg", "preprod", "uat", "qa"}),
    Environment.DEVELOPMENT: frozenset({"development", "dev", "test", "testing", "sandbox"}),
    Environment.LOCAL: frozenset({"local", "localhost", "workspace"}),
}


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    REQUIRE_APPROVAL = "require_approval"
    DENY = "deny"


# An answer or audit entry lists at most this many findings, each's evidence cut to
# MAX_EVIDENCE characters: a command naming 3,000 paths would otherwise repeat itself
# 3,000 times in every answer and audit entry.
MAX_LISTED = 50
MAX_EVIDENCE = 500


@dataclass(frozen=True, slots=True)
class Finding:
    """One fact about what an action would do, with the exact evidence for it."""

    category: str  # dotted, e.g. "filesystem.delete", "database.drop", "secrets.read"
    impact: Impact
    effect: Effect
    evidence: str  # the exact word or clause that shows it
    reason: str  # plain English: "deletes the home directory"
    target: str | None = None  # host, kube context, database URL, path, branch
    environment: Environment | None = None  # environment evidence, when the action names one
    env_source: str | None = None  # where that environment came from


@dataclass(frozen=True, slots=True)
class FileRead:
    """A file a classification read (or was given with a proposal).

    ``sha256`` is the hex digest of the file's bytes ("" when the file is missing or
    too large to hash).  ``text`` is what the classifier saw, for classification
    only: it is never shown, serialised, audited or stored (SPEC §4 safeguard 7),
    and None when the file is not UTF-8 text within the size limits.
    """

    path: str
    sha256: str
    text: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Action:
    """One proposed thing: its kind, its raw input, and where it comes from.

    ``files`` and ``context`` are what a caller on the agent's machine (the connected
    hook) reports with a proposal: the files the classification needs, read there,
    and the resolved context (git branch, Kubernetes context, cloud profile, …; see
    ``hooks._context``).  The control plane classifies with exactly these and binds
    a grant to them; it never reads its own disk.  ``context_complete`` is False
    when the caller left out the ambient context (it sends it when a card is due).
    """

    kind: str  # shell.exec, file.read, file.write, network.request, mcp.call, …
    tool: str  # the agent's tool name (Bash, Read, mcp__postgres__query, …)
    input: dict[str, Any]
    cwd: str | None = None
    project_dir: str | None = None
    agent: str = "unknown"
    session: str | None = None
    files: tuple[FileRead, ...] = ()
    context: tuple[tuple[str, str], ...] = ()
    context_complete: bool = True

    @property
    def text(self) -> str:
        """The human-readable form of the action: the command, path or URL."""
        for key in ("command", "file_path", "notebook_path", "path", "url"):
            value = self.input.get(key)
            if isinstance(value, str):
                return value
        return f"{self.tool} {self.input}"


@dataclass(frozen=True, slots=True)
class Classification:
    """Everything opsgate learned about an action, before any policy is applied."""

    findings: tuple[Finding, ...]
    environment: Environment
    env_source: str
    target: str | None = None
    # What the classification depended on besides the action: every file it read
    # (path and hash; the text only for the connected hook to send on), and facts it
    # resolved (``git.branch@DIR``).  A grant binds to them (``approvals._binding``).
    files: tuple[FileRead, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()

    @property
    def impact(self) -> Impact:
        return max((f.impact for f in self.findings), default=Impact.SAFE)

    @property
    def effect(self) -> Effect:
        return max((f.effect for f in self.findings), default=Effect.READ)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.category for f in self.findings))

    @property
    def unknown(self) -> bool:
        return any(f.effect is Effect.UNKNOWN for f in self.findings)

    @property
    def is_write(self) -> bool:
        """A write action in the sense of SPEC §3 (needs a human)."""
        return any(f.effect in (Effect.WRITE, Effect.UNKNOWN) for f in self.findings)


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict, and everything needed to explain it."""

    verdict: Verdict
    impact: Impact
    environment: Environment
    env_source: str
    reasons: tuple[str, ...]
    decided_by: str  # the safeguard or rule id that decided
    classification: Classification
    card: bool = False  # an opsgate approval card (vs. the agent's own prompt)
    confirm: str | None = None  # text an approver must type, for destructive actions
    approvers: tuple[str, ...] = field(default=())
    suggestion: str | None = None  # what to do instead

    def to_json(self) -> dict[str, Any]:
        c = self.classification
        return {
            "decision": self.verdict.value,
            "impact": self.impact.label,
            "categories": list(c.categories),
            "environment": self.environment.label,
            "environment_source": self.env_source,
            "decided_by": self.decided_by,
            "reasons": list(self.reasons),
            "unknown": c.unknown,
            "write": c.is_write,
            "card": self.card,
            "confirm": self.confirm,
            "approvers": list(self.approvers),
            "suggestion": self.suggestion,
            "target": c.target,
            "evidence": [
                {
                    "category": f.category,
                    "impact": f.impact.label,
                    "effect": f.effect.name.lower(),
                    "evidence": f.evidence[:MAX_EVIDENCE],
                    "reason": f.reason,
                    "target": f.target,
                    "environment": f.environment.label if f.environment is not None else None,
                    "environment_source": f.env_source,
                }
                for f in c.findings[:MAX_LISTED]
            ],
        }
