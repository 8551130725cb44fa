"""More shell routes into files that run by themselves: ``awk -i inplace``, ``ed`` and
``ex``/``vim -c`` scripts, ``dd of=``, Python's ``open(…).write`` and Node's
``fs.writeFileSync`` in ``-c``/``-e`` code, and ``direnv allow`` (which makes the
``.envrc`` on disk run on every ``cd``).  Each is read like ``sed -i``: the text the
command's own words add, else ``unknown``."""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify._autorun import kind_of
from opsgate.classify._autorun_edits import sed_pieces
from opsgate.classify._autorun_shell import _content, _judged, _target
from opsgate.classify._command import Command
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["MORE_WRITERS"]

Pieces = list[tuple[str, str]]


def _pieces_into(cmd: Command, w: Walker, files: list[str], pieces: Pieces | None,
                 why: str) -> list[Finding]:  # fmt: skip
    out: list[Finding] = []
    for path in files:
        target = _target(w, path, cmd.cwd)
        if target is None:
            continue
        if pieces is None:
            out += _judged(w, target[0], target[1], cmd.text, opaque=why)
        else:
            out += _judged(w, target[0], target[1], cmd.text, pieces=tuple(pieces))
    return out


# --- awk -i inplace ------------------------------------------------------------------------
_AWK_VALUE = frozenset({"-f", "--file", "-v", "--assign", "-F", "--field-separator", "-i",
                        "--include", "-l", "--load", "-E", "--exec"})  # fmt: skip
_AWK_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_AWK_BUILDS = re.compile(r"\b(sprintf|substr|toupper|tolower|getline|system|printf)\b|%c")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "/": "/", "a": "\a"}


def _awk(cmd: Command, w: Walker) -> list[Finding]:
    words = list(cmd.words)
    includes, assigns, operands, from_file = [], [], [], False
    i = 0
    while i < len(words):
        word = words[i]
        head, eq, value = word.partition("=")
        if word in _AWK_VALUE and i + 1 < len(words):
            value = words[i + 1]
            includes += [value] if word in ("-i", "--include") else []
            assigns += [value] if word in ("-v", "--assign") else []
            from_file = from_file or word in ("-f", "--file", "-E", "--exec")
            i += 2
            continue
        if eq and head in ("--include", "--assign", "--file"):
            (includes if head == "--include" else assigns).append(value)
            from_file = from_file or head == "--file"
        elif word.startswith(("-i", "-v", "-f")) and len(word) > 2 and not word.startswith("--"):
            (includes if word[1] == "i" else assigns).append(word[2:])
            from_file = from_file or word[1] == "f"
        elif not word.startswith("-") or word == "-":
            operands.append(word)
        i += 1
    if not any(x.removesuffix(".awk") == "inplace" for x in includes):
        return []
    program = "" if from_file else (operands.pop(0) if operands else "")
    files = [x for x in operands if not re.match(r"^[A-Za-z_]\w*=", x)]
    pieces: Pieces | None = None
    if not from_file and not _AWK_BUILDS.search(program):
        pieces = [("", text) for text in _awk_strings(program)]
        pieces += [("", a.partition("=")[2]) for a in assigns]
    return _pieces_into(cmd, w, files, pieces, "awk builds the text in a way opsgate cannot read")


def _awk_strings(program: str) -> list[str]:
    """The program's string literals, adjacent ones joined (awk concatenates them)."""
    out: list[str] = []
    end = -1
    for match in _AWK_STRING.finditer(program):
        text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), match.group(1))
        if out and not program[end : match.start()].strip():
            out[-1] += text
        else:
            out.append(text)
        end = match.end()
    return out


# --- ed and ex scripts ----------------------------------------------------------------------
_ADDRESS = r"(?:[\d$.,;+\-%]|/(?:[^/\\]|\\.)*/|\?(?:[^?\\]|\\.)*\?|'[a-z])*"
_TEXT_CMD = re.compile(rf"^\s*{_ADDRESS}\s*(a|i|c|append|insert|change)!?(?:\s*\|\s?|\s+)?(.*)$",
                       re.DOTALL)  # fmt: skip
