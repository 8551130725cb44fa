"""A program found through a search path the command itself changed.

``PATH=/tmp/x:$PATH; ls`` runs ``/tmp/x/ls`` when there is one: a file the agent may
have written a moment before, under the name of a harmless program.  When the command
puts directories ahead of the inherited search path (``$PATH``) or the system
directories, a bare program name is looked up there as bash would, and a file found
(on disk, or written earlier in the same command) runs by path: it is read and judged
like ``./x``.  A directory known only at run time (``PATH=$(cat d):$PATH``) may hold
anything, so the program is unknown, unless it is one of the usual tool directories
(``$(go env GOPATH)/bin``, ``$(npm bin)``).
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import load
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["searched_program"]

_INHERITED = frozenset({"$PATH", "${PATH}"})
_SYSTEM = frozenset({"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin",
                     "/bin", "/usr/games", "/usr/local/games", "/snap/bin"})  # fmt: skip
_TOOL_HINT = re.compile(
    r"GOPATH|GOBIN|GOROOT|npm (bin|prefix)|pnpm bin|yarn global bin|node_modules|cargo|rustup|"
    r"venv|VIRTUAL_ENV|pyenv|rbenv|nvm|poetry|pipx|brew --prefix|\.local/bin|JAVA_HOME|"
    r"ANDROID|FLUTTER|DENO_INSTALL|BUN_INSTALL|GEM_HOME|CONDA"
)


def searched_program(cmd: Command, w: Walker) -> tuple[str | None, list[Finding]]:
    """(the file a bare program name runs from the directories the command put first in
    PATH, or None; findings when that cannot be known)."""
    value = cmd.env.get("PATH")
    if not value or cmd.path is not None or "/" in cmd.name or w.remote is not None:
        return None, []
    for entry in value.split(":"):
        entry = entry.rstrip("/") or "."  # an empty entry is the current directory
        if entry in _INHERITED or entry in _SYSTEM:
            return None, []  # the usual program, installed
        if "$" in entry or "`" in entry:
            if _TOOL_HINT.search(entry):
                continue
            reason = f"runs {cmd.name} from a search path chosen at run time ({entry})"
            return None, [unknown(reason, cmd.text)]
        candidate = posixpath.join(entry, cmd.name)
        if load(w, candidate, cmd.cwd).state != "missing":
            return candidate, []
    return None, []
