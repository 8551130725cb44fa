"""Unwrapping: from ``sudo -u x env A=1 timeout 5 cmd`` to ``cmd``."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command
from opsgate.classify._dispatch_runners import RUNNERS, parallel, short_cluster_takes_next
from opsgate.classify._dispatch_wrappers import (
    _VERB_PROGRAMS,
    _VERB_SKIP,
    _VERB_WRAPPERS,
    WRAPPERS,
    Wrapper,
)

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["_STOP", "_rebuild", "_run_inner", "unwrap"]


# Python project runners whose ``run`` may name a project script (``_run_pyproject``).
_PY_RUNNERS = frozenset({"uv", "poetry", "pdm", "hatch", "rye", "pipenv"})


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
        if head is not None and args[head].value in _VERB_PROGRAMS.get(cmd.name, ()):
            return _rebuild(cmd, args[head:])
        if head is None or args[head].value not in verbs:
            return None  # `npm install`, `uv sync`: the tool itself, not a wrapper
        args = args[head + 1 :]
        args = args[_VERB_SKIP.get(cmd.name, 0) :]
        spec = Wrapper(spec.valued)
    if cmd.name == "env":
        return _unwrap_env(cmd, args, w)
    if cmd.name in _SHELL_STRING and _shell_string_option(cmd):
        text = _shell_string_option(cmd) or ""
        w.add(w.classify_shell(text, via=cmd.name))
        return _STOP
    if cmd.name == "parallel":
        return _unwrap_parallel(cmd, args, w)
    rest = _skip_options(args, spec)
    if rest is None:
        return _no_command(cmd, spec, w)
    runner = RUNNERS.get(cmd.name)
    if runner is not None and runner(cmd, rest, w):  # ``entr -s 'CMD'``
        return _STOP
    if verbs is not None and cmd.name in _PY_RUNNERS:
        from opsgate.classify._run_pyproject import project_run

        rest = project_run(cmd, rest, w)
    if cmd.name == "watch" and len(rest) == 1:
        w.add(w.classify_shell(rest[0].value, via="watch"))
        return _STOP
    if cmd.name == "direnv" and verbs is not None:
        return _direnv_exec(cmd, rest, w)
    if cmd.name in _PACKAGE_RUNNERS and rest[0].static:
        rest = [replace(rest[0], value=_PINNED.sub(r"\1", rest[0].value)), *rest[1:]]
    return _rebuild(cmd, rest)


# ``npx zx@8.1.0 x.mjs``, ``bunx tsx@latest x.ts``: the package runners run the
# program of the package at that version; it is judged by its name.
_PACKAGE_RUNNERS = frozenset({"npx", "bunx", "pnpx", "npm", "pnpm", "yarn"})
_PINNED = re.compile(r"^([a-z0-9][\w.-]*)@[^/@\s]+$", re.I)


_EXPORT = re.compile(
    r"""(?m)^\s*export\s+([A-Za-z_]\w*)=(?:"([^"$`\\]*)"|'([^']*)'|([^\s"'$`;&|]*))\s*$"""
)


def _direnv_exec(cmd: Command, rest: list[Arg], w: Walker) -> Command:
    """``direnv exec DIR CMD``: bash runs DIR/.envrc first (its commands are judged),
    and CMD runs with what it exports (``DOCKER_HOST=ssh://…prod…`` decides where
    ``docker compose up`` acts)."""
    given = cmd.after("exec")[:1]
    directory = given[0].value if given and given[0].static else "."
    full = w.workspace.expand(f"{directory.rstrip('/')}/.envrc", cmd.cwd or w.scope.cwd)
    note = w.scope.files.get(full) if full else None
    text = note.text if note is not None else w.session.files.read_code(full) if full else None
    if not text:
        return _rebuild(cmd, rest)
    w.add(w.classify_shell(text, via=f"direnv exec ({directory}/.envrc)", cwd=cmd.cwd))
    exported = {
        m.group(1): next(g for g in m.groups()[1:] if g is not None) for m in _EXPORT.finditer(text)
    }
    inner = _rebuild(cmd, rest)
    return replace(inner, env={**inner.env, **exported})


def _first_positional(args: list[Arg], spec: Wrapper) -> int | None:
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg.value.startswith("-") and arg.value not in ("--",):
            skip = arg.value in spec.valued or short_cluster_takes_next(arg.value, spec.valued)
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
        if word in spec.valued or short_cluster_takes_next(word, spec.valued):
            i += 1  # ``screen -dmS NAME CMD``: the cluster's last letter takes NAME
    i += spec.skip
    rest = args[i:]
    return rest or None


def _rebuild(cmd: Command, rest: list[Arg]) -> Command:
    from opsgate.classify.shell import canonical_name

    head = rest[0]
    if not head.static:
        return Command("$dynamic", tuple(rest[1:]), cmd.text, cmd.env, cmd.stdin, cmd.cwd)
    path = head.value if "/" in head.value else None
    return Command(
        canonical_name(head.value), tuple(rest[1:]), cmd.text, cmd.env, cmd.stdin, cmd.cwd, path
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


# Wrappers that can take the command as one shell string.
_SHELL_STRING = frozenset({"watch", "flock", "su", "script", "doppler", "infisical"})


def _shell_string_option(cmd: Command) -> str | None:
    """``su -c 'CMD'``, ``flock LOCK -c 'CMD'``, ``script -c 'CMD'``, ``watch 'CMD'``,
    ``doppler run --command 'CMD'`` (doppler's ``-c`` is ``--config``)."""
    if cmd.name in ("su", "flock", "script"):
        return cmd.option("-c", "--command")
    if cmd.name in ("doppler", "infisical"):
        return cmd.option("--command")
    return None


def _unwrap_parallel(cmd: Command, args: list[Arg], w: Walker) -> Command:
    words = [a.value for a in args]
    split = next((i for i, word in enumerate(words) if word.startswith(":::")), len(words))
    template = _skip_options(args[:split], WRAPPERS["parallel"]) or []
    if parallel(cmd, args, template, w):  # no command: the arguments or input are commands
        return _STOP
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
    from opsgate.classify._dispatch import dispatch  # lazy: _dispatch imports this module

    dispatch(_rebuild(replace(cmd, stdin=None), args), w, [])
