"""Extended globs (``shopt -s extglob``) the bash grammar cannot read, as plain globs.

With ``extglob`` on, ``rm -rf build/!(.gitkeep)`` deletes everything in ``build``
but ``.gitkeep``; tree-sitter-bash reads ``!(`` as the start of a subshell and fails,
and a parse error is ``unknown``.  Bash reads a script a line at a time and a
``shopt`` takes effect from the next line, so only lines after one that turns
``extglob`` on can hold such a pattern.  There, when (and only when) the grammar
fails, each pattern glued to a word (``?(…)``, ``*(…)``, ``+(…)``, ``@(…)``,
``!(…)``) is read as ``*``: every name it can match is one ``*`` matches in the same
place (a pattern never crosses a ``/``), so the command is judged on at least the
files it touches.  A line with quotes, substitutions or an unbalanced pattern is left
as it was (``unknown``).
"""

from __future__ import annotations

import re

__all__ = ["extglobs_as_globs"]

_TURNED_ON = re.compile(r"(?:^|[;&|]\s*)shopt\s+-s\s+(?:[\w-]+\s+)*extglob\b")
_PATTERN_START = re.compile(r"(?<=[^\s;&|()<>$`\\])[?*+@!]\(|(?<=[ \t])[?*+@!]\(")
_UNSURE = frozenset("'\"`$\\")


def extglobs_as_globs(script: str) -> str | None:
    """``script`` with the extended globs of lines after ``shopt -s extglob`` as
    ``*``, or None when there are none or one cannot be rewritten with certainty."""
    lines = script.split("\n")
    on = False
    changed = False
    for i, line in enumerate(lines):
        if on and _PATTERN_START.search(line):
            rewritten = _rewrite(line)
            if rewritten is None:
                return None
            lines[i], changed = rewritten, True
        on = on or bool(_TURNED_ON.search(line))
    return "\n".join(lines) if changed else None


def _rewrite(line: str) -> str | None:
    if _UNSURE & set(line):
        return None
    out: list[str] = []
    at = 0
    for match in _PATTERN_START.finditer(line):
        if match.start() < at:
            continue  # a pattern inside one already read as ``*``
        end = _closing(line, match.end())
        if end is None:
            return None
        out.append(line[at : match.start()] + "*")
        at = end + 1
    return "".join(out) + line[at:]


def _closing(line: str, start: int) -> int | None:
    """The index of the ``)`` that closes a pattern list opened just before ``start``."""
    depth = 1
    for i in range(start, len(line)):
        if line[i] == "(":
            depth += 1
        elif line[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        elif line[i] in " \t;&<>":
            return None  # a pattern list holds no blanks or operators
    return None
