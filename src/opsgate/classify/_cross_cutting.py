"""The checks that apply to every program, whichever family owns it, and the table
of which of them can find anything for a program.

Each check answers only for the programs its own tables name (the guard's
administrative programs, HTTP clients, writers of files that run by themselves …)
and returns nothing for any other before it looks at a word; the seven together
were a fifth of a decision's time (mostly the secret routes, which still run for
every program that may name a file).  Each check's module states that
test as a predicate over the program's name, next to the check and built from the
same tables (``watches``, ``may_reveal`` …); the table here asks those predicates
once per program name and keeps the checks that may answer, in their usual order,
so the findings and their order are the same as calling all of them.  Two checks
also read more than the name, and the key says so: the secret routes find nothing
in a command without arguments, and ``exec_findings`` reads every variable the
command is given (``PAGER=…``, ``BASH_ENV=…``), whatever the program.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify import _exec_options, _guard, _guard_reach
from opsgate.classify._autorun_shell import may_write
from opsgate.classify._autorun_shell import writes as autorun_writes
from opsgate.classify._command import Command
from opsgate.classify._unknown_tools import may_publish, publishes
from opsgate.classify.families import secrets
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["cross_cutting"]

Check = Callable[[Command, "Walker"], list[Finding]]


def cross_cutting(cmd: Command, w: Walker) -> None:
    """Add the findings of every check that applies to every program."""
    for check in _checks(cmd.name, bool(cmd.args), bool(cmd.env)):
        w.add(check(cmd, w))


def _publishes(cmd: Command, w: Walker) -> list[Finding]:
    return publishes(cmd)


def _pgbench(cmd: Command, w: Walker) -> list[Finding]:
    if cmd.name != "pgbench" or not cmd.has("-i", "--initialize"):
        return []
    host = cmd.option("-h", "--host") or cmd.env.get("PGHOST") or "database"
    return [
        Finding(
            "database.reset",
            Impact.DESTRUCTIVE,
            Effect.WRITE,
            cmd.text,
            "pgbench -i drops and recreates its tables",
            host,
        )
    ]


# (check, the programs it answers for), in the order their findings are added.
_CHECKS: tuple[tuple[Check, Callable[[str], bool]], ...] = (
    (secrets.reveals, secrets.may_reveal),  # and only given arguments
    (_guard.command_findings, _guard.watches),
    (_guard_reach.command_findings, _guard_reach.watches),  # admin code and API by other routes
    (_exec_options.exec_findings, _exec_options.watches),  # and whenever variables are set
    (_publishes, may_publish),
    (autorun_writes, may_write),  # into files that run by themselves (CI workflows, hooks …)
    (_pgbench, "pgbench".__eq__),
)


@functools.lru_cache(maxsize=2048)
def _checks(name: str, has_args: bool, has_env: bool) -> tuple[Check, ...]:
    """The checks that may find anything in a command of program ``name``."""
    kept: list[Check] = []
    for check, answers in _CHECKS:
        if check is secrets.reveals and not has_args:
            continue
        if answers(name) or (check is _exec_options.exec_findings and has_env):
            kept.append(check)
    return tuple(kept)
