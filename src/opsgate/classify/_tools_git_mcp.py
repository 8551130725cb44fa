"""The reference git MCP server (``mcp-server-git``): each tool is one git command on
the local repository at ``repo_path``, so it is judged as that command line.

``git_reset`` there only unstages (``git reset``), ``git_checkout`` switches branches,
``git_create_branch`` adds one: ordinary local work when the repository is the
project, and the shell classifier already knows when it is not (``git -C ~ …``).
A tool of that server not listed here falls back to the generic MCP rules.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from opsgate.models import Finding

__all__ = ["git_mcp_command"]

# tool → git arguments; "{key}" is the tool argument of that name (left out when
# absent or empty), "*key" spreads a list argument.
_TOOLS: dict[str, tuple[str, ...]] = {
    "git_status": ("status",),
    "git_diff_unstaged": ("diff",),
    "git_diff_staged": ("diff", "--cached"),
    "git_diff": ("diff", "{target}"),
    "git_log": ("log", "-n", "{max_count}"),
    "git_show": ("show", "{revision}"),
    "git_add": ("add", "--", "*files"),
    "git_commit": ("commit", "-m", "{message}"),
    "git_reset": ("reset",),
    "git_create_branch": ("branch", "{branch_name}", "{base_branch}"),
    "git_checkout": ("checkout", "{branch_name}"),
    "git_branch": ("branch", "--list"),
    "git_init": ("init",),
}


def git_mcp_command(
    name: str, args: dict[str, Any], shell: Callable[[str, str | None], list[Finding]]
) -> list[Finding] | None:
    """The findings of the git command this tool runs, or None when it is not one of
    the server's known tools or its arguments are not what the server takes."""
    template = _TOOLS.get(name)
    repo = args.get("repo_path")
    if template is None or not isinstance(repo, str) or not repo:
        return None
    argv = ["git", "-C", repo]
    for part in template:
        if part.startswith("{"):
            value = args.get(part[1:-1])
            if value is None or value == "":
                continue
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                return None
            argv.append(str(value))
        elif part.startswith("*"):
            values = args.get(part[1:])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                return None
            argv += values
        else:
            argv.append(part)
    return shell(shlex.join(argv), None)
