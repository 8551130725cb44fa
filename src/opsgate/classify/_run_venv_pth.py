"""``.pth`` files of the virtualenv a ``…/bin/python`` belongs to: start-up code.

Python's ``site`` module reads every ``*.pth`` file of ``site-packages`` before any
program, and runs each line that starts with ``import`` (``import _virtualenv``,
``import os; exec(…)``).  A python named by a path in a virtualenv's ``bin`` (the
directory holding ``pyvenv.cfg``) runs those lines and the project-local modules
they import, on every run: they are judged as Python.  Other lines only add
directories to the path.  ``-S`` and ``-I`` skip ``site``.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import Code, judge_code, load
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["venv_pth"]

_VERSION = re.compile(r"(?m)^\s*version(?:_info)?\s*=\s*(\d+)\.(\d+)")
_MAX_PTH = 16


def venv_pth(cmd: Command, w: Walker) -> list[Finding]:
    """Findings for the ``import`` lines of the virtualenv's ``.pth`` files."""
    if cmd.path is None or "/bin/" not in f"/{cmd.path}" or cmd.has("-S", "-I"):
        return []
    full = w.workspace.expand(cmd.path, cmd.cwd or w.scope.cwd)
    if full is None:
        return []
    prefix = posixpath.dirname(posixpath.dirname(full))
    config = load(w, posixpath.join(prefix, "pyvenv.cfg"), None)
    if config.state == "missing":
        return []
    site = _site_packages(w, prefix, config.text or "")
    if site is None:
        return []
    from opsgate.classify._run_listing import collected

    listed = collected(w, site, ("*.pth",), recursive=False)
    if listed is None:
        from opsgate.classify._shell_nodes import unknown

        return [unknown(f"{cmd.path} runs .pth start-up files opsgate cannot list", cmd.text)]
    found: list[Finding] = []
    for path in listed[:_MAX_PTH]:
        found += _pth(w, path, site)
    return found


def _site_packages(w: Walker, prefix: str, config: str) -> str | None:
    """``lib/pythonX.Y/site-packages`` of the virtualenv: the version its
    ``pyvenv.cfg`` records, else the one ``lib`` holds."""
    match = _VERSION.search(config)
    versions = [f"{match.group(1)}.{match.group(2)}"] if match else []
    versions += [f"3.{minor}" for minor in range(20, 5, -1)]
    for version in versions:
        site = posixpath.join(prefix, "lib", f"python{version}", "site-packages")
        if w.session.file_kind(site) == "dir":
            return site
    return None


def _pth(w: Walker, path: str, site: str) -> list[Finding]:
    loaded = load(w, path, None)
    if loaded.text is None:
        from opsgate.classify._run_files import judge

        return judge(w, loaded, None, where="python's start-up", cwd=site)
    lines = [line for line in loaded.text.splitlines() if line.startswith(("import ", "import\t"))]
    if not lines:
        return []
    first = 1 + loaded.text.splitlines().index(lines[0])
    code = Code(loaded.path, loaded.shown, "\n".join(lines), "python", key="pth", first_line=first)
    return judge_code(w, code, where=f"python's start-up file {loaded.shown}", cwd=site)
