"""Turning tree-sitter word nodes into values.

A word is *static* when every part is known: literals, quotes, ANSI-C strings,
and variables whose values the classifier tracked.  Anything else (an unknown
variable, a command substitution) keeps its source text and marks the word
dynamic, so a handler can tell ``rm -rf "$DIR"`` from ``rm -rf build``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tree_sitter import Node

__all__ = ["Value", "brace_expand", "decode_ansi_c", "unescape_word"]

# Environment variables whose value the classifier can stand in for.
SECRET_VAR = re.compile(
    r"(SECRET|TOKEN|PASSW|PASSPHRASE|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH|SESSION_KEY|"
    r"_KEY$|^KEY$|DSN|DATABASE_URL|CONN(ECTION)?_STR)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    static: bool
    secret_vars: tuple[str, ...] = ()  # secret-looking variables whose value this word carries

    def __add__(self, other: Value) -> Value:
        return Value(
            self.text + other.text,
            self.static and other.static,
            self.secret_vars + other.secret_vars,
        )


EMPTY = Value("", True)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ANSI = re.compile(
    r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)", re.DOTALL
)
_ANSI_SIMPLE = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}


def unescape_word(text: str) -> str:
    """Backslash escapes in an unquoted word: ``r\\m`` is ``rm``; ``\\<newline>`` vanishes."""
    return _ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def decode_ansi_c(body: str) -> str:
    """The value of ``$'…'`` (without the ``$'`` and ``'``)."""

    def repl(m: re.Match[str]) -> str:
        esc = m.group(1)
        head = esc[0]
        if head == "x" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        if head in "uU" and len(esc) > 1:
            return chr(min(int(esc[1:], 16), 0x10FFFF))
        if head.isdigit():
            return chr(int(esc, 8) & 0xFF)
        if head == "c" and len(esc) == 2:
            return chr(ord(esc[1]) & 0x1F)
        return _ANSI_SIMPLE.get(esc, "\\" + esc)

    return _ANSI.sub(repl, body)


def _string_content(text: str) -> str:
    """Inside double quotes only ``\\$ \\` \\" \\\\`` and ``\\<newline>`` are escapes."""
    return re.sub(r'\\([$`"\\\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), text)


_BRACE = re.compile(r"^(.*?)\{([^{}]*,[^{}]*)\}(.*)$", re.DOTALL)


def brace_expand(word: str, limit: int = 64) -> list[str]:
    """``~/{.ssh,.aws}`` → ``~/.ssh ~/.aws`` (comma lists only, bounded)."""
    m = _BRACE.match(word)
    if not m:
        return [word]
    head, body, tail = m.groups()
    out: list[str] = []
    for part in body.split(","):
        for expanded in brace_expand(head + part + tail, limit):
            out.append(expanded)
            if len(out) >= limit:
                return out
    return out


Lookup = Callable[[str], str | None]
Substitute = Callable[[Node], Value]


class WordResolver:
    """Resolves word nodes using the walker's variables and command substitutions."""

    def __init__(self, lookup: Lookup, substitute: Substitute, positional: Mapping[str, str]):
        self._lookup = lookup
        self._substitute = substitute
        self._positional = positional

    def value(self, node: Node) -> Value:
        kind = node.type
        if kind == "command_name" and node.named_child_count == 1:
            child = node.named_children[0]
            return self.value(child)
        text = _text(node)
        if kind in ("word", "number", "extglob_pattern", "regex", "test_operator"):
            return Value(unescape_word(text), True)
        if kind == "raw_string":
            return Value(text[1:-1], True)
        if kind == "ansi_c_string":
            return Value(decode_ansi_c(text[2:-1]), True)
        if kind in ("string", "translated_string"):
            return self._string(node)
        if kind == "concatenation":
            out = EMPTY
            for child in node.children:
                out = out + self.value(child)
            return out
        if kind == "simple_expansion":
            return self._variable(text[1:], None)
        if kind == "expansion":
            return self._expansion(node)
        if kind in ("command_substitution", "process_substitution"):
            return self._substitute(node)
        if kind == "arithmetic_expansion":
            for child in node.children:
                self._visit_substitutions(child)
            return Value(text, False)
        if kind == "brace_expression":
            return Value(text, True)
        self._visit_substitutions(node)
        return Value(text, False)

    def _visit_substitutions(self, node: Node) -> None:
        if node.type in ("command_substitution", "process_substitution"):
            self._substitute(node)
            return
        for child in node.children:
            self._visit_substitutions(child)

    def _string(self, node: Node) -> Value:
        out = EMPTY
        for child in node.children:
            if child.type == '"':
                continue
            if child.type == "string_content":
                out = out + Value(_string_content(_text(child)), True)
            elif child.type == "$":
                out = out + Value("$", True)
            else:
                out = out + self.value(child)
        return out

    def _variable(self, name: str, default: Value | None) -> Value:
        secret = (name,) if SECRET_VAR.search(name) else ()
        if name in self._positional:
            return Value(self._positional[name], True)
        if name in ("@", "*") and "@" in self._positional:
            return Value(self._positional["@"], True)
        known = self._lookup(name)
        if known is not None:
            return Value(known, True, secret)
        if default is not None:
            return Value(default.text, default.static, secret + default.secret_vars)
        return Value("$" + name, False, secret)

    def _expansion(self, node: Node) -> Value:
        """``${NAME}``, ``${NAME:-default}``, ``${NAME:?msg}``, ``${NAME:0:8}``, ``${!ref}``."""
        children = [c for c in node.children if c.type not in ("${", "}")]
        if not children:
            return Value(_text(node), False)
        if children[0].type in ("!", "#"):
            # ${!ref} is indirection and ${#x} a length: neither is a value we know.
            for child in children:
                self._visit_substitutions(child)
            names = [_text(c) for c in children if c.type == "variable_name"]
            if children[0].type == "#":
                return Value(_text(node), False)  # a length discloses nothing
            return self._indirect(node, children, names)
        name_node = children[0]
        if name_node.type not in ("variable_name", "special_variable_name"):
            return Value(_text(node), False)
        name = _text(name_node)
        rest = children[1:]
        if not rest:
            return self._variable(name, None)
        op = _text(rest[0])
        operand = EMPTY
        for child in rest[1:]:
            operand = operand + self.value(child)
        if op in (":-", "-", ":=", "="):
            return self._variable(name, operand)
        if op in (":?", "?", ":+", "+"):
            return self._variable(name, None) if op in (":?", "?") else Value("", True)
        # Substrings and pattern removals of a known value are still derived from it.
        base = self._variable(name, None)
        return Value(_text(node), False, base.secret_vars)

    def _indirect(self, node: Node, children: list[Node], names: list[str]) -> Value:
        """``${!ref}``: the value of the variable whose name ``ref`` holds.  A known name
        is judged as that variable; a name chosen at run time (``compgen -v | while read
        v; … ${!v}``) may be any variable, secrets included.  ``${!prefix*}`` and
        ``${!prefix@}`` list names, not values."""
        text = _text(node)
        if len(names) != 1 or text.rstrip("}").endswith(("*", "@")) or len(children) != 2:
            return Value(text, False, tuple(n for n in names if SECRET_VAR.search(n)))
        target = self._lookup(names[0])
        if target is not None and _NAME.fullmatch(target):
            found = self._variable(target, None)
            return Value(text, False, found.secret_vars)
        return Value(text, False, (f"!{names[0]}",))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""
