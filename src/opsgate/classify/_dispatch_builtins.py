"""Built-ins with their own meaning: cd, alias, eval, source, trap, command, find, xargs …"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command
from opsgate.classify._dispatch_unwrap import _STOP, _rebuild, _run_inner, unwrap
from opsgate.classify._words import Value
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["_SPECIAL", "track_assigned", "track_positionals"]

_LOOKUP_ONLY = frozenset({"type", "which", "whereis", "help", "man", "tldr", "info"})


def track_positionals(cmd: Command, w: Walker) -> None:
    """``shift [N]`` and ``set -- ARGS`` change what ``"$@"`` and ``$1`` … hand on.  A
    change opsgate cannot follow (a count or an argument known only at run time)
    leaves them unknown, so a later ``git "$@"`` is never read as harmless words; so
    does ``set --`` under a changed ``IFS`` (where words split in ways opsgate does
    not follow)."""
    positional = w.scope.positional
    if cmd.name == "shift":
        if "@" not in positional:
            return
        count = cmd.args[0] if cmd.args else Arg("1")
        if len(cmd.args) > 1 or not count.static or not count.value.isdigit():
            _forget_positionals(w)
            return
        _set_positionals(w, shlex.split(positional["@"])[int(count.value) :])
        return
    values = [a.value for a in cmd.args]
    if "--" in values:
        words = cmd.args[values.index("--") + 1 :]
    elif values and not any(v.startswith(("-", "+")) for v in values):
        words = cmd.args
    else:
        return  # ``set -e``, ``set -o pipefail``, a bare ``set``: no arguments set
    if all(a.static for a in words) and "IFS" not in w.scope.vars:
        _set_positionals(w, [a.value for a in words])
    else:
        _forget_positionals(w)


def track_assigned(cmd: Command, w: Walker) -> None:
    """``printf -v NAME …`` and ``mapfile``/``readarray NAME`` set NAME: to the text
    printed when every word is known and there is no format to apply, else to a value
    known only at run time (never the value it had before)."""
    if cmd.name == "printf":
        name = cmd.option("-v")
        if name is None:
            return
        words = [a for a in cmd.positionals(("-v",))]
        plain = len(words) == 2 and words[0].value == "%s" and all(a.static for a in words)
        w.scope.bind(name, words[1].value if plain else None)
        return
    names = [a.value for a in cmd.positionals(("-d", "-n", "-O", "-s", "-u", "-C", "-c"))]
    w.scope.bind(names[0] if names else "MAPFILE", None)


def _set_positionals(w: Walker, given: list[str]) -> None:
    zero = w.scope.positional.get("0")
    w.scope.positional = {str(i + 1): t for i, t in enumerate(given)}
    w.scope.positional["@"] = " ".join(shlex.quote(t) for t in given)
    if zero is not None:
        w.scope.positional["0"] = zero


def _forget_positionals(w: Walker) -> None:
    zero = w.scope.positional.get("0")
    w.scope.positional = {"0": zero} if zero is not None else {}


def _cd(cmd: Command, w: Walker) -> None:
    target = cmd.positionals()
    if not target:
        w.set_cwd(None)
        return
    arg = target[0]
    w.set_cwd(_cd_search(cmd, w, arg) or Value(arg.value, arg.static))


def _cd_search(cmd: Command, w: Walker, arg: Arg) -> Value | None:
    """``CDPATH=/etc; cd cron.d``: cd looks in CDPATH's directories first, as bash
    does for a name that does not start with ``/``, ``.`` or ``..``; the first that
    holds the directory (an empty entry is the current one).  A CDPATH known only at
    run time leaves the directory unknown."""
    searched = w.scope.vars.get("CDPATH", "") if "CDPATH" in w.scope.vars else ""
    searched = searched if searched is not None else "$CDPATH"
    searched = searched or cmd.env.get("CDPATH", "")
    if not searched or not arg.static or arg.value.startswith(("/", "./", "../", "~")):
        return None
    if arg.value in (".", ".."):
        return None
    if "$" in searched:
        return Value(arg.value, False)
    for entry in searched.split(":"):
        full = w.workspace.expand(f"{entry or '.'}/{arg.value}", w.scope.cwd)
        if full is not None and w.session.files.kind(full) == "dir":
            return Value(full, True)
    return None


def _enable(cmd: Command, w: Walker) -> None:
    """``enable -f LIB NAME`` loads a builtin from a shared library: native code opsgate
    cannot read, run by a harmless-looking name from then on."""
    from opsgate.classify.shell import unknown

    if cmd.option("-f") is not None or "-f" in cmd.words:
        w.add([unknown("enable -f loads a shell builtin from a shared library", cmd.text)])


def _hash(cmd: Command, w: Walker) -> None:
    """``hash -p FILE NAME``: NAME runs FILE from now on, as an alias would."""
    file = cmd.option("-p")
    names = [a for a in cmd.positionals(("-p",)) if a.static]
    if file is not None:
        for name in names:
            w.scope.aliases[name.value] = [file]


_READ_VALUED = ("-d", "-i", "-n", "-N", "-p", "-t", "-u")


def _read(cmd: Command, w: Walker) -> None:
    """``read NAME…`` sets its names to what stdin holds at run time: unknown, but
    from a process list when one feeds it (``ps -eo pid= | while read p``)."""
    from opsgate.classify._pipes import origin_mark

    origin = origin_mark(cmd.stdin)
    names = [a.value for a in cmd.positionals(_READ_VALUED) if a.static]
    array = cmd.option("-a")
    for name in [*names, *([array] if array else [])] or ["REPLY"]:
        w.scope.bind(name, None, origin)


def _alias(cmd: Command, w: Walker) -> None:
    for arg in cmd.args:
        name, sep, value = arg.value.partition("=")
        if sep and arg.static:
            try:
                w.scope.aliases[name] = shlex.split(value)
            except ValueError:
                w.scope.aliases[name] = value.split()
            # An alias that runs something on definition? No — but classify its body now,
            # because an alias is only defined to be used.
            w.add(w.classify_shell(value, via="alias"))


def _eval(cmd: Command, w: Walker) -> None:
    from opsgate.classify.shell import unknown

    if not cmd.args:
        return
    if not all(a.static for a in cmd.args):
        w.add([unknown("eval of a value built at run time", cmd.text)])
        return
    w.add(w.classify_shell(" ".join(a.value for a in cmd.args), via="eval", here=True))


def _let(cmd: Command, w: Walker) -> None:
    """``let EXPR…`` evaluates each argument as arithmetic: a substitution in it (after
    expansion) or in a variable it names runs."""
    import re

    for arg in cmd.args:
        if "$(" in arg.value or "`" in arg.value:
            w.add(w.classify_shell(": " + arg.value, via="arithmetic evaluation"))
        else:
            w.resolver().evaluate_names(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", arg.value))


def _source(cmd: Command, w: Walker) -> None:
    from opsgate.classify.families import shells

    w.add(shells.run_script_file(cmd, w, via=cmd.name))


def _trap(cmd: Command, w: Walker) -> None:
    args = [a for a in cmd.args if a.value not in ("--", "-p", "-l")]
    if len(args) >= 2 and args[0].value not in ("-", ""):
        if args[0].static:
            w.add(w.classify_shell(args[0].value, via="trap"))
        else:
            from opsgate.classify.shell import unknown

            w.add([unknown("trap runs a command built at run time", cmd.text)])


def _command_builtin(cmd: Command, w: Walker) -> None:
    args = list(cmd.args)
    while args and args[0].value.startswith("-") and args[0].value != "-":
        if args[0].value in ("-v", "-V"):
            return  # a lookup, nothing runs
        args.pop(0)
    rest = args
    if rest:
        _run_inner(cmd, rest, w)


def _find(cmd: Command, w: Walker) -> None:
    from opsgate.classify._dispatch import dispatch  # lazy: _dispatch imports this module
    from opsgate.classify.families import filesystem

    for inner in filesystem.find_actions(cmd, w):
        dispatch(inner, w, [])
    from opsgate.classify.families._secrets_links import find_links

    w.add(find_links(cmd, w))  # the links its actions open (``-L``, ``-exec cat {} +``)


def _xargs(cmd: Command, w: Walker) -> None:
    valued = {
        "-a",
        "-d",
        "-E",
        "-I",
        "-L",
        "-n",
        "-P",
        "-s",
        "--arg-file",
        "--delimiter",
        "--max-args",
        "--max-procs",
        "--replace",
        "--max-lines",
    }
    args = list(cmd.args)
    i = 0
    replace_str: str | None = None
    while i < len(args) and args[i].value.startswith("-"):
        word = args[i].value
        if word in ("-I", "--replace") and i + 1 < len(args):
            replace_str = args[i + 1].value
        elif word.startswith("-I") and len(word) > 2:
            replace_str = word[2:]
        i += 2 if word in valued else 1
    rest = args[i:] or [Arg("echo")]
    own = [a.value for a in args[:i]]
    lines = replace_str is not None or any(w.startswith(("-L", "--max-lines")) for w in own)
    items = _stdin_items(cmd, _separator(own), lines=lines)
    if items is None:
        # Arguments come from stdin at run time: the command runs on unknown operands.
        filled = [a if replace_str is None else Arg(a.value, a.value != replace_str) for a in rest]
        if replace_str is None:
            # Keep where the words come from: `ps … | xargs kill` kills whatever ps lists,
            # and `find ~/.ssh | xargs cat` reads the keys (``_pipes_names``).
            origin = f"<{cmd.stdin.source}" if cmd.stdin is not None else ""
            listed = cmd.stdin.names if cmd.stdin is not None else ()
            filled += [Arg(name) for name in listed[:16]]
            filled += _listed_items(cmd, w) or [Arg("$XARGS_INPUT" + origin, False)]
        _run_inner(cmd, filled, w)
        return
    most = _count(own, "-n", "--max-args")
    if replace_str is None and any(w.startswith(("-L", "--max-lines")) for w in own):
        most = _count(own, "-L", "--max-lines") or 1  # ``-L N``: N input lines a run
    for chunk in _xargs_runs(items, replace_str, most)[:16]:
        if replace_str is not None:
            filled = [Arg(a.value.replace(replace_str, chunk[0])) for a in rest]
        else:
            filled = [*rest, *(Arg(item) for item in chunk)]
        _run_inner(cmd, filled, w)


def _xargs_runs(items: list[str], replace: str | None, most: int | None) -> list[list[str]]:
    """The command lines xargs makes: one per item with ``-I``, else the items appended
    in runs of ``-n`` (all of them in one when no ``-n``: ``printf '%s\\0' -rf ~/.aws |
    xargs -0 rm`` is ``rm -rf ~/.aws``)."""
    items = items[:64]
    if replace is not None:
        return [[item] for item in items]
    size = most or len(items) or 1
    return [items[at : at + size] for at in range(0, len(items), size)]


def _count(own: list[str], short: str, long: str) -> int | None:
    """The number an xargs option gives (``-n 2``, ``-n2``, ``--max-args=2``)."""
    for at, word in enumerate(own):
        value = None
        if word in (short, long) and at + 1 < len(own):
            value = own[at + 1]
        elif word.startswith(long + "="):
            value = word.split("=", 1)[1]
        elif word.startswith(short) and len(word) > 2:
            value = word[2:]
        if value is not None and value.isdigit() and int(value) > 0:
            return int(value)
    return None


def _separator(own: list[str]) -> str | None:
    """What xargs splits its input at: NUL with ``-0``/``--null`` (alone or in a
    cluster, ``-0r``), the character of ``-d``/``--delimiter`` (``\\n``, ``\\t``,
    ``\\0`` escapes), else blanks."""
    found: str | None = None
    for at, word in enumerate(own):
        if word in ("-0", "--null") or re.fullmatch(r"-[a-zA-Z]*0[a-zA-Z]*", word):
            found = "\0"
        value = None
        if word in ("-d", "--delimiter") and at + 1 < len(own):
            value = own[at + 1]
        elif word.startswith("--delimiter="):
            value = word.split("=", 1)[1]
        elif word.startswith("-d") and len(word) > 2:
            value = word[2:]
        if value:
            found = {"\\n": "\n", "\\t": "\t", "\\0": "\0"}.get(value, value[0])
    return found


def _listed_items(cmd: Command, w: Walker) -> list[Arg]:
    """The names a listing prints (``find . -name '*.pyc' | xargs rm -f``), as the
    globs they match, when every one is inside the project or a scratch place: the
    command is judged as if given those globs (``rm -f ./*.pyc``).  [] when the names
    may be anywhere (``find /etc …``): they stay a run-time path."""
    from opsgate.classify.paths import Zone

    globs = cmd.stdin.roots if cmd.stdin is not None else ()
    inside = (Zone.PROJECT, Zone.PROJECT_ROOT, Zone.PROJECT_DISPOSABLE, Zone.TEMP)
    if not globs or w.remote is not None:
        return []
    for glob in globs:
        directory = glob.rsplit("/", 1)[0] or "/"
        if "*" in directory or w.workspace.zone(directory + "/x") not in inside:
            return []
    return [Arg(glob) for glob in globs]


def _stdin_items(cmd: Command, sep: str | None, lines: bool = False) -> list[str] | None:
    stdin = cmd.stdin
    if stdin is None or stdin.text is None or stdin.untrusted:
        return None
    if sep is not None:  # ``-0``, ``-d X``: the items exactly, blanks and all
        return [item for item in stdin.text.split(sep) if item]
    if lines:
        # ``xargs -I{}``, ``-L``: each input line is one item, blanks and all.
        return [s.strip() for s in stdin.text.split("\n") if s.strip()]
    items = [s for s in stdin.text.split(sep) if s.strip()]
    return [s.strip() for s in items]


def _busybox(cmd: Command, w: Walker) -> None:
    """``busybox APPLET …`` is the applet itself."""
    from opsgate.classify._dispatch import dispatch  # lazy: _dispatch imports this module

    if cmd.args and cmd.args[0].static and not cmd.args[0].value.startswith("-"):
        dispatch(_rebuild(cmd, list(cmd.args)), w, [])


def _npx(cmd: Command, w: Walker) -> None:
    from opsgate.classify._dispatch import dispatch  # lazy: _dispatch imports this module

    script = cmd.option("-c", "--call")
    if script is not None:
        w.add(w.classify_shell(script, via=f"{cmd.name} -c"))
        return
    inner = unwrap(cmd, w)
    if inner is not None and inner is not _STOP:
        from opsgate.classify._run_npx import package_program, project_bin

        inner = package_program(inner)
        w.add(project_bin(w, inner))  # the project's own bin runs: its file is read
        dispatch(inner, w, [])


def _lookup_only(cmd: Command, w: Walker) -> None:
    return None


def _noop_data(cmd: Command, w: Walker) -> None:
    """``:``/``true``/``false``: their arguments are data."""
    return None


def _at(cmd: Command, w: Walker) -> None:
    from opsgate.classify.families import shells

    w.add(shells.run_stdin_script(cmd, w, via=cmd.name, default_unknown=True))
    w.add(
        [
            Finding(
                "scheduler.add",
                Impact.CAUTION,
                Effect.WRITE,
                cmd.text,
                f"schedules a job with {cmd.name}",
            )
        ]
    )


# systemd-run options that start the command later, again and again (a transient
# timer): scheduling, like cron, whatever the command does today.
_TIMERS = ("--on-calendar", "--on-active", "--on-boot", "--on-startup", "--on-unit-active",
           "--on-unit-inactive", "--on-clock-change", "--on-timezone-change")  # fmt: skip


def _systemd_run(cmd: Command, w: Walker) -> None:
    """``systemd-run --on-calendar=hourly X``: X is judged as if it ran now (the
    wrapper), and the timer is a scheduled job."""
    if any(word.split("=", 1)[0] in _TIMERS for word in cmd.words):
        reason = "schedules a command with a systemd timer"
        w.add([Finding("host.schedule", Impact.CAUTION, Effect.WRITE, cmd.text, reason)])
    inner = unwrap(cmd, w)
    if inner is not None and inner is not _STOP:
        from opsgate.classify._dispatch import dispatch  # lazy: _dispatch imports this module

        dispatch(inner, w, [])


_SPECIAL = {
    "cd": _cd,
    "hash": _hash,
    "enable": _enable,
    "pushd": _cd,
    "alias": _alias,
    "read": _read,
    "eval": _eval,
    "let": _let,
    "source": _source,
    ".": _source,
    "trap": _trap,
    "command": _command_builtin,
    "find": _find,
    "xargs": _xargs,
    "busybox": _busybox,
    "npx": _npx,
    "bunx": _npx,
    "pnpx": _npx,
    ":": _noop_data,
    "true": _noop_data,
    "false": _noop_data,
    "at": _at,
    "batch": _at,
    "systemd-run": _systemd_run,
    **{name: _lookup_only for name in _LOOKUP_ONLY},
}
