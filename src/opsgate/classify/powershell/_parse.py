"""Loading the tree-sitter-powershell grammar, parsing, and recovery from the
grammar's known gaps; small helpers over syntax nodes."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["descendants", "first", "first_error", "parse", "text"]

_PARSER: Any = None


def _parser() -> Any:
    """The tree-sitter parser, built on first use.

    The ``tree_sitter_powershell`` package's ``__init__`` imports
    ``importlib.resources`` (for query files we never use), which costs several
    milliseconds on every hook start.  Loading only the compiled ``_binding``
    extension through its spec skips that import.
    """
    global _PARSER
    if _PARSER is None:
        from tree_sitter import Language, Parser

        spec = importlib.util.find_spec("tree_sitter_powershell")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("tree_sitter_powershell is not installed")
        folder = Path(next(iter(spec.submodule_search_locations)))
        binary = next(iter(sorted(folder.glob("_binding*"))))
        bspec = importlib.util.spec_from_file_location("tree_sitter_powershell._binding", binary)
        if bspec is None or bspec.loader is None:
            raise ImportError(f"cannot load {binary}")
        module = importlib.util.module_from_spec(bspec)
        bspec.loader.exec_module(module)
        _PARSER = Parser(Language(module.language()))
    return _PARSER


def parse(script: str) -> tuple[Any, str]:
    """Parse ``script``, retrying the grammar's known gaps; (tree, source used)."""
    tree = _parser().parse(script.encode("utf-8", "replace"))
    if tree.root_node.has_error:
        fixed = _recover(script)
        if fixed != script:
            retry = _parser().parse(fixed.encode("utf-8", "replace"))
            if not retry.root_node.has_error:
                return retry, fixed
    return tree, script


# --------------------------------------------------------------------------- recovery

# The grammar rejects four ordinary argument-mode forms: a bareword that starts
# with a variable and continues as a path (``$env:TEMP\x``), a comma list with or
# without spaces (``.\bin, .\obj``), a bare end-of-options marker
# (``npm run build -- --mode dev``, ``git checkout -- .``), and a native program's
# ``--flag=value`` (``kubectl logs --tail=100``, ``--format='{{.Names}}'``).  Each
# means the same as a double-quoted word, a list of quoted words, a quoted ``'--'``
# and one quoted ``'--flag=value'``, so on a parse error we retry with that spelling.
_VAR_PATH = re.compile(r"(?<![\w\"'`$])(\$(?:\{[^}]*\}|[\w:]+)[\\/][^\s,;|)}\"'`]*)")
_BARE = r"[^\s,;|(){}\[\]'\"`$@=]+"
_BARE_LIST = re.compile(rf"(?<=[\s,])({_BARE}(?:[ \t]*,[ \t]*{_BARE})+)(?=[\s;|)]|$)")
_DASHDASH = re.compile(r"(?<=[ \t])--(?=[ \t]|$)", re.MULTILINE)
_FLAG = r"--?[A-Za-z][\w.-]*="
# The value may hold commas (``--select=E,F``, ``-l=app=api,tier=web``): still one word.
_FLAG_VALUE = re.compile(rf"(?<=[ \t])({_FLAG}[^\s;|(){{}}'\"`]+)(?=[\s;|)}}]|$)")
# ``-o jsonpath='{.items[0]}'``: a native argument ``name=`` glued to a quoted value.
_FLAG_OPEN = re.compile(r"(?<=[ \t])((?:--?)?[A-Za-z][\w.-]*=)$")


def _quote_list(match: re.Match[str]) -> str:
    return ",".join(f"'{item.strip()}'" for item in match.group(1).split(","))


def _recover(script: str) -> str:
    out: list[str] = []
    flag = ""  # ``--flag=`` whose value is the quoted string that follows
    for code, chunk in _split_quoted(script):
        if flag and not code and chunk[:1] in ("'", '"'):
            # ``--format='{{.Names}}'`` is the one word ``--format={{.Names}}``.
            chunk, flag = chunk[0] + flag + chunk[1:], ""
        elif code:
            chunk = _BARE_LIST.sub(_quote_list, _VAR_PATH.sub(r'"\1"', chunk))
            chunk = _DASHDASH.sub("'--'", chunk)
            chunk = _FLAG_VALUE.sub(lambda m: f"'{m.group(1)}'", chunk)
            opened = _FLAG_OPEN.search(chunk)
            if opened:
                flag, chunk = opened.group(1), chunk[: opened.start()]
        out.append(chunk)
    return "".join([*out, flag])


def _split_quoted(script: str) -> Iterator[tuple[bool, str]]:
    """Yield (is_code, text) chunks, strings and comments being not code."""
    i, start, n = 0, 0, len(script)
    while i < n:
        ch = script[i]
        end = -1
        if ch == "'" or ch == '"':
            end = i + 1
            while end < n and script[end] != ch:
                end += 2 if script[end] == "`" else 1
            end += 1
        elif ch == "#":
            end = script.find("\n", i)
            end = n if end < 0 else end
        elif script.startswith("<#", i):
            end = script.find("#>", i)
            end = n if end < 0 else end + 2
        if end >= 0:
            yield True, script[start:i]
            yield False, script[i:end]
            start = i = end
        else:
            i += 1
    yield True, script[start:]


# --------------------------------------------------------------------------- nodes


def text(node: Any) -> str:
    return bytes(node.text).decode("utf-8", "replace")


def first(node: Any, kind: str) -> Any:
    """The first direct child of type ``kind``, or None."""
    for child in node.children:
        if child.type == kind:
            return child
    return None


def first_error(root: Any) -> Any:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def descendants(node: Any, kind: str) -> Iterator[Any]:
    stack = list(node.named_children)
    while stack:
        child = stack.pop()
        if child.type == kind:
            yield child
        else:
            stack.extend(child.named_children)
