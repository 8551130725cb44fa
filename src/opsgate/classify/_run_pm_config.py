"""Programs the JavaScript package managers run because their configuration says so.

``script-shell=./x.sh`` in an ``.npmrc`` makes npm (and pnpm) run every script
through ``./x.sh``; ``node-options=--require ./x.js`` preloads a file into every
node a script starts; ``yarnPath: .yarn/releases/x.cjs`` in ``.yarnrc.yml`` makes
every ``yarn`` command run that file instead of yarn (yarn's own release bundle,
too large to read, is taken as yarn).  The nearest ``.npmrc`` /
``.yarnrc.yml`` above the working directory and the user's own are read when the
manager runs, and what they name is judged: the program or file, read when it is a
script (a checked-in yarn release is read like any other JavaScript).
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import load, nearest
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["MANAGERS", "manager_config_programs"]

MANAGERS = frozenset({"npm", "pnpm", "yarn"})
_NPMRC_LINE = re.compile(r"^\s*([\w.-]+)\s*=\s*(.*?)\s*$", re.MULTILINE)
_RELEASE = re.compile(r"(^|/)\.yarn/releases/yarn-[0-9][\w.+-]*\.c?js$")
_YARN_PATH = re.compile(r"""(?m)^\s*yarnPath\s*:\s*["']?([^"'\n#]+?)["']?\s*(?:#.*)?$""")


def manager_config_programs(cmd: Command, w: Walker) -> list[Finding]:
    """Findings for what ``cmd``'s configuration files make the package manager run."""
    if w.remote is not None:
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    findings: list[Finding] = []
    if cmd.name in ("npm", "pnpm"):
        for path in _npmrcs(w, start):
            # An .npmrc may hold a registry token: read as code that runs (``read_code``),
            # so no text of it reaches a reason and no secret read is counted.
            text = (
                w.scope.files[path].text
                if path in w.scope.files
                else w.session.files.read_code(path)
            )
            if not text:
                continue
            base = posixpath.dirname(path)
            for key, value in _NPMRC_LINE.findall(text):
                findings += _npm_setting(w, key.lower(), value.strip("\"'"), base, path)
    if cmd.name == "yarn":
        rc = nearest(w, start, (".yarnrc.yml",))
        if rc is not None and rc.text is not None:
            found = _YARN_PATH.search(rc.text)
            if found:
                release = posixpath.join(posixpath.dirname(rc.path), found.group(1).strip())
                if not _official_release(w, release):
                    via = f"yarnPath in {rc.shown}"
                    findings += w.classify_shell(f"node {_quote(release)}", via=via, cwd=start)
    return findings


def _official_release(w: Walker, path: str) -> bool:
    """A yarn release as yarn itself installs it: ``.yarn/releases/yarn-4.1.0.cjs``,
    megabytes of bundled yarn, beyond what opsgate reads.  A file by that name small
    enough to read (a planted script) is read and judged instead."""
    if not _RELEASE.search(path) or path in w.scope.files:
        return False
    return load(w, path, None).state in ("unreadable", "budget")


def _npmrcs(w: Walker, start: str) -> list[str]:
    """The project's ``.npmrc`` (the nearest above ``start``, up to the project's root
    or twelve levels) and the user's own."""
    out = []
    directory = start
    for _ in range(12):
        path = posixpath.join(directory, ".npmrc")
        if path in w.scope.files or w.session.files.kind(path) == "file":
            out.append(path)
            break
        parent = posixpath.dirname(directory)
        if parent == directory or directory == w.workspace.project:
            break
        directory = parent
    if w.workspace.home:
        out.append(posixpath.join(w.workspace.home, ".npmrc"))
    return out


def _npm_setting(w: Walker, key: str, value: str, base: str, shown: str) -> list[Finding]:
    from opsgate.classify._exec_options import npm_program

    if key in ("script-shell", "shell", "git", "onload-script"):
        program = (
            posixpath.normpath(posixpath.join(base, value))
            if value.startswith(("./", "../"))
            else value
        )
        return npm_program(f"{key} in {shown}", program, w)
    if key == "node-options" and value:
        return w.classify_shell(f"NODE_OPTIONS={_quote(value)} node -e 0", via=f"{key} in {shown}",
                                cwd=base)  # fmt: skip
    return []


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
