"""Limits and state of one shell classification: budget, scopes, files written."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tree_sitter import Node

from opsgate.classify.paths import Workspace
from opsgate.environments import Inventory
from opsgate.errors import ClassificationBudgetExceeded

__all__ = [
    "IMPORT_CPU",
    "MAX_DEPTH",
    "MAX_SCRIPT",
    "MAX_TREE_DEPTH",
    "Budget",
    "FileNote",
    "Scope",
    "ShellSession",
    "charged_import",
]

T = TypeVar("T")

MAX_DEPTH = 6  # nested interpreters (bash -c 'sh -c "…"')


MAX_SCRIPT = 256 * 1024


MAX_NODES = 60_000


MAX_TREE_DEPTH = 400


_DEFAULT_BUDGET_S = 0.05


# CPU seconds spent in one-time lazy imports (family tables, sqlglot), which the
# budget does not charge to the command being classified.
IMPORT_CPU: list[float] = [0.0]


def charged_import(load: Callable[[], T]) -> T:
    """Run a lazy import, keeping its CPU time out of every classification budget."""
    started = time.process_time()
    try:
        return load()
    finally:
        IMPORT_CPU[0] += time.process_time() - started


@dataclass
class Budget:
    """A fixed time and work budget for one decision; overrun raises (→ deny)."""

    seconds: float = _DEFAULT_BUDGET_S
    # CPU time, not wall time: a busy machine must not turn ordinary commands into
    # denials.  Time spent importing lazily loaded modules is not the command's cost.
    started: float = field(default_factory=lambda: time.process_time() - IMPORT_CPU[0])
    nodes: int = 0

    def spent(self) -> float:
        return time.process_time() - IMPORT_CPU[0] - self.started

    def tick(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ClassificationBudgetExceeded(
                f"the command has more than {MAX_NODES} syntax nodes",
                hint="split the command into smaller steps",
            )
        if self.nodes % 64 == 0 and self.spent() > self.seconds:
            raise ClassificationBudgetExceeded(
                f"classification took longer than {self.seconds * 1000:.0f} ms",
                hint="split the command into smaller steps",
            )


@dataclass
class FileNote:
    """A file written earlier in the same command: its text, when known."""

    text: str | None
    untrusted: bool
    # The source of the command that wrote it, when its text is unknown (``jq … > f``):
    # what it could have added is read from its words if the file is moved somewhere
    # that runs (split only then).
    producer: str = ""


@dataclass
class Scope:
    cwd: str | None
    vars: dict[str, str | None] = field(default_factory=dict)
    functions: dict[str, Node] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, FileNote] = field(default_factory=dict)
    positional: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def child(self) -> Scope:
        return Scope(
            self.cwd,
            dict(self.vars),
            dict(self.functions),
            dict(self.aliases),
            self.files,
            dict(self.positional),
            self.calls,
        )


@dataclass
class ShellSession:
    """What stays the same across nested scripts of one classification."""

    workspace: Workspace
    inventory: Inventory = field(default_factory=Inventory)
    budget: Budget = field(default_factory=Budget)
    read_file: Callable[[str], str | None] = lambda _path: None
    branch_of: Callable[[str | None], str | None] = lambda _cwd: None
    env: dict[str, str] = field(default_factory=dict)
