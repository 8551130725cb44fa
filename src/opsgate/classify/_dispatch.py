"""From one simple command to its family handler.

Wrappers that run another command (``sudo``, ``env``, ``timeout``, ``xargs``,
``find -exec`` …) are unwrapped first, as data: each wrapper names the options
that take a value and how many positional words precede the wrapped command.
Shell built-ins that change what later commands mean (``cd``, ``alias``) update
the walker's scope; ``eval``, ``source`` and ``trap`` re-enter the classifier.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from opsgate.classify import families
from opsgate.classify._command import Arg, Command, Stdin
from opsgate.classify._words import Value
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["dispatch"]


@dataclass(frozen=True, slots=True)
class Wrapper:
    valued: frozenset[str] = frozenset()  # options that consume the next word
    skip: int = 0  # positional words before the wrapped command (timeout's duration)
    assignments: bool = False  # NAME=value words set the environment (env)
    no_command: str | None = None  # what a bare invocation means: "env-dump", "interactive"


def _w(valued: str = "", skip: int = 0, **kw: object) -> Wrapper:
    return Wrapper(frozenset(valued.split()), skip, **kw)  # type: ignore[arg-type]  # kw typed by dataclass


WRAPPERS: dict[str, Wrapper] = {
    "sudo": _w(
        "-u -g -h -p -C -T -r -t -U -D -R --user --group --host --prompt", no_command="interactive"
    ),
    "doas": _w("-u -C", no_command="interactive"),
    "pkexec": _w("--user -u"),
    "sshpass": _w("-p -f -d -e -P"),
    "screen": _w("-S -c -L -Logfile -t -h -p -X -T -e -s"),
    "coproc": _w(),
    "ts": _w(),
    "run0": _w("-u --user -g --unit --property --description --slice"),
    "env": _w("-u -C -P --unset --chdir", assignments=True, no_command="env-dump"),
    "nice": _w("-n --adjustment"),
    "ionice": _w("-c -n -p -P -u --class --classdata"),
    "chrt": _w("", skip=1),
    "taskset": _w("", skip=1),
    "timeout": _w("-s -k --signal --kill-after", skip=1),
    "gtimeout": _w("-s -k --signal --kill-after", skip=1),
    "nohup": _w(),
    "time": _w("-f -o --format --output"),
    "builtin": _w(),
    "exec": _w("-a"),
    "stdbuf": _w("-i -o -e --input --output --error"),
    "unbuffer": _w(),
    "strace": _w("-o -e -p -s -u -E -a -b -I -O -S -P -X"),
    "ltrace": _w("-o -e -p -s -u -a -n -A -D -F -l -L -w -x"),
    "setsid": _w(),
    "chronic": _w(),
    "catchsegv": _w(),
    "valgrind": _w(),
    "firejail": _w(),
    "proxychains": _w("-f"),
    "proxychains4": _w("-f"),
    "torsocks": _w("-u -p -a -P"),
    "caffeinate": _w("-t -w"),
    "xvfb-run": _w("-n -s -f -e -p --server-args --server-num"),
    "dbus-launch": _w(),
    "systemd-run": _w(
        "-p -E -u -M -H --unit --property --description --slice --uid --gid "
        "--working-directory --on-calendar --on-active --setenv --machine --host"
    ),
    "unshare": _w("--mount-proc --setgroups --propagation"),
    "nsenter": _w("-t -m -u -i -n -p -U -C -S -G -r -w --target"),
    "chroot": _w("--userspec --groups", skip=1),
    "runuser": _w("-u -g -G --user --group", no_command="interactive"),
    "flock": _w("-w -E -c --timeout --conflict-exit-code", skip=1),
    "op": _w(),
    "doppler": _w(),
    "aws-vault": _w(),
    "dotenv": _w("-f -e -v -c"),
    "direnv": _w(),
    "npx": _w("-p --package -c --call"),
    "bunx": _w("-p --package"),
    "uvx": _w("--from --with --python"),
    "pipx": _w("--spec --python"),
    "uv": _w("--with --python -p --project --directory --package --env-file --group --extra"),
    "poetry": _w("-C --directory -P --project"),
    "pipenv": _w(),
    "pdm": _w(),
    "hatch": _w("-e"),
    "rye": _w(),
    "bundle": _w(),
    "mise": _w(),
    "asdf": _w(),
    "devbox": _w(),
    "conda": _w("-n -p --name --prefix"),
    "mamba": _w("-n -p --name --prefix"),
    "npm": _w("-p --package -c --call -w --workspace"),
    "pnpm": _w(),
    "yarn": _w(),
    "entr": _w(),
    "retry": _w("-t -d --times --delay"),
    "watch": _w("-n -d -g -q --interval"),
    "parallel": _w("-j -S --jobs --sshlogin"),
}

# Wrapper spellings that only wrap after a sub-verb: `uv run X`, `npm exec X`, `op run -- X`.
_VERB_WRAPPERS: dict[str, frozenset[str]] = {
    "op": frozenset({"run"}),
    "doppler": frozenset({"run"}),
    "aws-vault": frozenset({"exec"}),
    "direnv": frozenset({"exec"}),
    "uv": frozenset({"run"}),
    "poetry": frozenset({"run"}),
    "pipenv": frozenset({"run"}),
    "pdm": frozenset({"run"}),
    "hatch": frozenset({"run"}),
    "rye": frozenset({"run"}),
    "bundle": frozenset({"exec"}),
    "mise": frozenset({"exec", "x"}),
    "asdf": frozenset({"exec"}),
    "devbox": frozenset({"run"}),
    "conda": frozenset({"run"}),
    "mamba": frozenset({"run"}),
    "npm": frozenset({"exec", "x"}),
    "pnpm": frozenset({"exec", "dlx"}),
    "yarn": frozenset({"dlx", "exec"}),
    "dotenv": frozenset({"run", "--"}),
}
_VERB_SKIP = {"aws-vault": 1, "direnv": 1}  # aws-vault exec PROFILE -- cmd; direnv exec DIR cmd

_LOOKUP_ONLY = frozenset({"type", "which", "whereis", "hash", "help", "man", "tldr", "info"})


# Reserved words the grammar sometimes leaves in front of a command (`time { …; }`).
_RESERVED = frozenset({"{", "}", "(", ")", "!", "then", "do", "else", "elif", "{}"})
_GROUPING = frozenset("{}()! ")


def dispatch(cmd: Command, w: Walker, words: list[Value]) -> None:
    """Classify ``cmd`` (unwrapping wrappers) and add its findings to the walker."""
    from opsgate.classify.shell import unknown

    for _ in range(12):
        _cross_cutting(cmd, w)
        if cmd.name == "$dynamic":
            w.add([unknown("a wrapper runs a command whose name is built at run time", cmd.text)])
            return
        if cmd.name in _RESERVED or (cmd.name and set(cmd.name) <= _GROUPING):
            rest = [
                a for a in cmd.args if a.value not in _RESERVED and not set(a.value) <= _GROUPING
            ]
            if not rest:
                return
            cmd = _rebuild(cmd, rest)
            continue
        special = _SPECIAL.get(cmd.name)
        if special is not None:
            special(cmd, w)
            return
        inner = unwrap(cmd, w)
        if inner is None:
            break
        if inner is _STOP:
            return
        cmd = inner
    handler = families.handler_for(cmd.name)
    if handler is not None and _harmless_mode(cmd):
        return
    if handler is not None:
        w.add(handler(cmd, w))
    else:
        from opsgate.classify import _unknown_tools

        w.add(_unknown_tools.sniff(cmd, w))
    _note_download(cmd, w)


_HARMLESS_FLAGS = frozenset({"--help", "-help", "--version", "--dry-run", "--dryrun",
                             "--what-if", "--noop", "--simulate", "--dry-run=client",
                             "--dry-run=server"})  # fmt: skip


def _harmless_mode(cmd: Command) -> bool:
    """``kubectl delete --help``, ``git push --dry-run``: nothing changes.  Not for shells,
    interpreters or wrappers, where such a word may belong to the code they run."""
    from opsgate.classify.families._index import INDEX

    if INDEX.get(cmd.name) == "shells" or cmd.name in WRAPPERS:
        return False
    words = cmd.words
    head = words[: words.index("--")] if "--" in words else words
    return any(w in _HARMLESS_FLAGS for w in head)


def _cross_cutting(cmd: Command, w: Walker) -> None:
    """Checks that apply to every program, whichever family owns it."""
    from opsgate.classify._exec_options import exec_findings
    from opsgate.classify.families import secrets

    w.add(secrets.reveals(cmd, w))
    w.add(exec_findings(cmd, w))
    from opsgate.classify._unknown_tools import publishes

    w.add(publishes(cmd))
    if cmd.name == "pgbench" and cmd.has("-i", "--initialize"):
        host = cmd.option("-h", "--host") or cmd.env.get("PGHOST") or "database"
        w.add(
            [
                Finding(
                    "database.reset",
                    Impact.DESTRUCTIVE,
                    Effect.WRITE,
                    cmd.text,
                    "pgbench -i drops and recreates its tables",
                    host,
                )
            ]
        )


_DOWNLOAD_TO = {
    "curl": ("-o", "--output"),
    "wget": ("-O", "--output-document"),
    "aria2c": ("-o", "--out"),
    "http": ("-o", "--output"),
    "xh": ("-o", "--output"),
}


def _note_download(cmd: Command, w: Walker) -> None:
    """A file downloaded in this command is untrusted code if it is run later on."""
    flags = _DOWNLOAD_TO.get(cmd.name)
    if flags is None:
        return
    from opsgate.classify.shell import FileNote

    target = cmd.option(*flags)
    if target is None and cmd.name == "curl" and cmd.has("-O", "--remote-name"):
        urls = [a.value for a in cmd.positionals() if "://" in a.value]
        target = urls[-1].rstrip("/").rsplit("/", 1)[-1] if urls else None
    if target is None and cmd.name == "wget":
        urls = [a.value for a in cmd.positionals() if "://" in a.value]
        target = urls[-1].rstrip("/").rsplit("/", 1)[-1].split("?")[0] if urls else None
    if not target or target == "-":
        return
    full = w.workspace.expand(target, cmd.cwd)
    if full is not None:
        w.scope.files[full] = FileNote(None, untrusted=True)


class _Stop(Command):
    pass


_STOP = _Stop("", (), "")


def unwrap(cmd: Command, w: Walker) -> Command | None:
    """The command a wrapper runs; ``None`` when ``cmd`` is not a wrapper."""
    spec = WRAPPERS.get(cmd.name)
    if spec is None:
        return None
    args = list(cmd.args)
    verbs = _VERB_WRAPPERS.get(cmd.name)
    if verbs is not None:
        head = _first_positional(args, spec)
        if head is None or args[head].value not in verbs:
            return None  # `npm install`, `uv sync`: the tool itself, not a wrapper
        args = args[head + 1 :]
        args = args[_VERB_SKIP.get(cmd.name, 0) :]
        spec = Wrapper(spec.valued)
    if cmd.name == "env":
        return _unwrap_env(cmd, args, w)
    if cmd.name in ("watch", "flock", "su", "script") and _shell_string_option(cmd):
        text = _shell_string_option(cmd) or ""
        w.add(w.classify_shell(text, via=cmd.name))
        return _STOP
    if cmd.name == "parallel":
        return _unwrap_parallel(cmd, args, w)
    rest = _skip_options(args, spec)
    if rest is None:
        return _no_command(cmd, spec, w)
    if cmd.name == "watch" and len(rest) == 1:
        w.add(w.classify_shell(rest[0].value, via="watch"))
        return _STOP
    return _rebuild(cmd, rest)


def _first_positional(args: list[Arg], spec: Wrapper) -> int | None:
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg.value.startswith("-") and arg.value not in ("--",):
            skip = arg.value in spec.valued
        else:
            return i
    return None


def _skip_options(args: list[Arg], spec: Wrapper) -> list[Arg] | None:
    i = 0
    while i < len(args) and args[i].value.startswith("-") and args[i].value != "-":
        word = args[i].value
        i += 1
        if word == "--":
            break
        if word in spec.valued:
            i += 1
    i += spec.skip
    rest = args[i:]
    return rest or None


def _rebuild(cmd: Command, rest: list[Arg]) -> Command:
    from opsgate.classify.shell import canonical_name

    head = rest[0]
    if not head.static:
        return Command("$dynamic", tuple(rest[1:]), cmd.text, cmd.env, cmd.stdin, cmd.cwd)
    return Command(
        canonical_name(head.value), tuple(rest[1:]), cmd.text, cmd.env, cmd.stdin, cmd.cwd
    )


def _no_command(cmd: Command, spec: Wrapper, w: Walker) -> Command:
    from opsgate.classify.families import secrets
    from opsgate.classify.shell import unknown

    if spec.no_command == "env-dump":
        w.add(secrets.env_dump(cmd.name))
    elif spec.no_command == "interactive" and cmd.has("-i", "-s", "--login", "--shell"):
        w.add([unknown(f"{cmd.name} opens an interactive root shell", cmd.text)])
    return _STOP


def _unwrap_env(cmd: Command, args: list[Arg], w: Walker) -> Command:
    env = dict(cmd.env)
    i = 0
    chdir: str | None = None
    while i < len(args):
        word = args[i].value
        if word in ("-S", "--split-string") and i + 1 < len(args):
            w.add(w.classify_shell(args[i + 1].value, via="env -S"))
            return _STOP
        if word.startswith("-S") and len(word) > 2:
            w.add(w.classify_shell(word[2:], via="env -S"))
            return _STOP
        if word in ("-C", "--chdir") and i + 1 < len(args):
            chdir = args[i + 1].value
            i += 2
            continue
        if word in ("-u", "--unset", "-P"):
            i += 2
            continue
        if word.startswith("-") and word != "-":
            i += 1
            if word == "--":
                break
            continue
        if "=" in word and not word.startswith("="):
            key, _, value = word.partition("=")
            env[key] = value
            i += 1
            continue
        break
    rest = args[i:]
    if not rest:
        return _no_command(cmd, WRAPPERS["env"], w)
    inner = _rebuild(replace(cmd, env=env), rest)
    if chdir is not None:
        inner = replace(inner, cwd=w.workspace.expand(chdir, cmd.cwd))
    return inner


def _shell_string_option(cmd: Command) -> str | None:
    """``su -c 'CMD'``, ``flock LOCK -c 'CMD'``, ``script -c 'CMD'``, ``watch 'CMD'``."""
    if cmd.name in ("su", "flock", "script"):
        return cmd.option("-c", "--command")
    return None


def _unwrap_parallel(cmd: Command, args: list[Arg], w: Walker) -> Command:
    words = [a.value for a in args]
    if ":::" not in words:
        return _rebuild(cmd, _skip_options(args, WRAPPERS["parallel"]) or [Arg("true")])
    split = words.index(":::")
    template = _skip_options(args[:split], WRAPPERS["parallel"]) or []
    for item in args[split + 1 :]:
        if item.value in (":::", "::::"):
            continue
        filled = [
            Arg(a.value.replace("{}", item.value), a.static and item.static) for a in template
        ]
        if not any("{}" in a.value for a in template):
            filled.append(item)
        if filled:
            _run_inner(cmd, filled, w)
    return _STOP


def _run_inner(cmd: Command, args: list[Arg], w: Walker) -> None:
    dispatch(_rebuild(replace(cmd, stdin=None), args), w, [])


# --- built-ins with their own meaning -----------------------------------------------------


def _cd(cmd: Command, w: Walker) -> None:
    target = cmd.positionals()
    if not target:
        w.set_cwd(None)
        return
    arg = target[0]
    w.set_cwd(Value(arg.value, arg.static))


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
    w.add(w.classify_shell(" ".join(a.value for a in cmd.args), via="eval"))


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
    from opsgate.classify.families import filesystem

    for inner in filesystem.find_actions(cmd, w):
        dispatch(inner, w, [])


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
    items = _stdin_items(cmd)
    if items is None:
        # Arguments come from stdin at run time: the command runs on unknown operands.
        filled = [a if replace_str is None else Arg(a.value, a.value != replace_str) for a in rest]
        if replace_str is None:
            filled.append(Arg("$XARGS_INPUT", False))
        _run_inner(cmd, filled, w)
        return
    for item in items[:16]:
        if replace_str is not None:
            filled = [Arg(a.value.replace(replace_str, item)) for a in rest]
        else:
            filled = [*rest, Arg(item)]
        _run_inner(cmd, filled, w)


def _stdin_items(cmd: Command) -> list[str] | None:
    stdin = cmd.stdin
    if stdin is None or stdin.text is None or stdin.untrusted:
        return None
    sep = "\0" if cmd.has("-0", "--null") else None
    items = [s for s in stdin.text.split(sep) if s.strip()]
    return [s.strip() for s in items]


def _busybox(cmd: Command, w: Walker) -> None:
    """``busybox APPLET …`` is the applet itself."""
    if cmd.args and cmd.args[0].static and not cmd.args[0].value.startswith("-"):
        dispatch(_rebuild(cmd, list(cmd.args)), w, [])


def _npx(cmd: Command, w: Walker) -> None:
    script = cmd.option("-c", "--call")
    if script is not None:
        w.add(w.classify_shell(script, via=f"{cmd.name} -c"))
        return
    inner = unwrap(cmd, w)
    if inner is not None and inner is not _STOP:
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


_SPECIAL = {
    "cd": _cd,
    "pushd": _cd,
    "alias": _alias,
    "eval": _eval,
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
    **{name: _lookup_only for name in _LOOKUP_ONLY},
}

_ = Stdin  # re-exported type used by handlers through Command.stdin
