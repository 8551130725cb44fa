"""Limits and state of one shell classification: budget, scopes, files written."""

from __future__ import annotations

import re
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
    "BACKSTOP_CPU_SECONDS",
    "BACKSTOP_SECONDS",
    "IMPORT_SECONDS",
    "MAX_DEPTH",
    "MAX_SCRIPT",
    "MAX_TREE_DEPTH",
    "MAX_WORK",
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


# The work one decision may do, in steps: a syntax node or word walked, 32 characters
# of script parsed or of a file read, a step of planning a task file, a tenth of an
# SQL statement (``Budget``).  An 800-line build script is about 13,500 steps, a
# 400-target Makefile about 3,800, a 64 KiB script (the largest file read) about
# 14,000; at 15-25 µs a step, the limit is well under a second of CPU.
MAX_WORK = 40_000
PARSE_CHARS_PER_STEP = 32


MAX_TREE_DEPTH = 400


# The backstops: only input whose single steps are pathologically slow gets here;
# everything within MAX_WORK takes a fraction of either, even on a busy machine.
# CPU time is this thread's own, so other processes and other decisions running at
# the same time do not count; the wall clock is the last resort, for a decision that
# waits rather than works, and stays below the hook's 5 s watchdog.
BACKSTOP_CPU_SECONDS = 1.5
BACKSTOP_SECONDS = 4.0
_CLOCK_EVERY = 256  # steps between looks at the clocks


# Time spent in one-time lazy imports (family tables, sqlglot), which the backstops
# do not charge to the command being classified: [wall seconds, CPU seconds].
IMPORT_SECONDS: list[float] = [0.0, 0.0]


def _clocks() -> tuple[float, float]:
    return time.monotonic() - IMPORT_SECONDS[0], time.thread_time() - IMPORT_SECONDS[1]


def charged_import(load: Callable[[], T]) -> T:
    """Run a lazy import, keeping its time out of every classification's backstops."""
    wall, cpu = time.monotonic(), time.thread_time()
    try:
        return load()
    finally:
        IMPORT_SECONDS[0] += time.monotonic() - wall
        IMPORT_SECONDS[1] += time.thread_time() - cpu


