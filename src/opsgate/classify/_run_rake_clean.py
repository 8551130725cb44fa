"""``rake clean`` and ``rake clobber`` from ``require 'rake/clean'``: the file lists.

Rake's own ``clean`` task deletes every path in ``CLEAN``; ``clobber`` those and every
path in ``CLOBBER``.  The lists are the project's declaration of what it generates, so
a path inside the project is the project's own work (as a Rake task's ``rm_rf
"public/assets"`` is).  A path outside it — absolute, under the home (``~``,
``Dir.home``, ``ENV["HOME"]``), climbing out with ``..`` — or the project's ``.git``
is judged as the ``rm -rf`` it is.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from opsgate.classify._run_files import Code, Loaded, judge_code
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["rake_clean_findings"]

_LIST = re.compile(r"\b(CLEAN|CLOBBER)\s*(?:\.\s*(?:include|add|push|concat)\s*\(?|<<)([^\n]*)")
_LITERAL = re.compile(r"""'([^'\\\n]*)'|"([^"\\\n]*)\"""")
_HOME = re.compile(r"""Dir\.home|ENV\s*\[\s*['"]HOME['"]\s*\]|ENV\.fetch\(\s*['"]HOME['"]""")
_GOALS = {"clean": ("CLEAN",), "clobber": ("CLEAN", "CLOBBER")}


def rake_clean_findings(
    w: Walker, loaded: Loaded, goal: str, defined: bool, cwd: str | None
) -> list[Finding]:
    """What ``rake GOAL`` deletes through rake/clean's lists (``defined``: the Rakefile
    defines a task of that name too; Rake runs both)."""
    text = loaded.text or ""
    lists = _GOALS.get(goal)
    if lists is None or ("rake/clean" not in text and not defined):
        return []
    out: list[Finding] = []
    for match in _LIST.finditer(text):
        if match.group(1) not in lists:
            continue
        args = match.group(2)
        home = bool(_HOME.search(args))
        for lit in _LITERAL.finditer(args):
            path = lit.group(1) if lit.group(1) is not None else lit.group(2)
            if home:
                path = "~/" + path.lstrip("/")
            if not _outside(path):
                continue
            line = 1 + text.count("\n", 0, match.start())
            key = f"{goal}:{match.start()}:{lit.start()}"
            code = Code(loaded.path, loaded.shown, _rm(path), "shell", key, line)
            out += judge_code(w, code, where=f"{loaded.shown} {match.group(1)} list", cwd=cwd)
    return out


def _rm(path: str) -> str:
    """The shell twin of deleting ``path``: ``~`` stays expandable, Ruby's ``#{…}`` is a
    value known only at run time."""
    home = path.startswith("~/") or path == "~"
    rest = path[2:] if path.startswith("~/") else ("" if path == "~" else path)
    parts = re.split(r"#\{[^}]*\}", rest)
    quoted = "$RAKE_VALUE".join(shlex.quote(p) if p else "" for p in parts)
    return f"rm -rf {'~/' if home else ''}{quoted}" if quoted or home else "rm -rf ~"


def _outside(path: str) -> bool:
    return (
        path.startswith(("/", "~", "$"))
        or ".." in path.split("/")
        or path.split("/", 1)[0] == ".git"
        or "#{" in path
    )
