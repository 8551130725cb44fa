"""A Node script's processes started with a program and an argument array it names.

``spawn('node', [path.join(__dirname, '..', 'src', 'server.js')], { env: { ...process.env,
PORT: '4010' } })`` in a test's global setup starts the project's own server.  When the
program is a literal, every element of the array a literal or a path this reading
resolves (``__dirname``, ``process.cwd()``, ``path.join``/``resolve``/``dirname`` of
those, a name declared once: ``_run_node_writes``), and the options only inherit the
environment and add literal variables, the call is judged as that command line — with
its variables in front, so ``NODE_OPTIONS`` and the like are judged as the shell's
would be — and taken out of the code before its other effects are read.  ``fork(p,
args)`` is ``node p args``; execa's ``execa(prog, args)`` reads the same way, Bun's
``Bun.spawnSync([prog, ...args])`` takes the program as the array's first word and
Deno's ``new Deno.Command(prog, { args })`` its arguments from the options.
``shell: true`` runs the words joined by spaces as a shell command line, and a ``cwd``
this reading resolves is where the line runs (``cd dir && …``).  Anything else (an
argument or a value built at run time, options passed by name) stays a process call
opsgate cannot judge.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from opsgate.classify._interp_temp import _closing
from opsgate.classify._run_node_writes import _LITERAL, _names, _resolve, _split_args
from opsgate.models import Finding

__all__ = ["project_spawns"]

_CALL = re.compile(
    r"(?<![\w$.])(?:(?:new\s+)?Deno\s*\.\s*(Command)|(?:[A-Za-z_$][\w$]*\s*\.\s*)?"
    r"(spawnSync|spawn|execFileSync|execFile|fork|execaSync|execa))\s*\("
)
_ENV_KEY = re.compile(
    r"""^(?:([A-Za-z_]\w*)|'([A-Za-z_]\w*)'|"([A-Za-z_]\w*)")\s*:\s*(.+)$""", re.S
)
_INHERIT = re.compile(r"^\.\.\.\s*process\s*\.\s*env$")
# Options that change nothing about what runs (``shell``, ``cwd``, ``argv0``, ``uid``
# and the rest do, and keep the call unjudged).
_HARMLESS_OPTIONS = frozenset({"stdio", "detached", "windowsHide", "timeout", "killSignal",
                               "encoding", "maxBuffer", "signal", "serialization",
                               "silent", "stdout", "stderr", "stdin", "reject",
                               "all", "buffer"})  # fmt: skip
_CALLBACK = re.compile(r"^(?:async\s*)?(?:function\b|\(?[\w$,\s]*\)?\s*=>)")
_MAX_CALLS = 16


def project_spawns(
    text: str, path: str, cwd: str, shell: Callable[[str], list[Finding]]
) -> tuple[str, list[Finding]]:
    """``text`` with the process calls it can judge blanked (same length), and what
    the command lines they run would do."""
    if not _CALL.search(text):
        return text, []
    here = posixpath.dirname(path)
    names = _names(text, here, cwd)
    out = text
    findings: list[Finding] = []
    for match in list(_CALL.finditer(text))[:_MAX_CALLS]:
        end = _closing(text, match.end() - 1)
        if end is None:
            continue
        call = match.group(1) or match.group(2)
        line = _command_line(call, _split_args(text[match.end() : end]), names, here, cwd)
        if line is None:
            continue
        findings += shell(line)
        out = out[: match.start()] + " " * (end + 1 - match.start()) + out[end + 1 :]
    return (_without_unused_import(out) if out != text else out), findings


# ``const { spawn } = require('child_process')``, ``const cp = require("node:child_process")``,
# ``import { spawn } from 'child_process'``, ``import * as cp from …``: the names bound.
_IMPORT = re.compile(
    r"""(?:\b(?:const|let|var)\s+(\{[^{}]*\}|[A-Za-z_$][\w$]*)\s*=\s*require\s*\(\s*"""
    r"""['"](?:node:)?child_process['"]\s*\)"""
    r"""|\bimport\s+(\{[^{}]*\}|\*\s*as\s+[A-Za-z_$][\w$]*|[A-Za-z_$][\w$]*)\s+from\s+"""
    r"""['"](?:node:)?child_process['"])\s*;?"""
)


def _without_unused_import(text: str) -> str:
    """``text`` without its ``child_process`` imports whose names nothing uses any more
    (every call through them judged above); one still used, or bound another way, stays
    an effect opsgate does not model."""
    for match in list(_IMPORT.finditer(text)):
        bound = match.group(1) or match.group(2) or ""
        names = re.findall(r"[A-Za-z_$][\w$]*", re.sub(r"\w+\s*:|\*\s*as", " ", bound))
        rest = text[: match.start()] + text[match.end() :]
        used = (re.search(rf"(?<![\w$.]){re.escape(n)}(?![\w$])", rest) for n in names)
        if names and not any(used):
            text = text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
    return text


def _command_line(
    call: str, args: list[str], names: dict[str, str], here: str, cwd: str
) -> str | None:
    if call == "execFile" and args and _CALLBACK.match(args[-1].strip()):
        args = args[:-1]
    program: list[str] | None
    argv: list[str] | None
    if args and args[0].strip().startswith("["):  # ``Bun.spawnSync(['git', 'status'])``
        words = _array(args[0], names, here, cwd)
        program, argv, args = (words[:1], words[1:], ["", "", *args[1:]]) if words else ([], [], [])
    elif len(args) == 2 and args[1].strip().startswith("{"):  # ``spawn(cmd, { shell: true })``
        program, argv, args = _program(call, args[0], names, here, cwd), [], [args[0], "", args[1]]
    else:
        program = _program(call, args[0], names, here, cwd) if args else None
        argv = _array(args[1], names, here, cwd) if len(args) > 1 else []
    if not args or len(args) > 3 or not program or not program[0]:
        return None
    options = _options(args[2], names, here, cwd) if len(args) > 2 else _Options({})
    if argv is None or options is None:
        return None
    argv = [*argv, *options.args]
    assignments = [f"{key}={shlex.quote(value)}" for key, value in options.env.items()]
    # ``shell: true`` hands the words, joined by spaces, to ``/bin/sh -c``.
    line = " ".join([*program, *argv]) if options.shell else shlex.join([*program, *argv])
    line = " ".join([*assignments, line])
    return f"cd {shlex.quote(options.cwd)} && {line}" if options.cwd else line


def _program(call: str, expr: str, names: dict[str, str], here: str, cwd: str) -> list[str] | None:
    """``fork(p)`` runs ``node p``; the others the program their literal names."""
    if call == "fork":
        module = _resolve(expr, names, here, cwd, 0)
        return None if module is None else ["node", module]
    literal = _LITERAL.match(expr.strip())
    return None if literal is None else [literal.group(1) or literal.group(2) or ""]


@dataclass
class _Options:
    env: dict[str, str]
    shell: bool = False
    cwd: str | None = None
    args: list[str] = field(default_factory=list)


def _array(expr: str, names: dict[str, str], here: str, cwd: str) -> list[str] | None:
    """The strings an array literal holds: literals as written, paths resolved."""
    expr = expr.strip()
    if not (expr.startswith("[") and _closing(expr, 0) == len(expr) - 1):
        return None
    out = []
    for item in _split_args(expr[1:-1]):
        literal = _LITERAL.match(item.strip())
        value = (literal.group(1) or literal.group(2) or "") if literal else None
        if value is None:
            value = _resolve(item, names, here, cwd, 0)
        if value is None:
            return None
        out.append(value)
    return out


def _options(expr: str, names: dict[str, str], here: str, cwd: str) -> _Options | None:
    """What the options change about the command line: variables added to an inherited
    environment, ``shell: true``, a ``cwd`` this reading resolves, Deno's ``args``;
    None when they do more than that (or anything this reading cannot tell)."""
    expr = expr.strip()
    if not (expr.startswith("{") and _closing(expr, 0) == len(expr) - 1):
        return None
    found = _Options({})
    added = found.env
    for option in _split_args(expr[1:-1]):
        key = _ENV_KEY.match(option.strip())
        if key is None:
            return None
        name = key.group(1) or key.group(2) or key.group(3)
        if name == "env":
            variables = _variables(key.group(4).strip())
            if variables is None:
                return None
            added.update(variables)
        elif name == "shell" and key.group(4).strip() in ("true", "false"):
            found.shell = key.group(4).strip() == "true"
        elif name == "cwd":
            found.cwd = _resolve(key.group(4), names, here, cwd, 0)
            if found.cwd is None:
                return None
        elif name == "args":
            words = _array(key.group(4), names, here, cwd)
            if words is None:
                return None
            found.args = words
        elif name not in _HARMLESS_OPTIONS:
            return None
    return found


def _variables(expr: str) -> dict[str, str] | None:
    if not (expr.startswith("{") and _closing(expr, 0) == len(expr) - 1):
        return None
    items = _split_args(expr[1:-1])
    if not items or not _INHERIT.match(items[0].strip()):
        return None  # a whole new environment: not the inherited one this reading knows
    out: dict[str, str] = {}
    for item in items[1:]:
        key = _ENV_KEY.match(item.strip())
        literal = _LITERAL.match(key.group(4).strip()) if key else None
        if key is None or literal is None:
            return None
        name = key.group(1) or key.group(2) or key.group(3)
        out[name] = literal.group(1) or literal.group(2) or ""
    return out
