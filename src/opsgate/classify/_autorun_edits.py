"""What a stream editor or a patch adds to a file, read from its own words.

``sed`` scripts (``s///`` replacements, ``a``/``i``/``c`` text), ``jq``/``yq`` filters
(their string literals and ``--arg`` values, when the filter names a key whose value
runs) and unified diffs (their ``+`` lines).  Each returns ``(removed, added)`` pieces,
or None when what is added cannot be read from the words (``sed y``, ``e`` or ``r``,
a filter that builds strings), which the caller turns into ``unknown``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["diff_pieces", "filter_pieces", "sed_pieces"]

Pieces = list[tuple[str, str]]

# --- sed ---------------------------------------------------------------------------------
_SED_VALUE_OPTS = frozenset({"-e", "--expression", "-f", "--file", "-l", "--line-length"})
# An address (a line, ``$``, ``/regex/``, ``\cregexc``, ``first~step``), a range, ``!``.
_ONE_ADDRESS = r"(?:\d+(?:~\d+)?|\$|/(?:[^/\\\n]|\\.)*/[IM]*|\\(?P<d>.)(?:(?!(?P=d)).)*(?P=d))"
_ADDRESS = re.compile(rf"\s*(?:{_ONE_ADDRESS}\s*(?:,\s*(?:\d+|\$|/(?:[^/\\\n]|\\.)*/[IM]*|"
                      r"[+~]\d+))?\s*!?\s*)?")  # fmt: skip
_SIMPLE = frozenset("dDpPnNgGhHxlz=F{}")
_JUMPS = frozenset("bt:T")


def sed_scripts(words: Sequence[str]) -> list[str] | None:
    """The scripts of a sed command line (``-e`` values, or the first operand);
    None when a script comes from a file (``-f``)."""
    scripts: list[str] = []
    operands: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-f", "--file") or word.startswith("--file="):
            return None
        if word in ("-e", "--expression") and i + 1 < len(words):
            scripts.append(words[i + 1])
            i += 2
            continue
        if word.startswith("--expression="):
            scripts.append(word.split("=", 1)[1])
        elif word in _SED_VALUE_OPTS:
            i += 1
        elif not word.startswith("-") or word == "-":
            operands.append(word)
        i += 1
    if not scripts and operands:
        scripts.append(operands[0])
    return scripts


def sed_pieces(scripts: Sequence[str]) -> Pieces | None:
    pieces: Pieces = []
    for script in scripts:
        found = _sed_script(script)
        if found is None:
            return None
        pieces += found
    return pieces


def _sed_script(script: str) -> Pieces | None:
    pieces: Pieces = []
    i = 0
    while i < len(script):
        match = _ADDRESS.match(script, i)
        i = match.end() if match else i
        if i >= len(script):
            break
        cmd = script[i]
        if cmd in ";\n \t":
            i += 1
        elif cmd == "s":
            parsed = _substitution(script, i + 1)
            if parsed is None:
                return None
            pattern, replacement, i = parsed
            pieces.append((pattern, replacement))
        elif cmd in "aic":
            text, i = _sed_text(script, i + 1)
            pieces.append(("", text))
        elif cmd in _SIMPLE or cmd in _JUMPS:
            i = _line_end(script, i + 1) if cmd in _JUMPS else i + 1
        else:
            return None  # y, e, r, R, w, W and anything unknown: not readable from words
    return pieces


def _delimited(script: str, i: int, delim: str) -> tuple[str, int] | None:
    out = []
    while i < len(script):
        ch = script[i]
        if ch == "\\" and i + 1 < len(script):
            out.append(script[i : i + 2])
            i += 2
            continue
        if ch == delim:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return None


def _substitution(script: str, i: int) -> tuple[str, str, int] | None:
    """``s/PATTERN/REPLACEMENT/FLAGS`` → the pattern as text, the replacement as the
    text it puts in (``&`` is the matched text, ``\\1`` a word), the next index."""
    if i >= len(script):
        return None
    delim = script[i]
    first = _delimited(script, i + 1, delim)
    if first is None:
        return None
    pattern, i = first
    second = _delimited(script, i, delim)
    if second is None:
        return None
    replacement, i = second
    flags_end = i
    while flags_end < len(script) and script[flags_end] not in ";\n}":
        flags_end += 1
    flags = script[i:flags_end]
    if "e" in flags or "w" in flags:
        return None  # runs the result, or writes it to another file
    plain = re.sub(r"\\(.)", r"\1", pattern)
    return plain, _replacement(replacement, plain, delim), flags_end


def _replacement(text: str, matched: str, delim: str) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, "x" if nxt.isdigit() else nxt))
            i += 2
            continue
        out.append(matched if ch == "&" else ch)
        i += 1
    return "".join(out)


def _sed_text(script: str, i: int) -> tuple[str, int]:
    """The text of ``a``, ``i`` and ``c``: ``a text`` (leading blanks dropped), ``a\\text``
    (kept: the usual way to add an indented line) or ``a\\`` then lines ending in ``\\``."""
    if script.startswith("\\", i):
        i += 1
        if script.startswith("\n", i):
            i += 1
    else:
        while i < len(script) and script[i] in " \t":
            i += 1
    lines = []
    while True:
        end = _line_end(script, i)
        line = script[i:end]
        if line.endswith("\\"):
            lines.append(line[:-1])
            i = end + 1
            continue
        lines.append(line)
        return "\n".join(lines).replace("\\t", "\t"), end


def _line_end(script: str, i: int) -> int:
    end = script.find("\n", i)
    return len(script) if end < 0 else end


# --- jq / yq filters ---------------------------------------------------------------------
# Keys whose values run, in any of the files a filter may edit (package.json scripts and
# hooks, CI steps, devcontainer commands); a filter naming none of them adds nothing
# that runs.
_RUN_KEYS = re.compile(
    r"\b(scripts?|hooks|husky|simple-git-hooks|gitHooks|ghooks|lint-staged|pre-commit|pre-push|"
    r"commit-msg|post-merge|post-checkout|(pre|post)?install|prepare|prepack|postpack|"
    r"dependencies|\w+-cmd|post-autoload-dump|run|uses|commands?|entry|before_script|"
    r"after_script|\w+_script|bash|pwsh|powershell|inlineScript|\w+Command|terminal|"
    r"environment|deployment|steps|jobs|shell)\b"
)
# Filters that build strings or take them from elsewhere cannot be read from their words.
_BUILDS = re.compile(
    r"@base64d|\bimplode\b|\$ENV\b|\benv\b|\benv\(|\bstrenv\(|\binputs?\b|\bload(_str)?\(|"
    r"\bfromjson\b|\bltrimstr\b|\brtrimstr\b|\bg?sub\(|\bsplits?\b|\bjoin\b|\bascii|"
    r"\bfrom_?(yaml|json|base64)\b|\b@sh\b|\bformat\(|\binclude\b|\bimport\b|\$__|"
    r'"\s*\+|\+\s*"|\btostring\b|\\\('
)
_JQ_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_JQ_OPTS_TWO = frozenset({"--arg", "--argjson", "--slurpfile", "--rawfile"})
_JQ_OPTS_ONE = frozenset({"--indent", "-L", "-I", "--output-format", "-o", "-p",
                          "--input-format", "--front-matter", "--expression"})  # fmt: skip


def filter_pieces(words: Sequence[str]) -> Pieces | None:
    """What a jq/yq command can add: nothing if its filter names no key that runs;
    else its string literals and ``--arg`` values; None if it cannot be read."""
    program: str | None = None
    values: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-f", "--from-file", "--args", "--jsonargs", "--rawfile", "--slurpfile"):
            return None
        if word in _JQ_OPTS_TWO and i + 2 < len(words):
            values.append(words[i + 2])
            if word == "--argjson":
                values += _json_strings(words[i + 2])
            i += 3
            continue
        if word in _JQ_OPTS_ONE:
            i += 2
            continue
        if (
            not word.startswith("-")
            and program is None
            and word not in ("eval", "e", "ea", "eval-all")
        ):
            program = word
        i += 1
    if program is None:
        return []
    if _BUILDS.search(program):
        return None
    if not _RUN_KEYS.search(program) and not any(_RUN_KEYS.search(v) for v in values):
        return []
    literals = [_json_unquote(m.group(1)) for m in _JQ_STRING.finditer(program)]
    return [("", text) for text in literals + values if text.strip()]


def _json_unquote(body: str) -> str:
    try:
        value = json.loads(f'"{body}"')
    except json.JSONDecodeError:
        return body
    return value if isinstance(value, str) else body


def _json_strings(text: str) -> list[str]:
    try:
        value: Any = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return [text]
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack += list(item.keys()) + list(item.values())
        elif isinstance(item, list):
            stack += item
    return out


# --- unified diffs -----------------------------------------------------------------------
def diff_pieces(text: str, *, reverse: bool = False) -> dict[str, Pieces]:
    """File path (as the ``+++`` header names it) → (removed, added) per hunk."""
    files: dict[str, Pieces] = {}
    current: Pieces | None = None
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        if current is not None and (removed or added):
            pair = ("\n".join(removed), "\n".join(added))
            current.append((pair[1], pair[0]) if reverse else pair)
        removed.clear()
        added.clear()

    for line in text.splitlines():
        if line.startswith("+++ "):
            flush()
            path = line[4:].split("\t", 1)[0].strip()
            current = files.setdefault(path, [])
        elif line.startswith(("--- ", "diff ", "@@")):
            flush()
        elif current is not None and line.startswith("+"):
            added.append(line[1:])
        elif current is not None and line.startswith("-"):
            removed.append(line[1:])
    flush()
    return files
