"""Test helpers: build a Command from a plain string without the shell parser, and
a real in-memory Context, so family tables can be tested on their own."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from opsgate.classify._command import Arg, Command, Stdin
from opsgate.environments import Inventory
from opsgate.models import Environment, Finding


def make_command(
    line: str,
    *,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    stdin_source: str = "heredoc",
    cwd: str | None = "/home/dev/project",
) -> Command:
    words = shlex.split(line)
    name = words[0].rsplit("/", 1)[-1]
    return Command(
        name=name,
        args=tuple(Arg(w) for w in words[1:]),
        text=line,
        env=env or {},
        stdin=Stdin(stdin, stdin_source) if stdin is not None else None,
        cwd=cwd,
    )


@dataclass
class FakeFiles:
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class MemoryContext:
    """A real, in-memory Context: nested scripts are recorded and not classified
    unless a ``shell`` callback is given."""

    project_dir: str | None = "/home/dev/project"
    home: str = "/home/dev"
    remote: str | None = None
    branch: str | None = "feature/work"
    files: dict[str, str] = field(default_factory=dict)
    inventory: Inventory = field(default_factory=Inventory)
    nested: list[tuple[str, str, str | None]] = field(default_factory=list)

    def classify_shell(
        self, script: str, *, via: str, remote: str | None = None, cwd: str | None = None
    ) -> list[Finding]:
        self.nested.append((script, via, remote))
        return []

    def environment_of(self, target: str) -> tuple[Environment, str] | None:
        return self.inventory.environment_of(target)

    def git_branch(self, cwd: str | None) -> str | None:
        return self.branch

    def read_text(self, path: str, cwd: str | None) -> str | None:
        return self.files.get(path)

    def charge(self, steps: int) -> None:
        return None
