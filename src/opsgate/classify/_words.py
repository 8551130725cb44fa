"""Turning tree-sitter word nodes into values.

A word is *static* when every part is known: literals, quotes, ANSI-C strings,
and variables whose values the classifier tracked.  Anything else (an unknown
variable, a command substitution) keeps its source text and marks the word
dynamic, so a handler can tell ``rm -rf "$DIR"`` from ``rm -rf build``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tree_sitter import Node

__all__ = [
    "Value",
    "brace_expand",
    "decode_ansi_c",
    "heredoc_lead",
    "unescape_word",
]

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
    if "\\" not in text:
        return text  # most words: nothing to undo, no regular expression run
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


_DQ_ESCAPE = re.compile(r'\\([$`"\\\n])')
_HEREDOC_ESCAPE = re.compile(r"\\([$`\\\n])")


def _string_content(text: str) -> str:
    """Inside double quotes only ``\\$ \\` \\" \\\\`` and ``\\<newline>`` are escapes."""
    return _DQ_ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def heredoc_content(text: str) -> str:
    """An unquoted here-doc keeps ``\\"``; ``\\$ \\` \\\\`` and ``\\<newline>`` are escapes."""
    return _HEREDOC_ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def heredoc_lead(body: Node) -> tuple[str, bool]:
    """The start of a here-doc that the grammar leaves out of the body node, and
    whether that is only blank lines and blanks (else the grammar misread it: a
    body starting with ``\\ `` or ``\\$``).  ``<<-`` strips each line's leading
    tabs, as bash does."""
    redirect = body.parent
    if redirect is None or redirect.text is None:
        return "", True
    start = next((c for c in redirect.children if c.type == "heredoc_start"), None)
    if start is None:
        return "", True
    base = redirect.start_byte
    head = redirect.text[start.end_byte - base : body.start_byte - base]
    if b"\n" not in head:
        return "", True
    skipped = head.split(b"\n", 1)[1].decode("utf-8", "replace")  # after the `<<EOF` line
    if skipped.strip(" \t\n"):
        return skipped, False
    if any(c.type == "<<-" for c in redirect.children):
        return "\n".join(line.lstrip("\t") for line in skipped.split("\n")), True
    return skipped, True


def _heredoc_closed(body: Node) -> bool:
    """The grammar found the delimiter line where it says the body ends."""
    redirect = body.parent
    if redirect is None:
        return False
    start = next((c for c in redirect.children if c.type == "heredoc_start"), None)
    end = next((c for c in redirect.children if c.type == "heredoc_end"), None)
    if start is None or end is None:
        return False
    word = _text(start).strip("'\"\\")
    return _text(end).strip() == word


# The tokens an expansion starts with (tree-sitter names them by their text).
_OPENERS = frozenset({"$", "${", "$(", "$((", "$[", "`"})


def glued_lead(node: Node) -> int:
    """Bytes of literal text the grammar glued to the front of an expansion: in
    ``"\\ $x"`` the ``$`` token reads ``\\ $``, though ``\\ `` is two literal
    characters of the string."""
    first = node.children[0] if node.children else None
    if first is None or first.type not in _OPENERS or first.text is None:
        return 0
    opener = first.type.encode()
    return len(first.text) - len(opener) if first.text.endswith(opener) else 0


def literal_runs(node: Node, literal: frozenset[str]) -> list[str | Node]:
    """The parts of a double-quoted string or here-doc body, in order: runs of
    literal source text, and the expansion nodes between them.

    tree-sitter-bash leaves some characters of such a body outside every child
    (the newline between two ``string_content`` nodes, the text before the first
    ``$x`` of a here-doc): they are taken from the source between the children,
    so ``sh -c "echo x<newline>rm -rf ~"`` keeps its newline.  Each literal run is
    returned whole (escapes may span two pieces), without the quotes."""
    raw = node.text or b""
    base = node.start_byte
    out: list[str | Node] = []
    pending = bytearray()
    pos = 0
    for child in node.children:
        start, end = child.start_byte - base, child.end_byte - base
        if child.type == '"':
            # The opening quote; or the closing one, whose token may hold the text
            # just before it (the grammar reads `"\\ "` as `"` and `\\ "`).
            pending += raw[pos : max(start, end - 1)] if start else b""
            pos = end
            continue
        pending += raw[pos:start]
        pos = end
        if child.type in literal:
            pending += raw[start:end]
            continue
        pending += raw[start : start + glued_lead(child)]
        if pending:
            out.append(pending.decode("utf-8", "replace"))
            pending = bytearray()
        out.append(child)
    if node.type not in ("string", "translated_string"):
        pending += raw[pos:]
    if pending:
        out.append(pending.decode("utf-8", "replace"))
    return out


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


# Children of a double-quoted string that are its own text (a lone ``$`` included).
_SIMPLE_EXPANSION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
# An unescaped `$` that starts an expansion, or a backtick, left in literal text: the
# grammar did not see an expansion bash will make (`$#` in a here-doc).
_MISSED_EXPANSION = re.compile(r"(?:^|[^\\])(?:\\\\)*(?:\$[A-Za-z0-9_@*#?$!{(\[-]|`)")
# A backslash-newline not itself escaped (an even run of backslashes before it).
_CONTINUATION = re.compile(r"(?<!\\)((?:\\\\)*)\\\n")
_STRING_LITERAL = frozenset({"string_content", "$"})
_HEREDOC_LITERAL = frozenset({"heredoc_content"})
Lookup = Callable[[str], str | None]
Substitute = Callable[[Node], Value]
_ARITH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARITH_COMPARE = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})


def compared_names(node: Node) -> list[str]:
    """The variables ``[[ A -eq B ]]`` evaluates as arithmetic (``[`` does not)."""
    if not node.children or node.children[0].type != "[[":
        return []
    names: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        operator = current.child_by_field_name("operator")
        if current.type == "binary_expression" and operator is not None:
            if _text(operator) in _ARITH_COMPARE:
                for side in ("left", "right"):
                    operand = current.child_by_field_name(side)
                    if operand is not None and operand.type == "word":
                        names += _ARITH_NAME.findall(_text(operand))
                    elif operand is not None:
                        names += _arithmetic_names(operand)
            continue
        stack.extend(current.named_children)
    return names


def _arithmetic_names(node: Node) -> list[str]:
    """The variables an arithmetic expression names (``x``, ``$x``, ``${x}``), outside
    its own command substitutions."""
    names: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("command_substitution", "process_substitution"):
            continue
        if current.type == "variable_name":
            names.append(_text(current))
            continue
        stack.extend(current.children)
    return names


class WordResolver:
    """Resolves word nodes using the walker's variables and command substitutions."""

    def __init__(
        self,
        lookup: Lookup,
        substitute: Substitute,
        positional: Mapping[str, str],
        origins: Mapping[str, str] | None = None,
        evaluated: Callable[[str], None] | None = None,
    ):
        self._lookup = lookup
        self._substitute = substitute
        self._positional = positional
        self._origins = origins if origins is not None else {}
        self._evaluated = evaluated

    def reads(self, positional: Mapping[str, str], origins: Mapping[str, str]) -> bool:
        """Whether this resolver reads exactly these mappings (the same objects)."""
        return self._positional is positional and self._origins is origins

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
            text = text[len((node.text or b"")[: glued_lead(node)].decode("utf-8", "replace")) :]
            if not _SIMPLE_EXPANSION.fullmatch(text):
                # The grammar's misreading (`"$<newline>$x"`, `"a$ b"`): not a value we know.
                return Value(text, False)
            return self._variable(text[1:], None)
        if kind == "expansion":
            return self._expansion(node)
        if kind in ("command_substitution", "process_substitution"):
            return self._substitute(node)
        if kind == "arithmetic_expansion":
            self.arithmetic(node)
            return Value(text, False)
        if kind == "brace_expression":
            return Value(text, True)
        self._visit_substitutions(node)
        return Value(text, False)

    def arithmetic(self, node: Node) -> None:
        """Run what an arithmetic evaluation runs: its own substitutions, and those in
        the values of the variables it names.  Bash evaluates a variable's value as an
        expression in turn, array subscripts included: with ``x='a[$(cmd)]'``,
        ``$((x))`` and ``((x))`` run ``cmd``."""
        for child in node.children:
            self._visit_substitutions(child)
        self.evaluate_names(_arithmetic_names(node))

    def evaluate_names(self, names: Iterable[str]) -> None:
        """Variables an arithmetic evaluation reads: a value holding a substitution runs
        it (``x=y``, ``y='a[$(cmd)]'``: each name is evaluated in turn)."""
        if self._evaluated is None:
            return
        for name in names:
            value = self._lookup(name)
            for _ in range(8):
                if value is None or not _ARITH_NAME.fullmatch(value):
                    break
                value = self._lookup(value)
            if value is not None and ("$(" in value or "`" in value):
                self._evaluated(value)

    def _visit_substitutions(self, node: Node) -> None:
        if node.type in ("command_substitution", "process_substitution"):
            self._substitute(node)
            return
        for child in node.children:
            self._visit_substitutions(child)

    def _string(self, node: Node) -> Value:
        return self._runs(node, _STRING_LITERAL, _string_content)

    def heredoc_body(self, node: Node) -> Value:
        """The text an unquoted here-doc feeds its command, expansions resolved."""
        lead, clean = heredoc_lead(node)
        if not clean or not _heredoc_closed(node):
            return Value(lead + _text(node), False)  # the grammar misread the body
        return Value(lead, True) + self._runs(node, _HEREDOC_LITERAL, heredoc_content)

    def _runs(self, node: Node, literal: frozenset[str], unescape: Callable[[str], str]) -> Value:
        """A body's literal runs unescaped and its expansions resolved.  A run in which
        bash would still see an expansion the grammar did not (`$#` in a here-doc, a
        `$` just before `$x`) makes the value unknown."""
        parts = literal_runs(node, literal)
        out = EMPTY
        for i, part in enumerate(parts):
            if isinstance(part, str):
                seen = part + ("$" if i + 1 < len(parts) else "")
                # Bash joins a backslash-newline before it expands: `$\<newline>#` is `$#`,
                # and `$x\<newline>b` is `$xb`.
                joined = _CONTINUATION.sub(r"\1", seen)
                before = parts[i - 1] if i else None
                extends = (
                    part.startswith("\\\n") and getattr(before, "type", "") == "simple_expansion"
                )
                static = not extends and not _MISSED_EXPANSION.search(joined)
                out = out + Value(unescape(part), static)
            else:
                out = out + self.value(part)
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
        return Value("$" + name + self._origins.get(name, ""), False, secret)

    def _expansion(self, node: Node) -> Value:
        """``${NAME}``, ``${NAME:-default}``, ``${NAME:?msg}``, ``${NAME:0:8}``, ``${!ref}``."""
        children = [c for c in node.children if c.type not in ("${", "}")]
        if not children:
            return Value(_text(node), False)
        if children[0].type == "subscript" or (
            children[0].type == "!" and len(children) == 2 and children[1].type == "subscript"
        ):
            return self._element(node, children)
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

    def _element(self, node: Node, children: list[Node]) -> Value:
        """``${ports[$s]}``, ``${hosts[@]}``, ``${!ports[@]}`` of an array whose elements
        the command spelt out (``_shell_arrays``); unknown otherwise."""
        from opsgate.classify._shell_arrays import element

        subscript = children[-1]
        index_node = subscript.child_by_field_name("index")
        index = self.value(index_node) if index_node is not None else None
        found = element(self._lookup, subscript, index, keys=children[0].type == "!")
        if found is None or len(children) != (2 if children[0].type == "!" else 1):
            return Value(_text(node), False, index.secret_vars if index is not None else ())
        return Value(found, True)

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
