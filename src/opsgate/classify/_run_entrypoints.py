"""An interpreter given an installed tool's own entry point is that tool.

``php vendor/bin/envoy run deploy`` is ``vendor/bin/envoy run deploy``, which is
``envoy run deploy``; so are ``node node_modules/.bin/prisma migrate reset``,
``node node_modules/prisma/build/index.js migrate reset`` and ``python3 -m twine
upload``.  A program in a tool directory is judged by its name (``_run_path``), never
read; the interpreter in front of it changes nothing.  The command is judged again as
the tool run by path, with every family's rules; ``python -m X`` and a package's own
file (``node_modules/prisma/…``) only when ``X`` is a tool opsgate knows by name (and,
for Python, not a module of the project, which ``python_module`` reads).
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["module_tool", "vendored_tool"]

# A package's own files under node_modules: its name is the tool's (``prisma``).
_NODE_PACKAGE = re.compile(r"(?:^|/)node_modules/(?:@[\w.-]+/)?([\w.-]+)/(?!\.bin/)")
# ``python -m NAME`` for tools whose module is not named as the program is.
_MODULE_TOOLS = {"awscli": "aws", "pre_commit": "pre-commit"}


def vendored_tool(
    w: Walker, cmd: Command, script: Arg, rest: tuple[Arg, ...]
) -> list[Finding] | None:
    """Findings for ``cmd`` running ``script`` when that is an installed tool's entry
    point; None when it is not (the file is then read as usual)."""
    from opsgate.classify._run_path import _TOOL_DIRS

    path = script.value
    full = w.workspace.expand(path, cmd.cwd or w.scope.cwd) if script.static else None
    if full is None or full in w.scope.files:
        return None  # built at run time, or written in this command: read as a file
    if _TOOL_DIRS.search(path):
        program = path
    else:
        from opsgate.classify import families

        # A package's own file is that tool only for tools opsgate knows by name; any
        # other file under node_modules (one the agent may have written) is read.
        package = _NODE_PACKAGE.search(path)
        if package is None or cmd.name not in ("node", "bun", "deno", "nodejs"):
            return None
        if families.handler_for(package.group(1)) is None:
            return None
        program = f"node_modules/.bin/{package.group(1)}"
    return _as_tool(w, cmd, program, rest)


def module_tool(w: Walker, cmd: Command, module: str, rest: tuple[Arg, ...]) -> list[Finding]:
    """``python -m twine upload``: an installed tool's module, judged as the tool."""
    from opsgate.classify import families

    name = _MODULE_TOOLS.get(module, module)
    if "." in name or families.handler_for(name) is None:
        return []
    return _as_tool(w, cmd, name, rest)


def _as_tool(w: Walker, cmd: Command, program: str, rest: tuple[Arg, ...]) -> list[Finding]:
    words = [shlex.quote(program), *(shlex.quote(a.value) if a.static else a.value for a in rest)]
    return w.classify_shell(" ".join(words), via=cmd.name, cwd=cmd.cwd, env=cmd.env)
