"""The build code pip runs when it installs a project from a directory.

``pip install .``, ``pip install -e ./lib`` (and ``pip wheel``/``download`` of a
directory, ``uv pip install``, ``uv sync``/``uv build``, ``python -m build``) build the
project, and building a setuptools project runs its ``setup.py``; a project whose
``pyproject.toml`` names an in-tree build backend (``backend-path``) runs that
module.  Either is read and judged as Python, so a ``setup.py`` that deletes the home
directory makes the install what it does.  Packages from an index are the tool's
business (their code is not on this machine to read).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import judge, load, parse_once, toml_or_none
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["local_project_builds"]

_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tgz", ".tar.bz2")


def local_project_builds(cmd: Command, ctx: Context, operands: list[str]) -> list[Finding]:
    """Findings for the build code of each local project directory in ``operands``
    (the editable ones included)."""
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return []
    findings: list[Finding] = []
    seen: set[str] = set()
    for operand in [*operands, *cmd.options("-e", "--editable")]:
        if not _local(operand):
            continue
        base = operand.split("[", 1)[0]  # ``.[dev]``: the extras are not a path
        full = ctx.workspace.expand(base, cmd.cwd or ctx.scope.cwd)
        if full is None or full in seen:
            continue
        seen.add(full)
        findings += _project(ctx, full, operand)
    return findings


def _local(operand: str) -> bool:
    if "://" in operand or operand.startswith(("git+", "-")) or operand.endswith(_ARCHIVES):
        return False
    return (
        operand in (".", "..")
        or operand.startswith(("./", "../", "/", "~", ".["))
        or "/" in operand
    )


def _project(w: Walker, directory: str, shown: str) -> list[Finding]:
    where = f"the build of {shown}"
    setup = load(w, posixpath.join(directory, "setup.py"), None)
    findings: list[Finding] = []
    if setup.state != "missing":
        findings += judge(w, setup, "python", where=f"{where} ({setup.shown})", cwd=directory)
    pyproject = load(w, posixpath.join(directory, "pyproject.toml"), None)
    if pyproject.text is not None:
        findings += _in_tree_backend(w, directory, pyproject.text, where)
    return findings


def _in_tree_backend(w: Walker, directory: str, text: str, where: str) -> list[Finding]:
    data = parse_once("toml", text, toml_or_none)
    system = data.get("build-system") if isinstance(data, dict) else None
    if not isinstance(system, dict) or not isinstance(system.get("backend-path"), list):
        return []
    backend = system.get("build-backend")
    if not isinstance(backend, str) or not backend:
        return []
    module = backend.split(":", 1)[0].replace(".", "/")
    findings: list[Finding] = []
    for entry in system["backend-path"]:
        if not isinstance(entry, str):
            continue
        for candidate in (f"{module}.py", f"{module}/__init__.py"):
            loaded = load(w, posixpath.join(directory, entry, candidate), None)
            if loaded.state != "missing":
                findings += judge(
                    w, loaded, "python", where=f"{where} ({loaded.shown})", cwd=directory
                )
                break
    return findings
