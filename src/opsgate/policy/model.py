"""Policy values: organisation settings, rules, inventory.  Frozen, validated on load."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from opsgate.environments import Inventory
from opsgate.models import Environment, Verdict

__all__ = [
    "DEFAULT_POLICY",
    "MAX_TTL_SECONDS",
    "MIN_TTL_SECONDS",
    "Lockdown",
    "Policy",
    "Rule",
    "Settings",
]

# How long a pending card waits for a person, wherever it is set (the policy file,
# the API, the console): under 30 s nobody can read a card before it expires; past a
# week, an approval outlives any memory of why it was asked for.
MIN_TTL_SECONDS = 30
MAX_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Settings:
    """Organisation toggles (SPEC §4, §6).  Production Protection is on by default."""

    production_protection: bool = True
    write_actions: bool = True
    approval_ttl_seconds: int = 15 * 60
    two_approvers_for_destructive_production: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A SafeClaw-compatible rule: ``action`` and ``resource`` are globs."""

    id: str
    effect: Verdict
    action: str = "*"
    resource: str = "*"
    reason: str | None = None
    environments: frozenset[Environment] = frozenset()
    impact: str | None = None
    category: str | None = None
    write: bool | None = None
    line: int | None = None

    def matches(
        self,
        kinds: dict[str, list[str]],
        environment: Environment,
        impact: str,
        categories: tuple[str, ...],
        write: bool,
    ) -> bool:
        if self.environments and environment not in self.environments:
            return False
        if self.impact is not None and self.impact != impact:
            return False
        if self.write is not None and self.write != write:
            return False
        if self.category is not None and not any(
            fnmatch.fnmatchcase(c, self.category) for c in categories
        ):
            return False
        for kind, resources in kinds.items():
            if not fnmatch.fnmatchcase(kind, self.action):
                continue
            if any(_resource_match(self.resource, r) for r in resources):
                return True
        return False


def _resource_match(pattern: str, resource: str) -> bool:
    """A glob over the whole resource; a bare word also matches a whole word in it
    (SafeClaw's ``resource: "main"`` for ``git.push`` matches the branch ``main``)."""
    if fnmatch.fnmatchcase(resource, pattern):
        return True
    if not any(ch in pattern for ch in "*?["):
        return pattern in resource.split()
    return False


@dataclass(frozen=True, slots=True)
class Lockdown:
    """The organisation is locked down (SPEC §6): every agent write is refused until
    a person lifts it.  A state of the control plane, never of a policy file."""

    by: str  # the person (or automation token) who pressed the button, by name
    role: str
    reason: str
    since: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class Policy:
    settings: Settings = field(default_factory=Settings)
    rules: tuple[Rule, ...] = ()
    inventory: Inventory = field(default_factory=Inventory)
    source: str = "built-in default"
    lockdown: Lockdown | None = None  # set only by the control plane (approvals)
    # The ``settings`` fields the file sets itself: the control plane applies these
    # over its stored settings and refuses to change them, so a file means the same
    # in ``check``, the hook and ``serve``.
    pinned: frozenset[str] = frozenset()


DEFAULT_POLICY = Policy()
