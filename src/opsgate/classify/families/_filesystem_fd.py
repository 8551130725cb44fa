"""fd (fd-find): the command it runs on each match (``-x``/``--exec``, ``-X``/``--exec-batch``).

``fd . ~ -x rm -f`` is ``rm -f`` on every file in the home directory.  The command is
judged like ``find -exec``: its ``{}`` placeholders (and the path fd appends when there
is none) stand for what fd matches under its search roots.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from opsgate.classify._command import Arg, Command, Context
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["fd"]

_VALUED = frozenset(
    {
        "-e",
        "--extension",
        "-t",
        "--type",
        "-E",
        "--exclude",
        "-d",
        "--max-depth",
        "--min-depth",
        "--exact-depth",
        "-S",
        "--size",
        "--changed-within",
        "--changed-before",
        "--change-newer-than",
        "--change-older-than",
        "-o",
        "--owner",
        "-j",
        "--threads",
        "--max-results",
        "-c",
        "--color",
        "--base-directory",
        "--search-path",
        "--path-separator",
        "--ignore-file",
        "--batch-size",
        "--max-buffer-time",
        "--format",
    }
)
_EXEC = frozenset({"-x", "--exec", "-X", "--exec-batch"})
_PLACEHOLDERS = ("{//}", "{/.}", "{/}", "{.}", "{}")


def fd(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._dispatch import dispatch  # lazy: _dispatch imports the families
    from opsgate.classify.families._filesystem_find import _matched

    positional: list[Arg] = []
    actions: list[list[Arg]] = []
    args = list(cmd.args)
    i = 0
    while i < len(args):
        word = args[i].value
        if word in _EXEC:
            end = i + 1
            while end < len(args) and args[end].value not in (";", "\\;"):
                end += 1
            actions.append(args[i + 1 : end])
            i = end + 1
        elif word in _VALUED:
            i += 2
        else:
            if not word.startswith("-"):
                positional.append(args[i])
            i += 1
    if not actions:
        return []
    roots = [*positional[1:], *(Arg(v) for v in cmd.options("--search-path"))] or [Arg(".")]
    pattern = positional[0].value if positional else "."
    exts = [e.lstrip(".") for e in cmd.options("-e", "--extension")]
    names = [f"*.{e}" for e in exts] or (
        [] if pattern in (".", "", "^", ".*") else [_name_glob(pattern)]
    )
    matched = _matched(roots, names)
    walker = cast("Walker", ctx)
    for action in actions:
        if action:
            dispatch(_inner(cmd, action, matched), walker, [])
    return []


def _name_glob(pattern: str) -> str:
    """The names fd's pattern (a regex searched in the name) selects, as a glob.  A
    plain cache directory name with a separator in it (``__pycache__``, ``node_modules``,
    ``.pytest_cache``) names only such directories; a plain word (``build``) is also a
    part of other names (``rebuild.py``), so it stays ``*build*``."""
    from opsgate.classify._paths_zones import DISPOSABLE_DIRS

    plain = re.fullmatch(r"\.?[\w-]+(\.[\w-]+)?", pattern) is not None
    if plain and pattern in DISPOSABLE_DIRS and re.search(r"[_.-]", pattern.lstrip(".")):
        return pattern
    return f"*{pattern}*"


def _inner(cmd: Command, action: list[Arg], matched: list[Arg]) -> Command:
    from opsgate.classify.shell import canonical_name

    filled: list[Arg] = []
    placed = False
    for arg in action[1:]:
        hit = next((p for p in _PLACEHOLDERS if p in arg.value), None)
        if hit is None:
            filled.append(arg)
            continue
        placed = True
        filled.extend(Arg(arg.value.replace(hit, m.value), m.static) for m in matched)
    if not placed:
        filled.extend(matched)
    return Command(canonical_name(action[0].value), tuple(filled), cmd.text, cmd.env, None, cmd.cwd)
