"""GitHub CLI aliases: ``gh NAME …`` where NAME is no gh command runs an alias.

``gh alias set co 'pr checkout'`` makes ``gh co 118`` run ``gh pr checkout 118``
(``$1``, ``$2`` … in the expansion take the arguments; the rest are appended); an
expansion that starts with ``!`` (or set with ``--shell``) is a shell line, run as
``sh -c EXPANSION`` with the arguments as ``$1`` ….  Aliases live under ``aliases:``
in gh's ``config.yml`` (``$GH_CONFIG_DIR``, else ``~/.config/gh``); one set earlier
in the same command is noted beside that file, like git's configuration
(``_git_pushcfg``), so the later call reads it.  The expansion is judged as what it
runs; an alias opsgate cannot read stays an unknown gh command.
"""

from __future__ import annotations

import re
import shlex

from opsgate.classify._command import Command, Context
from opsgate.models import Finding

__all__ = ["expand_alias", "note_alias"]

_NOTE_DIR = "opsgate-aliases/"  # a directory gh never writes
_UNKNOWN = "\x00unknown"  # an alias set to words opsgate cannot name
_MAX_DEPTH = 4
_ARG_REF = re.compile(r"\$(\d+)")


def note_alias(cmd: Command, ctx: Context) -> None:
    """``gh alias set [--shell] NAME EXPANSION``: noted for later calls."""
    scope = getattr(ctx, "scope", None)
    words = [a.value for a in cmd.args]
    at = words.index("set") + 1 if "set" in words else len(words)
    rest = list(cmd.args[at:])
    names = [a for a in rest if not a.value.startswith("-")]
    if scope is None or ctx.remote is not None or not names:
        return
    from opsgate.classify._shell_state import FileNote

    name = names[0].value
    value = _UNKNOWN
    if len(names) > 1 and names[1].static and names[1].value != "-":
        shell = any(a.value in ("-s", "--shell") for a in rest)
        value = ("!" if shell and not names[1].value.startswith("!") else "") + names[1].value
    scope.files[_config_dir(cmd, ctx) + _NOTE_DIR + name] = FileNote(value, False)


def expand_alias(
    cmd: Command, ctx: Context, pos: list[str], depth: int = 0
) -> list[Finding] | None:
    """What ``gh NAME ARGS`` (``pos``: its positional words) runs when NAME is an
    alias, judged; None when NAME is no alias opsgate can see."""
    if ctx.remote is not None or not pos or depth > _MAX_DEPTH:
        return None
    expansion = _alias(cmd, ctx, pos[0])
    if expansion is None:
        return None
    from opsgate.classify._shell_nodes import unknown

    if expansion == _UNKNOWN:
        return [unknown(f"gh alias {pos[0]} runs words opsgate cannot read", cmd.text)]
    args = pos[1:]
    if expansion.startswith("!"):
        script = shlex.join(["sh", "-c", expansion[1:], "gh", *args])
        return ctx.classify_shell(script, via=f"gh alias {pos[0]}", cwd=cmd.cwd, env=cmd.env)
    used: set[int] = set()

    def put(m: re.Match[str]) -> str:
        index = int(m.group(1))
        used.add(index)
        return shlex.quote(args[index - 1]) if 0 < index <= len(args) else ""

    line = _ARG_REF.sub(put, expansion)
    extra = [a for i, a in enumerate(args, 1) if i not in used]
    script = f"gh {line} {shlex.join(extra)}".rstrip()
    return ctx.classify_shell(script, via=f"gh alias {pos[0]}", cwd=cmd.cwd, env=cmd.env)


def _alias(cmd: Command, ctx: Context, name: str) -> str | None:
    directory = _config_dir(cmd, ctx)
    if directory.startswith("\x00"):
        return None
    scope = getattr(ctx, "scope", None)
    note = scope.files.get(directory + _NOTE_DIR + name) if scope is not None else None
    if note is not None:
        return note.text or _UNKNOWN
    return _configured(ctx.read_text(directory + "config.yml", cmd.cwd), name)


def _configured(text: str | None, name: str) -> str | None:
    """The expansion of ``name`` under ``aliases:`` in gh's config.yml text."""
    if not text or "aliases" not in text:
        return None
    from opsgate.classify._run_tasks import _parse_yaml

    config = _parse_yaml(text)
    aliases = config.get("aliases") if isinstance(config, dict) else None
    if not isinstance(aliases, dict) or name not in aliases:
        return None
    value = aliases[name]
    return value if isinstance(value, str) else _UNKNOWN


def _config_dir(cmd: Command, ctx: Context) -> str:
    """gh's configuration directory, ending in ``/`` (a variable set to something
    opsgate cannot read leaves an empty name, which holds no alias)."""
    given = _variable(cmd, ctx, "GH_CONFIG_DIR")
    if given:
        return given.rstrip("/") + "/"
    xdg = _variable(cmd, ctx, "XDG_CONFIG_HOME")
    base = xdg.rstrip("/") if xdg else ctx.home.rstrip("/") + "/.config"
    return "\x00/" if given is None or xdg is None else base + "/gh/"


def _variable(cmd: Command, ctx: Context, name: str) -> str | None:
    """The command's value of ``name``: "" when unset, None when unknown."""
    if name in cmd.env:
        return cmd.env[name]
    scope = getattr(ctx, "scope", None)
    if scope is None or name not in scope.vars:
        return ""
    value: str | None = scope.vars[name]
    return value
