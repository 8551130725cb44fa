"""``npx NAME`` running the project's own program.

npx (and ``bunx``, ``pnpx``) first looks for NAME in the project: a ``bin`` the
project's own package.json declares, or ``node_modules/.bin/NAME``.  When that leads
to a file of the project (not into an installed package under ``node_modules``), the
file runs and is read and judged like ``./bin/x.js`` (``_run_path``).  A NAME the
project does not provide is the installed or downloaded tool its name says.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import load, parse_once
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["package_program", "project_bin"]

# Packages whose program has another name than the package.
_PACKAGE_PROGRAMS = {"@devcontainers/cli": "devcontainer", "@nestjs/cli": "nest",
                     "@angular/cli": "ng", "@vscode/vsce": "vsce"}  # fmt: skip
_VERSION = re.compile(r"(?<=.)@[^/@]*$")


def package_program(inner: Command) -> Command:
    """The program ``npx PACKAGE[@VERSION]`` runs: ``prisma@5`` is ``prisma``,
    ``@devcontainers/cli`` is ``devcontainer``.  A path stays what it is."""
    spec = inner.path or inner.name
    if spec.startswith((".", "/", "~")) or "@" not in spec:
        return inner
    package = _VERSION.sub("", spec)
    name = _PACKAGE_PROGRAMS.get(package, package.rsplit("/", 1)[-1])
    return replace(inner, name=name, path=None) if name != inner.name else inner


def project_bin(w: Walker, inner: Command) -> list[Finding]:
    """Findings for the project's own file ``inner`` (npx's program) names, if any."""
    from opsgate.classify._run_path import run_path

    name = inner.name
    if w.remote is not None or not name or "/" in name or inner.path is not None:
        return []
    directory = inner.cwd or w.scope.cwd or w.workspace.project
    for _ in range(12):
        if not directory:
            return []
        found = _in_package(w, directory, name)
        if found is not None:
            if not found:
                return []
            program = Command(inner.name, inner.args, inner.text, inner.env, inner.stdin,
                              inner.cwd, path=found)  # fmt: skip
            return run_path(program, w)
        parent = posixpath.dirname(directory)
        if parent == directory:
            return []
        directory = parent
    return []


def _in_package(w: Walker, directory: str, name: str) -> str | None:
    """The project file ``name`` runs from ``directory``'s package ("" when it is an
    installed package's), or None when this directory is no package root."""
    manifest = load(w, posixpath.join(directory, "package.json"), None)
    link = posixpath.join(directory, "node_modules", ".bin", name)
    linked = w.session.files.kind(link) is not None or link in w.scope.files
    if manifest.state == "missing" and not linked:
        return None
    declared = _bins(manifest.text or "").get(name)
    if declared:
        return posixpath.normpath(posixpath.join(directory, declared))
    if link in w.scope.files:
        return link  # written by this very command: a planted program, not a package's
    if linked:
        real = w.real_path(link)
        inside = real[len(directory) :] if real.startswith(directory + "/") else ""
        return real if inside and "/node_modules/" not in inside else ""
    return ""


def _bins(text: str) -> dict[str, str]:
    found = parse_once("package.json:bin", text, _bins_of)
    return found if isinstance(found, dict) else {}


def _bins_of(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    declared, package = data.get("bin"), data.get("name")
    if isinstance(declared, str) and isinstance(package, str):
        return {package.rsplit("/", 1)[-1]: declared}
    if isinstance(declared, dict):
        return {k: v for k, v in declared.items() if isinstance(k, str) and isinstance(v, str)}
    return {}
