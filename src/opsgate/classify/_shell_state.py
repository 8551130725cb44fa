"""Limits and state of one shell classification: budget, scopes, files written."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tree_sitter import Node

from opsgate.classify._files import FileSource, NoFiles
from opsgate.classify.paths import Workspace
from opsgate.environments import Inventory
from opsgate.errors import ClassificationBudgetExceeded
from opsgate.models import Finding

__all__ = [
    "IMPORT_CPU",
    "MAX_DEPTH",
    "MAX_SCRIPT",
    "MAX_TREE_DEPTH",
    "Budget",
    "FileNote",
    "RunState",
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
    """A file written earlier in the same command: its text, when known, or the
    target of a symlink made there (``ln -s TARGET NAME``), absolute.

    ``origin`` names the file it was copied or moved from (``cp a.sh b.sh``); its
    text is read from there only if ``b.sh`` is run later in the command.
    ``appends_to_disk``: ``text`` was appended (``>>``) to what is on disk.
    ``tree``: a directory copied from ``origin`` (``cp -r``, ``mv``): a file under it
    holds the text of the same file under ``origin``."""

    text: str | None
    untrusted: bool
    origin: str | None = None
    appends_to_disk: bool = False
    tree: bool = False
    link: str | None = None
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
class RunState:
    """Per-classification memory of the files that commands run."""

    texts: dict[str, str | None] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    judged: dict[tuple[object, ...], list[Finding]] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    total: int = 0


@dataclass
class ShellSession:
    """What stays the same across nested scripts of one classification."""

    workspace: Workspace
    inventory: Inventory = field(default_factory=Inventory)
    budget: Budget = field(default_factory=Budget)
    read_file: Callable[[str], str | None] = lambda _path: None
    branch_of: Callable[[str | None], str | None] = lambda _cwd: None
    env: dict[str, str] = field(default_factory=dict)
    # What is at a path, without reading it: "file", "dir", "other", or None when
    # nothing is there.  Tells a missing script (the command fails) from one the
    # reader would not return (too large, unreadable, refused): the latter is unknown.
    file_kind: Callable[[str], str | None] = lambda _path: None
    # Files read for this classification (``_run_files``): their text, the paths with
    # nothing there, the files being judged now, and the characters read so far.
    runs: RunState = field(default_factory=RunState)
    # The file source's other looks at the disk, each recorded as a fact: where links
    # lead, credentials files a search meets, links a program follows, what a glob
    # picks (``_files``).  Without one, nothing is looked at.
    files: FileSource = field(default_factory=NoFiles)