_SUBST = re.compile(rf"^\s*(?:g/(?:[^/\\]|\\.)*/)?{_ADDRESS}\s*(s\W.*)$", re.DOTALL)
_INSERTS = re.compile(r"^[^iaoOIAsSC]*?(?:cc|[iaoOIAsSC])(.*)$", re.DOTALL)
_NORMAL = re.compile(rf"^\s*{_ADDRESS}\s*norm(?:al)?!?\s+(.*)$", re.DOTALL)
# Commands that bring in text or run programs opsgate cannot see from the words.
_OPAQUE = re.compile(rf"^\s*{_ADDRESS}\s*(r|read|e|edit|E|!|so|source|py\w*|lua|perl|ruby|"
                     r"exe\w*|call|put|pu|let|redir)\b|^\s*%?!")  # fmt: skip


def _editor_lines(lines: list[str]) -> Pieces | None:
    """What an ed/ex script adds: ``a``/``i``/``c`` text (up to a lone ``.``, or after
    ``|`` on the same line), ``s`` replacements, ``normal`` keys."""
    pieces: Pieces = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        text = _TEXT_CMD.match(line)
        if text is not None:
            if text.group(2).strip():
                pieces.append(("", text.group(2)))
                continue
            block = []
            while i < len(lines) and lines[i] != ".":
                block.append(lines[i])
                i += 1
            i += 1
            pieces.append(("", "\n".join(block)))
        elif _OPAQUE.match(line):
            return None
        elif (subst := _SUBST.match(line)) is not None:
            found = sed_pieces([subst.group(1)])
            if found is None:
                return None
            pieces += found
        elif (keys := _NORMAL.match(line)) is not None:
            typed = _INSERTS.match(keys.group(1))  # motions, then a key that starts typing
            pieces.append(("", typed.group(1) if typed else keys.group(1)))
    return pieces


def _ed(cmd: Command, w: Walker) -> list[Finding]:
    files = [a.value for a in cmd.positionals(("-p", "--prompt"))]
    text = cmd.stdin.text if cmd.stdin is not None else None
    pieces = _editor_lines(text.split("\n")) if text is not None else None
    return _pieces_into(cmd, w, files, pieces, "its ed script cannot be read from the command")


# Options that take a value; ``-c`` and ``--cmd`` values are commands, also in a bundle
# ending in ``c`` (``-sc CMD``).
_EX_VALUE = frozenset({"-S", "-u", "-i", "-T", "-w", "-W", "-t", "-q", "-r", "-U"})


def _ex(cmd: Command, w: Walker) -> list[Finding]:
    words = list(cmd.words)
    scripts: list[str] = []
    files: list[str] = []
    flags = ""
    i = 0
    while i < len(words):
        word = words[i]
        if (word == "--cmd" or re.fullmatch(r"-[a-zA-Z]*c", word)) and i + 1 < len(words):
            flags += word[1:-1]
            scripts.append(words[i + 1])
            i += 2
            continue
        if word in _EX_VALUE:
            flags += word[1:]
            i += 2
            continue
        if word.startswith("+"):
            scripts.append(word[1:])
        elif word.startswith("-c") and len(word) > 2:
            scripts.append(word[2:])
        elif word.startswith("-") and not word.startswith("--"):
            flags += word[1:]
        elif not word.startswith("-"):
            files.append(word)
        i += 1
    silent = cmd.name == "ex" or "e" in flags or "E" in flags
    if "S" in flags or (not silent and "s" in flags):
        return _pieces_into(cmd, w, files, None, "it runs an editor script from a file")
    lines = list(scripts)
    if cmd.stdin is not None and silent:
        if cmd.stdin.text is None:
            return _pieces_into(cmd, w, files, None, "its editor script comes from a pipe")
        lines += cmd.stdin.text.split("\n")
    if not lines:
        return []
    return _pieces_into(cmd, w, files, _editor_lines(lines), "its editor commands cannot be read")


# --- dd ------------------------------------------------------------------------------------
def _dd(cmd: Command, w: Walker) -> list[Finding]:
    given = dict(word.split("=", 1) for word in cmd.words if "=" in word)
    dest = given.get("of")
    target = _target(w, dest, cmd.cwd) if dest else None
    if target is None:
        return []
    kind, full = target
    append = "append" in given.get("oflag", "") or "notrunc" in given.get("conv", "")
    source = given.get("if")
    if source is not None:
        text = w.read_text(source, cmd.cwd)
        why = f"it is copied from {source}, which opsgate cannot read"
    else:
        text = cmd.stdin.text if cmd.stdin is not None else None
        why = "it comes from standard input opsgate cannot see"
    if text is None:
        return _judged(w, kind, full, cmd.text, opaque=why)
    return _content(w, kind, full, text, append, cmd.text)


