"""Programs named by path: ``./fix.sh``, ``/abs/fix.sh``, ``scripts/x.py``, ``bin/rails``.

The file itself runs, so it is read and judged in the language of its ``#!`` line
(``_run_files``), in addition to what its name means to the family tables
(``bin/rails db:drop``).  Installed programs are not read: anything under a system
directory or a tool directory (``node_modules/.bin``, a virtualenv's ``bin``,
``~/.cargo/bin`` …) is the tool its name says.  Generated wrappers checked into
projects (``./gradlew``) are read but judged only by their concrete steps.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import Loaded, cannot, judge, load, script_language
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["WRAPPER_SCRIPTS", "run_path"]

# Where installed programs live: judged by their name, never read.
_SYSTEM_DIRS = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/", "/nix/", "/snap/",
                "/System/", "/Library/", "/Applications/", "/etc/", "/var/lib/")  # fmt: skip
_TOOL_DIRS = re.compile(
    r"(^|/)(node_modules/\.bin|\.?venv/bin|\.venv[^/]*/bin|env/bin|\.tox/[^/]+/bin|"
    r"\.nox/[^/]+/bin|vendor/bin|\.local/bin|\.cargo/bin|go/bin|\.bun/bin|\.deno/bin|"
    r"\.nvm/versions/[^/]+/[^/]+/bin|\.pyenv/(shims|versions)|\.rbenv/(shims|versions)|"
    r"\.volta/bin|\.asdf/(shims|installs)|\.sdkman/candidates|\.npm-global/bin|"
    r"\.yarn/bin|\.linuxbrew/bin|\.local/share/mise/installs|\.rustup/toolchains)/"
)
# Generated wrappers checked into projects (``./gradlew``): read, but judged only by
# the concrete steps in them; their portable shell is full of ``eval``.
WRAPPER_SCRIPTS = frozenset({"gradlew", "mvnw", "configure", "sbtx"})


def run_path(cmd: Command, w: Walker) -> list[Finding]:
    """``./fix.sh``, ``/abs/fix.sh``, ``scripts/x.py``: the file itself runs."""
    path = cmd.path
    if path is None:
        return []
    where = f"the script {path}"
    if w.remote is not None:
        if path.startswith(_SYSTEM_DIRS):
            return []
        return [cannot(Loaded(path, path, "remote"), where)]
    full = w.workspace.expand(path, cmd.cwd or w.scope.cwd)
    written = full is not None and full in w.scope.files
    if not written and (path.startswith(_SYSTEM_DIRS) or _TOOL_DIRS.search(path)):
        return []
    loaded = load(w, path, cmd.cwd)
    lenient = not written and cmd.name in WRAPPER_SCRIPTS
    lang = script_language(loaded.text) if loaded.text is not None else "shell"
    return judge(w, loaded, lang, where=where, cwd=cmd.cwd, args=cmd.args, lenient=lenient)
