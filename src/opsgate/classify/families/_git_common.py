"""Protected branches and the finding every git write shares."""

from __future__ import annotations

import fnmatch

from opsgate.classify._command import Command
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["PROTECTED_BRANCHES", "_write", "is_protected_branch"]

PROTECTED_BRANCHES = (
    "main",
    "master",
    "production",
    "prod",
    "release",
    "release/*",
    "release-*",
    "releases/*",
    "stable",
    "live",
    "trunk",
)


def is_protected_branch(name: str) -> bool:
    branch = name.removeprefix("refs/heads/")
    return any(fnmatch.fnmatchcase(branch, p) for p in PROTECTED_BRANCHES)


def _write(cmd: Command, category: str, reason: str, impact: Impact = Impact.DESTRUCTIVE,
           target: str | None = None) -> Finding:  # fmt: skip
    env = Environment.LOCAL if target is None else None
    return Finding(
        category,
        impact,
        Effect.WRITE,
        cmd.text,
        reason,
        target,
        env,
        "agent workspace" if target is None else None,
    )
