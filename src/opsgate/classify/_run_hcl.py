"""Just enough HCL to find the commands a terraform or terragrunt file names.

Blocks (``data "external" "x" { … }``, ``before_hook "h" { … }``), their attributes
(``program = [ … ]``), and function calls (``run_cmd("…")``) are found in the text with
comments blanked; a value is read as a string, a heredoc, or a list of them.  An
interpolation this reading can resolve (``${path.module}``) is replaced; any other
(``${var.x}``), and any value that is no literal (``var.cmd``), is a piece known only
when the tool runs (``_run_hooks.RUNTIME``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from opsgate.classify._run_hooks import RUNTIME

__all__ = ["Block", "Value", "attribute", "blocks", "calls", "uncommented"]

Value = str | list["Value"] | None  # None: an expression that is no literal
Resolve = Callable[[str], str | None]  # an interpolation's text -> its value, or None

_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|//[^\n]*|/\*.*?\*/', re.S)
_HEREDOC = re.compile(r"<<-?\s*([A-Za-z_]\w*)\n(.*?)^\s*\1\s*$", re.S | re.M)
_MAX_TEXT = 256 * 1024
_MAX_ITEMS = 64  # blocks of a kind, calls of a function, items of a list


def uncommented(text: str) -> str:
    """``text`` with its comments blanked (same length), strings kept."""
    text = text[:_MAX_TEXT]

    def blank(m: re.Match[str]) -> str:
        got = m.group(0)
        return got if got.startswith('"') else re.sub(r"[^\n]", " ", got)

    return _COMMENT_OR_STRING.sub(blank, text)


@dataclass(frozen=True, slots=True)
class Block:
    kind: str
    labels: tuple[str, ...]
    body: str
    start: int  # offset of the block's first character in the text


_BLOCK_HEAD = re.compile(
    r'(?m)^[ \t]*([A-Za-z_][\w-]*)((?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*)[ \t]*\{'
)


def blocks(text: str, kinds: frozenset[str]) -> Iterator[Block]:
    """Blocks of these kinds anywhere in ``text`` (uncommented), nested ones included
    (the first ``_MAX_ITEMS``)."""
    found = 0
    for m in _BLOCK_HEAD.finditer(text):
        if m.group(1) not in kinds:
            continue
        found += 1
        if found > _MAX_ITEMS:
            return
        end = _closing(text, m.end() - 1, "{", "}")
        labels = tuple(re.findall(r'"([^"\n]*)"|([A-Za-z_][\w-]*)', m.group(2)))
        yield Block(
            m.group(1),
            tuple(a or b for a, b in labels),
            text[m.end() : end if end is not None else len(text)],
            m.start(),
        )


def attribute(body: str, name: str, resolve: Resolve) -> tuple[bool, Value]:
    """(whether ``name = …`` is set in ``body``, its value)."""
    m = re.search(rf"(?m)^[ \t]*{re.escape(name)}[ \t]*=(?!=)[ \t]*", body)
    if m is None:
        return False, None
    return True, _value(body, m.end(), resolve)[0]


def calls(text: str, function: str, resolve: Resolve) -> Iterator[tuple[int, list[Value]]]:
    """``function(a, b …)`` calls: (offset, the arguments); the first ``_MAX_ITEMS``."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(function)}\s*\(")
    for m in itertools.islice(pattern.finditer(text), _MAX_ITEMS):
        items, _ = _items(text, m.end(), ")", resolve)
        yield m.start(), items


def _value(text: str, i: int, resolve: Resolve) -> tuple[Value, int]:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    if text.startswith('"', i):
        return _string(text, i, resolve)
    if text.startswith("[", i):
        items, end = _items(text, i + 1, "]", resolve)
        return items, end
    heredoc = _HEREDOC.match(text, i)
    if heredoc is not None:
        return _interpolated(heredoc.group(2), resolve), heredoc.end()
    return None, _expression_end(text, i)


def _items(text: str, i: int, close: str, resolve: Resolve) -> tuple[list[Value], int]:
    items: list[Value] = []
    while i < len(text) and len(items) < _MAX_ITEMS:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] == close:
            return items, i + 1
        value, end = _value(text, i, resolve)
        items.append(value)
        i = max(end, i + 1)
    return items, i


def _expression_end(text: str, i: int) -> int:
    """Where an expression that is no literal ends: at a comma, a closing bracket or a
    line end outside any brackets it opened."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            _, i = _string(text, i, lambda _x: None)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif c in ",\n" and depth == 0:
            return i
        i += 1
    return i


def _string(text: str, i: int, resolve: Resolve) -> tuple[str, int]:
    """The HCL string starting at ``text[i]`` (a quote): its value and end."""
    out: list[str] = []
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\" and j + 1 < len(text):
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(text[j + 1], text[j + 1]))
            j += 2
        elif c == '"' or c == "\n":
            return "".join(out), j + 1
        elif text.startswith(("${", "%{"), j) and not text.startswith(("$${", "%%{"), j - 1):
            end = _closing(text, j + 1, "{", "}")
            if end is None:
                return "".join(out) + RUNTIME, len(text)
            inner = text[j + 2 : end].strip()
            got = resolve(inner) if c == "$" else None
            out.append(got if got is not None else RUNTIME)
            j = end + 1
        else:
            out.append(c)
            j += 1
    return "".join(out), j


def _interpolated(text: str, resolve: Resolve) -> str:
    return _string('"' + text.replace('"', '\\"') + '"', 0, resolve)[0]


def _closing(text: str, i: int, open_: str, close: str) -> int | None:
    """The index of the bracket closing the one at ``text[i]``; strings skipped."""
    depth = 0
    j = i
    while j < len(text):
        c = text[j]
        if c == '"':
            k = j + 1
            while k < len(text) and text[k] not in '"\n':
                k += 2 if text[k] == "\\" else 1
            j = k + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return None
