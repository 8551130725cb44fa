"""kubectl plugins: ``kubectl NAME …`` where NAME is no kubectl command runs the
program ``kubectl-NAME`` from the search path (``kubectl foo bar`` tries
``kubectl-foo-bar`` first, then ``kubectl-foo``; a dash inside a word is ``_``).

A plugin in a directory the command itself put first in PATH (``PATH=$PWD/bin:$PATH
kubectl podnames``) is a file of the project, or one just written: it is read and
judged as the script it is, like ``./bin/kubectl-podnames``.  A subcommand that
names no such file stays an unrecognised kubectl command (``unknown``), as does a
plugin installed elsewhere on the inherited search path, which opsgate cannot read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["plugin_findings"]

_MAX_WORDS = 4  # kubectl's own search stops at the first option; so does this


def plugin_findings(cmd: Command, ctx: Context) -> list[Finding] | None:
    """What the plugin ``cmd`` names runs, judged; None when it names no plugin file
    opsgate can find."""
    w = _walker(ctx)
    if w is None or "PATH" not in cmd.env or cmd.name != "kubectl":
        return None
    from opsgate.classify._run_path import run_path
    from opsgate.classify._run_search import searched_program

    args = cmd.args
    lead = 0
    while lead < min(len(args), _MAX_WORDS) and args[lead].static:
        if args[lead].value.startswith("-"):
            break
        lead += 1
    for n in range(lead, 0, -1):
        name = "kubectl-" + "-".join(a.value.replace("-", "_") for a in args[:n])
        probe = replace(cmd, name=name, args=args[n:])
        found, unknowns = searched_program(probe, w)
        if unknowns:
            return unknowns
        if found is not None:
            return run_path(replace(probe, path=found), w)
    return None


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None
