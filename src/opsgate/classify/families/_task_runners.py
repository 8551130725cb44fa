"""Task runners and script hosts whose work is in a project file: ``just``, ``task``,
``mise``, ``tox``, ``nox``, ``pre-commit``, ``pytest``, and PowerShell started from a POSIX shell.
What they run is read and judged by ``classify._run_*``; here they are only given
their names (``earthly`` reads its Earthfile)."""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Finding

__all__ = ["TASK_HANDLERS"]


def _just(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_just import just_findings

    return just_findings(cmd, ctx)


def _task(cmd: Command, ctx: Context) -> list[Finding]:
    """go-task with a Taskfile; otherwise another ``task`` (Taskwarrior), by its words."""
    from opsgate.classify._run_tasks import taskfile_findings

    found = taskfile_findings(cmd, ctx)
    if found is not None:
        return found
    from opsgate.classify import _unknown_tools
    from opsgate.classify.shell import Walker

    return _unknown_tools.sniff(cmd, ctx) if isinstance(ctx, Walker) else []


def _mise(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_mise import mise_findings

    return mise_findings(cmd, ctx)


def _earthly(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_earthly import earthly_findings

    return earthly_findings(cmd, ctx)


def _tox(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_pyproject import tox_findings

    return tox_findings(cmd, ctx)


def _nox(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_pyproject import nox_findings

    return nox_findings(cmd, ctx)


def _pre_commit(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_precommit import precommit_findings

    return precommit_findings(cmd, ctx)


def _pytest(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_builds import pytest_findings

    return pytest_findings(cmd, ctx)


def _pwsh(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_interp import pwsh

    return pwsh(cmd, ctx)


TASK_HANDLERS: dict[str, Handler] = {
    "just": _just,
    "task": _task,
    "go-task": _task,
    "mise": _mise,
    "earthly": _earthly,
    "tox": _tox,
    "nox": _nox,
    "pre-commit": _pre_commit,
    "pytest": _pytest,
    "py.test": _pytest,
    "pwsh": _pwsh,
    "powershell": _pwsh,
}
