"""Search tools that print matching lines: a credentials file's matching line is its value.

Claude Code's and Copilot CLI's ``Grep`` print lines with ``output_mode: "content"``
(their default, ``files_with_matches``, and ``count`` print names and counts);
Gemini CLI's ``grep_search`` always prints them (its adapter says so).  Such a search
is a secret read, as ``grep -r`` is in a shell (``families/_secrets_readers``), when
it looks where credentials are:

* a credentials directory (``~/.aws``, ``~/.ssh``), whatever the pattern;
* a file filter (Claude's ``glob``, Gemini's ``include``) that picks credentials files
  (``.env``, ``*.pem``), whatever the pattern;
* a pattern for secret values (``PRIVATE KEY``, ``password``) outside the project;
* a pattern that matches a credentials line (``.``, ``API_KEY``) over a directory
  holding a credentials file the search reads (asked of the file source; like
  ripgrep, dot files are not searched unless a filter names them).

Searching ordinary project files for code stays an ordinary read.  A search tool's
path defaults to the working directory, as the agents' own tools do.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from opsgate.classify._files import FileSource
from opsgate.classify.paths import Workspace, is_secret_dir, is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = ["SEARCH_TOOLS", "search_path", "search_secret"]

# File tools whose path is optional and means the working directory.
SEARCH_TOOLS = frozenset({"Grep", "Glob", "LS"})
_PRINTS_LINES = frozenset({"Grep"})
_NAMES_ONLY = frozenset({"files_with_matches", "count"})
_DEFAULT_MODE = "files_with_matches"  # Claude Code's and Copilot CLI's Grep
_FILTER_KEYS = ("glob", "include")
_BRACES = re.compile(r"\{([^{}]*)\}")


def search_path(tool: str, tool_input: dict[str, Any], cwd: str | None) -> dict[str, Any]:
    """``tool_input`` with the path a search tool uses when it names none: the
    working directory (unchanged for other tools and when a path is given)."""
    if tool not in SEARCH_TOOLS or any(
        tool_input.get(key) for key in ("file_path", "notebook_path", "path")
    ):
        return tool_input
    return {**tool_input, "path": cwd or "."}


def search_secret(
    tool: str, tool_input: dict[str, Any], raw: str, full: str, ws: Workspace, files: FileSource
) -> Finding | None:
    """The secret read a search that prints lines makes at ``full``, else None."""
    mode = tool_input.get("output_mode", _DEFAULT_MODE)
    if tool not in _PRINTS_LINES or (isinstance(mode, str) and mode in _NAMES_ONLY):
        return None
    if is_secret_dir(full):
        return _secret(raw, f"searches {raw}, a credentials directory, and shows the lines", full)
    for wanted in _filters(tool_input):
        picked = posixpath.join(full, wanted)
        if is_secret_path(picked) or is_secret_path(wanted):
            reason = f"searches {wanted!r} files in {raw}, credentials files, and shows the lines"
            return _secret(raw, reason, picked)
    pattern = tool_input.get("pattern")
    if not isinstance(pattern, str):
        return None
    from opsgate.classify.families._secrets_common import _SECRET_PATTERN
    from opsgate.classify.families._secrets_readers import matches_secret_line

    hunting = _SECRET_PATTERN.search(pattern) is not None
    project = ws.project
    outside = project is None or not (full == project or full.startswith(project + "/"))
    if hunting and outside:
        return _secret(raw, f"searches {raw} for secret values ({pattern[:60]!r})", full)
    ignore_case = tool_input.get("-i") is True
    if not (hunting or matches_secret_line(pattern, ignore_case, fixed=False)):
        return None
    found = files.secret_file_in(full, hidden=False)
    if found is None:
        return None
    reason = f"searches {raw} for {pattern[:60]!r}, and {found} holds such values"
    return _secret(raw, reason, found)


def _filters(tool_input: dict[str, Any]) -> list[str]:
    """The file-name filters a search applies, braces expanded (``*.{env,pem}``)."""
    out: list[str] = []
    for key in _FILTER_KEYS:
        value = tool_input.get(key)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and item:
                out += _expand(item)
    return out[:64]


def _expand(pattern: str) -> list[str]:
    """Brace alternatives, breadth first, at most 64 names."""
    done: list[str] = []
    todo = [pattern]
    while todo and len(done) + len(todo) <= 64:
        item = todo.pop(0)
        match = _BRACES.search(item)
        if match is None:
            done.append(item)
            continue
        head, tail = item[: match.start()], item[match.end() :]
        todo += [head + alt + tail for alt in match.group(1).split(",")]
    return done + todo[: max(0, 64 - len(done))]


def _secret(raw: str, reason: str, target: str) -> Finding:
    return Finding("secrets.read", Impact.CAUTION, Effect.SECRET, raw[:200], reason, target)
