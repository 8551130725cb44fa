"""The program yarn's configuration runs in yarn's place (npm's ``.npmrc``:
``_run_npmrc``).

``yarnPath: .yarn/releases/x.cjs`` in ``.yarnrc.yml`` makes every ``yarn`` command
run that file instead of yarn.  The nearest ``.yarnrc.yml`` above the working
directory is read when yarn runs, and the file it names is judged as JavaScript;
yarn's own release bundle, too large to read, is taken as yarn.
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
_RELEASE = re.compile(r"(^|/)\.yarn/releases/yarn-[0-9][\w.+-]*\.c?js$")
_YARN_PATH = re.compile(r"""(?m)^\s*yarnPath\s*:\s*["']?([^"'\n#]+?)["']?\s*(?:#.*)?$""")


def manager_config_programs(cmd: Command, w: Walker) -> list[Finding]:
    """Findings for what ``cmd``'s configuration files make the package manager run."""
    if w.remote is not None:
        return []
    start = cmd.cwd or w.scope.cwd or w.workspace.project or "/"
    findings: list[Finding] = []
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


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
