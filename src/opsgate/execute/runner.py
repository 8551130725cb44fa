"""The one Protocol every runner implements, and the values passed to it.

A runner gets a rendered ``Step`` (argv, SQL or a request; never a shell string
built from parameters), the resolved ``Endpoint`` (settings and revealed
credentials of the target), and a sink for output as it arrives.  It returns
the exit status and duration; it never redacts (the executor does, on
everything, before it leaves) and never decides anything.  Every runner bounds
every wait by the step's timeout.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from opsgate.execute.secrets import SecretValue

__all__ = ["Endpoint", "Runner", "Sink", "Step", "StepResult"]

Sink = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A target as a runner reaches it.  ``credentials`` hold revealed secrets
    (masked in any repr); ``settings`` the rest (host, port, user, url, …)."""

    name: str
    kind: str
    settings: Mapping[str, str]
    credentials: Mapping[str, SecretValue] = field(default_factory=dict)

    def setting(self, key: str, default: str | None = None) -> str | None:
        return self.settings.get(key, default)


@dataclass(frozen=True, slots=True)
class Step:
    argv: tuple[str, ...] = ()
    sql: str | None = None
    read_only: bool = False
    method: str = "GET"
    path: str = "/"
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    ok_status: tuple[int, ...] = ()
    as_backup: bool = False
    env: Mapping[str, SecretValue | str] = field(default_factory=dict)
    timeout: float = 300.0

    def display(self) -> str:
        """The exact command, as a card shows it (secrets are in env: never shown)."""
        who = "[as backup user] " if self.as_backup else ""
        env = "".join(f"{k}=*** " for k in sorted(self.env))
        if self.argv:
            return f"{who}{env}{shlex.join(self.argv)}"
        if self.sql is not None:
            mode = "READ ONLY " if self.read_only else ""
            return f"{mode}SQL: {self.sql}"
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class StepResult:
    exit_status: int | None  # None: it did not finish (timeout, connection lost)
    duration: float
    error: str | None = None  # raw: the executor redacts it


class Runner(Protocol):
    name: str

    async def run(self, endpoint: Endpoint, step: Step, sink: Sink) -> StepResult:
        """Run one step; stream its output to ``sink``; bounded by ``step.timeout``."""
        ...
