"""Shells and interpreters: the commands that run other code.

``bash -c STR``, a here-doc fed to ``sh``, ``python -c``, ``perl -e`` …: the code
is classified as what it is.  Code from the network or a decoder (``curl … | sh``,
``base64 -d | bash``) is at least caution and never auto-allowed, whatever it
decodes to; code the classifier cannot see at all is ``unknown``.
"""

from __future__ import annotations

import re

from opsgate.classify._command import Arg, Command, Context, Handler
from opsgate.classify.families._ci_runners import CI_RUNNER_HANDLERS
from opsgate.classify.families._shells_interpreters import _dash_c, _interpreter, _shell
from opsgate.classify.families._shells_opaque import OPAQUE_HANDLERS
from opsgate.classify.families._shells_run import (
    _LANGS,
    SHELLS,
    _unknown,
    run_code,
    run_script_file,
    run_stdin_script,
)
from opsgate.classify.families._task_runners import TASK_HANDLERS
from opsgate.classify.families._task_targets import task_findings
from opsgate.models import Finding

__all__ = ["HANDLERS", "run_script_file", "run_stdin_script"]


def _vim(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._vim_ex import vim_findings

    return vim_findings(cmd, ctx)


def _ed(cmd: Command, ctx: Context) -> list[Finding]:
    """``ed``/``ex`` scripts on stdin: a line ``!cmd`` runs a shell command."""
    text = cmd.stdin.text if cmd.stdin is not None else None
    if text is None:
        return []
    out: list[Finding] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("!"):
            out += ctx.classify_shell(stripped[1:], via=cmd.name)
        elif re.match(r"^[0-9,.$]*r\s*!", stripped) or re.match(r"^[0-9,.$]*w\s*!", stripped):
            out += ctx.classify_shell(stripped.split("!", 1)[1], via=cmd.name)
    return out


def _make(cmd: Command, ctx: Context) -> list[Finding]:
    makefile = cmd.option("-f", "--file", "--makefile")
    if makefile in ("-", "/dev/stdin") and cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, "make -f -")
    from opsgate.classify._run_make import make_findings

    found = make_findings(cmd, ctx)
    if cmd.has("-n", "--dry-run", "--just-print", "--recon", "-q", "--question"):
        return found
    words = [a.value for a in cmd.positionals(_MAKE_VALUED)]
    targets = [w for w in words if "=" not in w]
    return found + task_findings(cmd, ctx, targets, [w for w in words if "=" in w])


_MAKE_VALUED = ("-C", "--directory", "-f", "--file", "--makefile", "-o", "-W", "-I", "-l")


def _su(cmd: Command, ctx: Context) -> list[Finding]:
    script = cmd.option("-c", "--command")
    if script is not None:
        return ctx.classify_shell(script, via="su -c")
    if cmd.stdin is not None:
        return run_code(
            Command("sh", (), cmd.text, stdin=cmd.stdin, cwd=cmd.cwd), ctx, cmd.stdin, "su"
        )
    return [_unknown("su opens an interactive shell as another user", cmd.text)]


def _script(cmd: Command, ctx: Context) -> list[Finding]:
    script = cmd.option("--command") or _dash_c(cmd)
    if script is None:
        return []
    if isinstance(script, Arg):
        if not script.static:
            return [_unknown("script -c runs a string built at run time", cmd.text)]
        script = script.value
    return ctx.classify_shell(script, via="script -c")


_TMUX_RUNS = frozenset({"new-session", "new", "new-window", "neww", "split-window", "splitw",
                        "respawn-pane", "respawnp", "respawn-window", "respawnw", "run-shell",
                        "run", "display-popup", "popup", "if-shell", "if"})  # fmt: skip
_TMUX_VALUED = ("-s", "-n", "-c", "-t", "-x", "-y", "-e", "-F", "-l", "-w", "-h", "-L", "-S", "-f")


def _tmux(cmd: Command, ctx: Context) -> list[Finding]:
    words = cmd.words
    ops = cmd.positionals(_TMUX_VALUED)
    if ops and ops[0].value in _TMUX_RUNS and len(ops) > 1:
        return ctx.classify_shell(" ".join(a.value for a in ops[1:]), via=f"tmux {ops[0].value}")
    if "send-keys" in words or "send" in words:
        keys = [
            w
            for w in words[words.index("send-keys" if "send-keys" in words else "send") + 1 :]
            if not w.startswith("-") and w not in ("Enter", "C-m")
        ]
        return ctx.classify_shell(" ".join(keys[1:] if len(keys) > 1 else keys), via="tmux")
    return []


def _expect(cmd: Command, ctx: Context) -> list[Finding]:
    """``expect -c 'spawn CMD …'``: each spawned command runs."""
    script = cmd.option("-c")
    if script is None:
        return []
    out: list[Finding] = []
    for m in re.finditer(r"\bspawn\s+([^;\n]+)", script):
        out += ctx.classify_shell(m.group(1), via="expect spawn")
    for m in re.finditer(r"\bexec\s+([^;\n]+)", script):
        out += ctx.classify_shell(m.group(1), via="expect exec")
    return out


def _osascript(cmd: Command, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for script in cmd.options("-e"):
        for m in re.finditer(r'do shell script\s+"((?:[^"\\]|\\.)*)"', script):
            out += ctx.classify_shell(m.group(1).replace('\\"', '"'), via="osascript")
    return out


def _nix(cmd: Command, ctx: Context) -> list[Finding]:
    script = cmd.option("--run", "--command", "-c")
    return ctx.classify_shell(script, via=cmd.name) if script else []


HANDLERS: dict[str, Handler] = {
    **{name: _shell for name in SHELLS},
    **{name: _interpreter for names in _LANGS.values() for name in names},
    "python": _interpreter,
    "python3": _interpreter,
    "python2": _interpreter,
    "pypy": _interpreter,
    "pypy3": _interpreter,
    "vim": _vim,
    "vi": _vim,
    "nvim": _vim,
    "ex": _vim,
    "view": _vim,
    "ed": _ed,
    "red": _ed,
    "make": _make,
    "gmake": _make,
    "su": _su,
    "script": _script,
    "tmux": _tmux,
    "nix-shell": _nix,
    "expect": _expect,
    "osascript": _osascript,
    "nix": _nix,
    **TASK_HANDLERS,
    **CI_RUNNER_HANDLERS,
    **OPAQUE_HANDLERS,
}
for _minor in range(6, 15):
    HANDLERS[f"python3.{_minor}"] = _interpreter
