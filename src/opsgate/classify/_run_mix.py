"""Which of mix.exs's aliases a ``mix TASK`` runs.

``aliases: [lint: ["format --check-formatted", "credo"], deploy: ["cmd fly deploy …"]]``:
``mix lint`` runs the lint alias (and the aliases it names in turn), never the deploy
one.  The alias list is read as data — keys at its top level, each value a string or
a list of strings — and the rest of mix.exs is judged as before.  A list opsgate cannot
read this way leaves the whole file judged (``_run_buildfiles``).
"""

from __future__ import annotations

import re

__all__ = ["mix_parts"]

_ALIASES = re.compile(r"\bdefp?\s+aliases\s*(?:\(\s*\))?\s*do\s*\[|\baliases:\s*\[")
_KEY = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][\w.!?]*))\s*:\s')


def mix_parts(text: str, task: str | None) -> tuple[str, list[str]] | None:
    """(mix.exs without its alias list, the alias values ``task`` runs), or None when
    the list cannot be read."""
    match = _ALIASES.search(text)
    if match is None:
        return None
    end = _closing(text, match.end() - 1)
    if end is None:
        return None
    entries = _entries(text[match.end() : end])
    if entries is None:
        return None
    rest = text[: match.start()] + text[end + 1 :]
    return rest, _chain(entries, task)


def _closing(text: str, start: int) -> int | None:
    """The index of the ``]`` that closes the ``[`` at ``start`` (strings skipped)."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _string_end(text, i)
            continue
        if char in "[({":
            depth += 1
        elif char in "])}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _string_end(text: str, i: int) -> int:
    j = i + 1
    while j < len(text) and text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _entries(body: str) -> dict[str, str] | None:
    """``key: value`` pairs at the top level of the list body."""
    out: dict[str, str] = {}
    i = 0
    while i < len(body):
        if body[i] in " \t\r\n,":
            i += 1
            continue
        key = _KEY.match(body, i)
        if key is None:
            return None
        value_start, j, depth = key.end(), key.end(), 0
        while j < len(body):
            char = body[j]
            if char == '"':
                j = _string_end(body, j)
                continue
            if char in "[({":
                depth += 1
            elif char in "])}":
                depth -= 1
            elif char == "," and depth == 0:
                break
            j += 1
        out[key.group(1) or key.group(2)] = body[value_start:j]
        i = j + 1
    return out


def _chain(entries: dict[str, str], task: str | None) -> list[str]:
    """The values of ``task``'s alias and of every alias it names (each once)."""
    out: list[str] = []
    queue, seen = [task] if task else [], set[str]()
    while queue:
        name = queue.pop(0)
        if name in seen or name not in entries:
            continue
        seen.add(name)
        value = entries[name]
        out.append(value)
        for string in re.findall(r'"((?:[^"\\]|\\.)*)"', value):
            queue.append(string.split(None, 1)[0] if string.strip() else "")
    return out
