"""``while getopts OPTSTRING NAME; do …; done`` with arguments known now.

A script run as ``./ops.sh -n prod`` hands getopts ``-n prod``; bash's getopts gives
the loop's body one option at a time, in NAME (and its argument in OPTARG), then
stops at the first word that is no option.  With the arguments and the option string
known now, the loop is walked once per option the arguments hold, with NAME and
OPTARG set as getopts sets them: a ``case $o in d) kubectl delete …`` whose ``-d``
was not given is not judged, and one that was given is.  Arguments known only at run
time, an option string built at run time, or more options than ``MAX_OPTIONS`` leave
the loop to the general reading (its body judged as may run, every branch).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tree_sitter import Node

from opsgate.classify._command import Stdin
from opsgate.classify._shell_state import Scope

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["getopts_loop", "parse_options"]

MAX_OPTIONS = 16


def getopts_loop(
    w: Walker, node: Node, stdin: Stdin | None, level: int
) -> tuple[Stdin | None, list[Scope]] | None:
    """The loop walked once per option, with the one state it leaves; None when it is
    no getopts loop over arguments known now."""
    if node.type != "while_statement":
        return None
    body = node.child_by_field_name("body")
    condition = [c for c in node.named_children if c != body and c.type != "comment"]
    if body is None or len(condition) != 1 or condition[0].type != "command":
        return None
    words = _words(w, condition[0])
    if words is None or len(words) < 3 or words[0] != "getopts":
        return None
    args = words[3:] if len(words) > 3 else _arguments(w.scope)
    start = w.scope.vars.get("OPTIND", "1") if "OPTIND" in w.scope.vars else "1"
    if args is None or start != "1":
        return None
    options, index = parse_options(words[1], args)
    if len(options) > MAX_OPTIONS:
        return None
    out = w.walk(condition[0], stdin, level + 1)
    name = words[2]
    for value, argument in options:
        w.scope.bind(name, value)
        w.scope.bind("OPTARG", argument or "")
        out = w.walk(body, stdin, level + 1)
    w.scope.bind(name, "?")
    w.scope.bind("OPTIND", str(index))
    return out, [w.scope.child()]


def parse_options(optstring: str, args: list[str]) -> tuple[list[tuple[str, str | None]], int]:
    """What bash's getopts hands the loop for ``args``: (NAME, OPTARG) per call, and
    OPTIND once it stops.  A leading ``:`` in the option string is silent reporting:
    an unknown option is ``?`` with the letter in OPTARG, a missing argument ``:``."""
    silent = optstring.startswith(":")
    spec = optstring[1:] if silent else optstring
    found: list[tuple[str, str | None]] = []
    index = 0
    while index < len(args) and len(found) <= MAX_OPTIONS:
        word = args[index]
        if word == "--":
            index += 1
            break
        if not word.startswith("-") or word == "-":
            break
        index += 1
        at = 1
        while at < len(word):
            letter = word[at]
            at += 1
            place = spec.find(letter) if letter != ":" else -1
            if place < 0:
                found.append(("?", letter if silent else None))
            elif spec[place + 1 : place + 2] != ":":
                found.append((letter, None))
            elif at < len(word):  # ``-nprod``
                found.append((letter, word[at:]))
                at = len(word)
            elif index < len(args):  # ``-n prod``
                found.append((letter, args[index]))
                index += 1
            else:
                found.append((":", letter) if silent else ("?", None))
    return found, index + 1


def _words(w: Walker, command: Node) -> list[str] | None:
    """The command's words when every one is known now (no assignment, no redirect)."""
    words: list[str] = []
    for child in command.named_children:
        if child.type not in ("command_name", "word", "string", "raw_string",
                              "simple_expansion", "expansion", "concatenation"):  # fmt: skip
            return None
        for value in w._split(child):
            if not value.static:
                return None
            words.append(value.text)
    return words


def _arguments(scope: Scope) -> list[str] | None:
    """The script's or function's arguments, when each is known now."""
    if "@" not in scope.positional:
        return None
    given = shlex.split(scope.positional["@"])
    if any(str(number) not in scope.positional for number in range(1, len(given) + 1)):
        return None
    return given