@dataclass
class Budget:
    """How much one decision may do; overrun raises (→ deny).

    The answer must not depend on the machine's load, so the limit is counted in
    work (``MAX_WORK`` steps), the same on every run and every machine: a script
    that fits today fits under CPU contention, and one that does not is denied
    everywhere.  The clocks are only backstops for input whose steps are each
    pathologically slow; work within the limit stays far below them."""

    seconds: float = BACKSTOP_SECONDS
    cpu_seconds: float = BACKSTOP_CPU_SECONDS
    started: tuple[float, float] = field(default_factory=_clocks)
    work: int = 0
    limit: int = MAX_WORK
    _clock_at: int = _CLOCK_EVERY

    def spent(self) -> tuple[float, float]:
        """(wall seconds, this thread's CPU seconds) since the decision started."""
        wall, cpu = _clocks()
        return wall - self.started[0], cpu - self.started[1]

    def tick(self, steps: int = 1) -> None:
        self.work += steps
        if self.work > self.limit:
            raise ClassificationBudgetExceeded(
                f"the command needs more than {self.limit} steps of analysis "
                "(syntax nodes, parsed text, files it runs)",
                hint="split the command into smaller steps",
            )
        if self.work >= self._clock_at:
            self._clock_at = self.work + _CLOCK_EVERY
            wall, cpu = self.spent()
            if wall > self.seconds or cpu > self.cpu_seconds:
                raise ClassificationBudgetExceeded(
                    f"classification took longer than {min(self.seconds, self.cpu_seconds):g} s",
                    hint="split the command into smaller steps",
                )

    def parsed(self, chars: int) -> None:
        """Charge parsing (or reading) ``chars`` characters of script."""
        self.tick(1 + chars // PARSE_CHARS_PER_STEP)


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


# The key under which ``Scope.vars`` keeps a name reference (``declare -n``): no
# variable name contains it.
_REFERENCE = "\x00ref:"
_UNKNOWN_TARGET = "?"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Scope:
    cwd: str | None
    vars: dict[str, str | None] = field(default_factory=dict)
    functions: dict[str, Node] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, FileNote] = field(default_factory=dict)
    positional: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    # Variables of unknown value whose words come from a known producer (``for p in
    # $(pgrep -u "$USER")``): the suffix ``$p`` keeps (``<pipe:ps``), as xargs does.
    origins: dict[str, str] = field(default_factory=dict)
    # Functions defined differently in branches (``_walker_branches``): every body is
    # judged when the name is called.
    variants: dict[str, list[Node]] = field(default_factory=dict)

    def child(self) -> Scope:
        return Scope(
            self.cwd,
            dict(self.vars),
            dict(self.functions),
            dict(self.aliases),
            self.files,
            dict(self.positional),
            self.calls,
            dict(self.origins),
            dict(self.variants),
        )

    def refer(self, name: str, target: str | None) -> None:
        """``declare -n name=target``: ``name`` stands for the variable ``target``; ``""``
        when none is given yet (the next ``name=x`` makes it stand for x); None: a name
        known only at run time, so ``$name`` is unknown and assigning it may change any
        variable."""
        self.vars.pop(name, None)
        if target is None or (target and not _IDENTIFIER.fullmatch(target)) or target == name:
            target = _UNKNOWN_TARGET
        self.vars[_REFERENCE + name] = target
        if target in ("", _UNKNOWN_TARGET):
            self.vars[name] = None

    def referred(self, name: str) -> str:
        """The variable ``name`` stands for, through references (``declare -n``)."""
        for _ in range(8):
            target = self.vars.get(_REFERENCE + name)
            if not target or target == _UNKNOWN_TARGET:
                return name
            name = target
        return name

    def forget_values(self) -> None:
        """Every variable set so far may hold anything now (an assignment or ``unset``
        through a name known only at run time); references stay what they were."""
        for known in [k for k in self.vars if _REFERENCE not in k]:
            self.vars[known] = None

    def bind(self, name: str, text: str | None, origin: str = "") -> None:
        """Set ``name`` (None: unknown at run time, from ``origin`` when known)."""
        if _REFERENCE in name or _REFERENCE + name in self.vars:
            name = self.referred(name)
            target = self.vars.get(_REFERENCE + name)
            if target == "":  # the first assignment names the variable referred to
                self.refer(name, text)
                return
            if target == _UNKNOWN_TARGET:  # any variable may be the one assigned
                self.forget_values()
                return
        if name + "[]" in self.vars:  # an array assigned anew: its elements are not known
            from opsgate.classify._shell_arrays import drop

            drop(self, name)
        self.vars[name] = text
        if text is None and origin:
            self.origins[name] = origin
        elif self.origins:
            self.origins.pop(name, None)


@dataclass
class RunState:
    """Per-classification memory of the files that commands run."""

    texts: dict[str, str | None] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    judged: dict[tuple[object, ...], list[Finding]] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    total: int = 0
    maker: str = ""  # the first step that may have created files unseen (``_run_makers``)
    planted: int = 0  # judging a file that runs later elsewhere (``_run_makers.planted``)
    # Runners whose every step was read and walked (``_run_makers.walked``).
    walked: list[object] = field(default_factory=list)
    # Paths the makefile being run builds (its explicit targets), while its recipes are
    # judged (``_run_make``): deleting one that is no tree of files loses no sources.
    products: set[str] = field(default_factory=set)


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
    # Local ports a ``kubectl proxy``/``port-forward`` of this command opened, with the
    # finding that opened each (``families._network_tunnels``).
    tunnels: dict[str, Finding] = field(default_factory=dict)
    # The file source's other looks at the disk, each recorded as a fact: where links
    # lead, credentials files a search meets, links a program follows, what a glob
    # picks (``_files``).  Without one, nothing is looked at.
    files: FileSource = field(default_factory=NoFiles)