# --- interpreters' own writes -----------------------------------------------------------------
def _python(cmd: Command, w: Walker) -> list[Finding]:
    code = cmd.option("-c")
    if code is None and cmd.stdin is not None and cmd.stdin.text is not None:
        code = cmd.stdin.text if not cmd.positionals(("-m", "-W", "-X")) or cmd.has("-") else None
    if not code:
        return []
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [f for path, text, mode in _python_writes(tree) for f in _wrote(cmd, w, path, text,
                                                                          mode)]  # fmt: skip


def _python_writes(tree: ast.AST) -> list[tuple[str, str | None, str]]:
    """(path, text or None, mode) for ``open(P, M)`` with a literal path, the text being
    every ``.write``/``.writelines`` literal in the code (None when one is not), and
    ``Path(P).write_text(T)``."""
    opened: list[tuple[str, str]] = []
    written: list[str | None] = []
    direct: list[tuple[str, str | None, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        args = node.args
        if name == "open" and args and _literal(args[0]) is not None:
            mode = _literal(args[1]) if len(args) > 1 else _keyword(node, "mode")
            if mode is not None and any(c in mode for c in "wax+"):
                opened.append((str(_literal(args[0])), mode))
        elif name in ("write", "writelines") and args:
            written.append(_literal(args[0]))
        elif name in ("write_text", "write_bytes") and isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Call) and owner.args and _literal(owner.args[0]) is not None:
                text = _literal(args[0]) if args else None
                direct.append((str(_literal(owner.args[0])), text, "w"))
    text = None if any(t is None for t in written) else "".join(t for t in written if t)
    return direct + [(path, text, mode) for path, mode in opened]


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        value = node.value
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        parts = [_literal(e) for e in node.elts]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p)
    return None


def _keyword(node: ast.Call, name: str) -> str | None:
    for keyword in node.keywords:
        if keyword.arg == name:
            return _literal(keyword.value)
    return None


_NODE_WRITE = re.compile(
    r"""\b(write|append)File(?:Sync)?\(\s*(['"`])([^'"`]+)\2\s*,\s*(?:(['"`])((?:\\.|(?!\4)[^\\])*)\4)?"""
)
_JS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _node(cmd: Command, w: Walker) -> list[Finding]:
    code = cmd.option("-e", "--eval", "-p", "--print")
    if not code:
        return []
    out: list[Finding] = []
    for match in _NODE_WRITE.finditer(code):
        raw = match.group(5)
        text = None
        if raw is not None and not (match.group(4) == "`" and "${" in raw):
            text = re.sub(r"\\(.)", lambda m: _JS_ESCAPES.get(m.group(1), m.group(1)), raw)
        mode = "a" if match.group(1) == "append" else "w"
        out += _wrote(cmd, w, match.group(3), text, mode)
    return out


def _wrote(cmd: Command, w: Walker, path: str, text: str | None, mode: str) -> list[Finding]:
    target = _target(w, path, cmd.cwd)
    if target is None:
        return []
    kind, full = target
    if text is None:
        return _judged(w, kind, full, cmd.text, opaque="the program builds the text it writes")
    return _content(w, kind, full, text, "a" in mode, cmd.text)


# --- direnv allow ----------------------------------------------------------------------------
def _direnv(cmd: Command, w: Walker) -> list[Finding]:
    """``direnv allow [PATH]``: the ``.envrc`` there runs in every shell that enters
    the directory from now on, so what it holds is judged as if it were written now."""
    words = [a.value for a in cmd.positionals()]
    if not words or words[0] not in ("allow", "permit", "grant"):
        return []
    given = words[1] if len(words) > 1 else "."
    full = w.workspace.expand(given, cmd.cwd or w.scope.cwd)
    if full is None or w.remote:
        return []
    if posixpath.basename(full) != ".envrc":
        full = posixpath.join(full, ".envrc")
    kind = kind_of(full)
    if kind is None:
        return []
    note = w.scope.files.get(full)
    text = note.text if note is not None else w.session.files.read_code(full)
    if text is None:
        return _judged(w, kind, full, cmd.text, opaque="opsgate cannot read the .envrc it allows")
    return _judged(w, kind, full, cmd.text, new=text)


MORE_WRITERS: dict[str, Callable[[Command, Walker], list[Finding]]] = {
    "awk": _awk,
    "gawk": _awk,
    "ed": _ed,
    "red": _ed,
    "ex": _ex,
    "vi": _ex,
    "vim": _ex,
    "nvim": _ex,
    "dd": _dd,
    "python": _python,
    "python3": _python,
    "node": _node,
    "direnv": _direnv,
}
