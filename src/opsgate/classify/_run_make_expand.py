"""Make's variable expansion, as far as it can be done without running anything.

``expand`` returns the text and whether it is complete.  For a recipe (``recipe=True``)
the result is what make hands to the shell: ``$$`` becomes ``$``, ``$(shell CMD)``
becomes the shell's own ``$(CMD)``, an undefined variable becomes ``${NAME}`` (make
would take it from the environment) and an expansion opsgate cannot evaluate becomes
``${MAKE_EXPANSION}``, an unknown value to the shell walker.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from opsgate.classify._run_make_parse import Makefile

__all__ = ["Expander"]

_MAX_DEPTH = 24
_MAX_LEN = 64 * 1024
_MAX_STEPS = 4096
_UNRESOLVED = "${MAKE_EXPANSION}"
# Make's own defaults (``make -p``), for the names recipes use most.
_BUILTINS = {"MAKE": "make", "CC": "cc", "CXX": "g++", "CPP": "cc -E", "RM": "rm -f",
             "AR": "ar", "LD": "ld", "AS": "as", "FC": "f77", "YACC": "yacc", "LEX": "lex",
             "SHELL": "/bin/sh", "MAKEFLAGS": "", "MFLAGS": "", "ARFLAGS": "rv"}  # fmt: skip
_AUTOMATIC = frozenset("@<^+*?|%")


@dataclass
class Expander:
    mk: Makefile
    overrides: Mapping[str, str]
    env: Mapping[str, str]
    curdir: str | None = None
    shell_commands: list[str] = field(default_factory=list)
    wildcards: bool = False

    def lookup(self, name: str) -> str | None:
        if name in self.overrides:
            return self.overrides[name]
        if name in self.mk.variables:
            return self.mk.variables[name]
        if name in self.env:
            return self.env[name]
        if name in self.mk.conditional:
            return self.mk.conditional[name]
        if name == "CURDIR" and self.curdir:
            return self.curdir
        return _BUILTINS.get(name)

    def expand(
        self, text: str, auto: Mapping[str, str] | None = None, *, recipe: bool = False
    ) -> tuple[str, bool]:
        """``recipe``: the text is a recipe line, expanded for the shell."""
        return _Run(self, auto or {}, recipe).text(text, 0)


class _Run:
    """One expansion: its automatic variables, its mode, and whether it was complete."""

    def __init__(self, ex: Expander, auto: Mapping[str, str], shell: bool) -> None:
        self.ex, self.auto, self.shell = ex, auto, shell
        self.complete = True
        self.steps = 0  # references expanded: ``A = $(B)$(B)``, ``B = $(C)$(C)`` … doubles

    def text(self, text: str, depth: int) -> tuple[str, bool]:
        out = self._expand(text, depth)
        if len(out) > _MAX_LEN:
            out, self.complete = out[:_MAX_LEN], False
        return out, self.complete

    def _expand(self, text: str, depth: int) -> str:
        if "$" not in text:
            return text
        out: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch != "$" or i + 1 >= len(text):
                out.append(ch)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$" if self.shell else "$$")
                i += 2
            elif nxt in "({":
                end = _closing(text, i + 1)
                if end < 0:
                    out.append(self._unresolved())
                    break
                out.append(self._reference(text[i + 2 : end], depth))
                i = end + 1
            else:
                out.append(self._variable(nxt, depth))
                i += 2
        return "".join(out)

    def _unresolved(self) -> str:
        self.complete = False
        return _UNRESOLVED if self.shell else ""

    def _reference(self, inner: str, depth: int) -> str:
        self.steps += 1
        if depth > _MAX_DEPTH or self.steps > _MAX_STEPS:
            return self._unresolved()
        head, _, args = inner.partition(" ")
        if args and head in _FUNCTIONS:
            return _FUNCTIONS[head](self, args, depth)
        name = self._expand(inner, depth + 1)
        if ":" in name and "=" in name.split(":", 1)[1]:
            return self._substitution(name, depth)
        if len(name) == 2 and name[0] in _AUTOMATIC and name[1] in "DF":
            value = self._variable(name[0], depth)
            return posixpath.dirname(value) or "." if name[1] == "D" else posixpath.basename(value)
        return self._variable(name, depth)

    def _variable(self, name: str, depth: int) -> str:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            return self._unresolved()
        if name in _AUTOMATIC:
            if name in self.auto:
                return self.auto[name]
            return self._unresolved()
        value = self.ex.lookup(name)
        if value is None:
            if self.shell:
                return "${" + name + "}" if name.replace("_", "").isalnum() else _UNRESOLVED
            self.complete = False  # from the environment, unknown here
            return ""
        return self._expand(value, depth + 1)

    def _substitution(self, ref: str, depth: int) -> str:
        """``$(SRC:.c=.o)``, ``$(SRC:%.c=%.o)``."""
        name, _, spec = ref.partition(":")
        old, _, new = spec.partition("=")
        words = self._variable(name, depth).split()
        if "%" not in old:
            old, new = "%" + old, "%" + new
        return " ".join(_patsubst(old, new, w) for w in words)

    def call_args(self, args: str, depth: int, count: int) -> list[str]:
        parts = _split_args(args, count)
        return [self._expand(p, depth + 1) for p in parts]


_Fn = Callable[[_Run, str, int], str]


def _closing(text: str, start: int) -> int:
    opener = text[start]
    closer = ")" if opener == "(" else "}"
    level = 0
    for j in range(start, len(text)):
        if text[j] == opener:
            level += 1
        elif text[j] == closer:
            level -= 1
            if level == 0:
                return j
    return -1


def _split_args(args: str, count: int) -> list[str]:
    parts: list[str] = []
    level, start = 0, 0
    for j, ch in enumerate(args):
        if ch in "({":
            level += 1
        elif ch in ")}":
            level -= 1
        elif ch == "," and level == 0 and len(parts) < count - 1:
            parts.append(args[start:j])
            start = j + 1
    parts.append(args[start:])
    return parts


def _patsubst(pattern: str, replacement: str, word: str) -> str:
    if "%" not in pattern:
        return replacement if word == pattern else word
    pre, _, post = pattern.partition("%")
    if word.startswith(pre) and word.endswith(post) and len(word) >= len(pre) + len(post):
        stem = word[len(pre) : len(word) - len(post)]
        return replacement.replace("%", stem, 1)
    return word


def _fn_shell(run: _Run, args: str, depth: int) -> str:
    (command,) = run.call_args(args, depth, 1)
    run.ex.shell_commands.append(command)
    if run.shell:
        return f"$({command})"
    run.complete = False
    return ""


def _fn_wildcard(run: _Run, args: str, depth: int) -> str:
    run.ex.wildcards = True  # names of files on disk: sources, not targets
    return ""


def _fn_patsubst(run: _Run, args: str, depth: int) -> str:
    parts = run.call_args(args, depth, 3)
    if len(parts) < 3:
        return run._unresolved()
    pattern, replacement, text = parts
    return " ".join(_patsubst(pattern.strip(), replacement.strip(), w) for w in text.split())


def _fn_subst(run: _Run, args: str, depth: int) -> str:
    parts = run.call_args(args, depth, 3)
    if len(parts) < 3:
        return run._unresolved()
    return parts[2].replace(parts[0], parts[1]) if parts[0] else parts[2]


def _each_word(transform: Callable[[str], str]) -> _Fn:
    def fn(run: _Run, args: str, depth: int) -> str:
        return " ".join(transform(w) for w in run.call_args(args, depth, 1)[0].split())

    return fn


def _affix(join: Callable[[str, str], str]) -> _Fn:
    def fn(run: _Run, args: str, depth: int) -> str:
        parts = run.call_args(args, depth, 2)
        if len(parts) < 2:
            return run._unresolved()
        return " ".join(join(parts[0].strip(), w) for w in parts[1].split())

    return fn


def _fn_filter(keep: bool) -> _Fn:
    def fn(run: _Run, args: str, depth: int) -> str:
        parts = run.call_args(args, depth, 2)
        if len(parts) < 2:
            return run._unresolved()
        pats = parts[0].split()

        def match(word: str) -> bool:
            return any(p == word or _patsubst(p, "", word) != word for p in pats)

        return " ".join(w for w in parts[1].split() if match(w) == keep)

    return fn


def _fn_sort(run: _Run, args: str, depth: int) -> str:
    return " ".join(sorted(set(run.call_args(args, depth, 1)[0].split())))


def _fn_first(run: _Run, args: str, depth: int) -> str:
    return (run.call_args(args, depth, 1)[0].split() or [""])[0]


def _fn_last(run: _Run, args: str, depth: int) -> str:
    return (run.call_args(args, depth, 1)[0].split() or [""])[-1]


def _fn_empty(run: _Run, args: str, depth: int) -> str:
    return ""


def _fn_unresolved(run: _Run, args: str, depth: int) -> str:
    return run._unresolved()


_FUNCTIONS: dict[str, _Fn] = {
    "shell": _fn_shell,
    "wildcard": _fn_wildcard,
    "patsubst": _fn_patsubst,
    "subst": _fn_subst,
    "notdir": _each_word(posixpath.basename),
    "dir": _each_word(lambda w: (posixpath.dirname(w) or ".") + "/"),
    "basename": _each_word(lambda w: posixpath.splitext(w)[0]),
    "suffix": _each_word(lambda w: posixpath.splitext(w)[1]),
    "abspath": _each_word(lambda w: w),
    "realpath": _each_word(lambda w: w),
    "strip": _each_word(lambda w: w),
    "addprefix": _affix(lambda p, w: p + w),
    "addsuffix": _affix(lambda s, w: w + s),
    "filter": _fn_filter(True),
    "filter-out": _fn_filter(False),
    "sort": _fn_sort,
    "firstword": _fn_first,
    "lastword": _fn_last,
    **dict.fromkeys(("info", "warning", "error", "origin", "flavor"), _fn_empty),
    **dict.fromkeys(("if", "or", "and", "foreach", "call", "eval", "value", "file", "guile",
                     "let", "intcmp", "word", "wordlist", "words", "join"), _fn_unresolved),
}  # fmt: skip
