"""A shell's own command line, read as the shell reads it, from a table.

``bash -eo pipefail FILE``, ``bash +e FILE``, ``bash --rcfile env.sh -i``: a shell's
options come first; some take the next word (``-o NAME``, ``+O NAME``, ``--rcfile
FILE``), single letters combine (``-eo``, ``-xec``), and ``+`` turns an option off
but is still an option.  The first word that is not an option is the script, or,
with ``-c``, the command string.  Reading the words any other way hides the script
(``pipefail`` taken for it) and the script is never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsgate.classify._command import Arg, Command

__all__ = ["ShellLine", "shell_line"]


@dataclass(frozen=True, slots=True)
class _Grammar:
    letters: frozenset[str]  # single-letter options that take the next word
    long_valued: frozenset[str]  # long options that take the next word (or ``=value``)
    startup: frozenset[str]  # long options whose value is a file the shell sources


_POSIX = _Grammar(frozenset("o"), frozenset(), frozenset())
_BASH = _Grammar(
    frozenset("oO"),
    frozenset({"--rcfile", "--init-file"}),
    frozenset({"--rcfile", "--init-file"}),
)
_ZSH = _Grammar(frozenset("o"), frozenset({"--emulate"}), frozenset())
_GRAMMARS: dict[str, _Grammar] = {
    "bash": _BASH,
    "rbash": _BASH,
    "zsh": _ZSH,
    **dict.fromkeys(("sh", "dash", "ash", "ksh", "mksh", "posh", "yash", "busybox"), _POSIX),
}


@dataclass(frozen=True, slots=True)
class ShellLine:
    """What a shell's words mean: the ``-c`` string (``command``), or the ``script``
    and its arguments; the startup files it sources first; ``stdin`` for ``-s``."""

    command: Arg | None
    script: Arg | None
    args: tuple[Arg, ...]
    startup: tuple[Arg, ...]
    stdin: bool
    interactive: bool
    # ``-n`` (``-o noexec``): commands are read and checked, none runs; an interactive
    # shell ignores it.
    noexec: bool = False


def shell_line(cmd: Command) -> ShellLine | None:
    """``cmd``'s words read by its shell's grammar; None for a shell not in the table."""
    grammar = _GRAMMARS.get(cmd.name)
    if grammar is None:
        return None
    args = cmd.args
    flags: set[str] = set()
    startup: list[Arg] = []
    i = 0
    while i < len(args):
        word = args[i].value
        if word in ("--", "-"):
            i += 1
            break
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in grammar.long_valued:
                given = Arg(value, args[i].static)
                if not eq:
                    given = args[i + 1] if i + 1 < len(args) else Arg("", True)
                    i += 1
                if name in grammar.startup and given.value:
                    startup.append(given)
            i += 1
            continue
        if word[:1] not in ("-", "+") or len(word) < 2 or not args[i].static:
            break
        i += 1
        for letter in word[1:]:
            if letter in grammar.letters:
                if word[0] == "-" and i < len(args) and args[i].value == "noexec":
                    flags.add("n")  # ``-o noexec`` is ``-n``
                i += 1  # ``-eo pipefail``: each valued letter takes one more word
            elif word[0] == "-":
                flags.add(letter)
    rest = tuple(args[i:])
    command = (rest[0] if rest else Arg("", True)) if "c" in flags else None
    script = rest[0] if rest and command is None and "s" not in flags else None
    after = rest[1:] if command is not None or script is not None else rest
    return ShellLine(
        command, script, after, tuple(startup), "s" in flags, "i" in flags, "n" in flags
    )
