"""find: the actions it runs on what it matches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["find_actions"]

# --- find: the actions it runs on what it matches -------------------------------------------
_FIND_VALUED = frozenset(
    {
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-type",
        "-xtype",
        "-maxdepth",
        "-mindepth",
        "-size",
        "-newer",
        "-user",
        "-group",
        "-perm",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-links",
        "-inum",
        "-uid",
        "-gid",
        "-fstype",
        "-printf",
        "-fprint",
        "-fprintf",
        "-samefile",
        "-lname",
        "-ilname",
        "-used",
        "-newermt",
        "-context",
        "-D",
        "-O",
        "-files0-from",
    }
)
_FIND_NAMES = frozenset({"-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename"})
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def find_actions(cmd: Command, w: Walker) -> list[Command]:
    """The commands ``find`` runs: ``-delete`` and each ``-exec … {} ;``, with ``{}``
    standing for what find matches under its start directories."""
    args = list(cmd.args)
    i = 0
    while i < len(args) and not args[i].value.startswith(("-", "!", "(")):
        i += 1
    starts = args[:i] or [Arg(".")]
    names: list[str] = []
    actions: list[Command] = []
    negated = False
    depth = 0
    while i < len(args):
        word = args[i].value
        if word in ("!", "-not"):
            negated = True
            i += 1
            continue
        if word in ("(", "\\("):
            depth += 1
        elif word in (")", "\\)"):
            depth = max(0, depth - 1)
        elif word in ("-o", "-or") and depth == 0:
            # An action binds to its own side of a top-level -o (-a binds tighter):
            # ``-path ./.git -prune -o -name '*.orig' -delete`` deletes *.orig only.
            names = []
            i += 1
            continue
        if word in _FIND_NAMES and i + 1 < len(args):
            if not negated:
                names.append(args[i + 1].value)
            i += 2
        elif word in _FIND_EXEC:
            end = i + 1
            while end < len(args) and args[end].value not in (";", "+", "\\;"):
                end += 1
            inner = args[i + 1 : end]
            if inner:
                actions.append(_exec_action(cmd, inner, _matched(starts, names)))
            i = end + 1
        elif word == "-delete":
            matched = _matched(starts, names)
            actions.append(Command("rm", (Arg("-rf"), *matched), cmd.text, cmd.env, None, cmd.cwd))
            i += 1
        else:
            i += 2 if word in _FIND_VALUED else 1
        negated = False
    return actions


def _exec_action(cmd: Command, inner: list[Arg], matched: list[Arg]) -> Command:
    """``-exec PROG ARGS… ;`` with ``{}`` standing for ``matched``."""
    from opsgate.classify.shell import canonical_name

    filled = _fill(inner[1:], matched)
    # ``-exec {} ;`` runs each file find matches: the program is a path chosen at run time.
    head = _fill(inner[:1], matched)[0] if "{}" in inner[0].value else inner[0]
    path = head.value if "/" in head.value else None
    name = canonical_name(head.value)
    return Command(name, tuple(filled), cmd.text, cmd.env, None, cmd.cwd, path)


def _matched(starts: list[Arg], names: list[str]) -> list[Arg]:
    out: list[Arg] = []
    for start in starts:
        base = start.value.rstrip("/") or "/"
        if names:
            out.extend(Arg(f"{base}/**/{n.rsplit('/', 1)[-1]}", start.static) for n in names)
        else:
            out.append(Arg(f"{base}/*", start.static))
    return out


def _fill(template: list[Arg], matched: list[Arg]) -> list[Arg]:
    filled: list[Arg] = []
    for arg in template:
        if "{}" in arg.value:
            filled.extend(Arg(arg.value.replace("{}", m.value), m.static) for m in matched)
        else:
            filled.append(arg)
    return filled
