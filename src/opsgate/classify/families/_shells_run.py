"""Running code: scripts, stdin and code strings handed to a shell or interpreter."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context, Stdin
from opsgate.classify._interp import analyse_python, analyse_script
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = [
    "SHELLS",
    "_LANGS",
    "_language",
    "_python",
    "_shell_fn",
    "_unknown",
    "run_code",
    "run_script_file",
    "run_stdin_script",
]

SHELLS = frozenset(
    {
        "bash",
        "sh",
        "zsh",
        "dash",
        "ksh",
        "mksh",
        "ash",
        "fish",
        "busybox",
        "rbash",
        "tcsh",
        "csh",
        "yash",
        "posh",
    }
)


_unknown = unknown  # the classifier's one "cannot model this" finding


def _fetch_exec(cmd: Command, source: str) -> Finding:
    return Finding(
        "network.fetch_exec" if not source.startswith("decoded") else "evasion.decode_exec",
        Impact.CAUTION,
        Effect.UNKNOWN,
        cmd.text,
        f"{cmd.name} runs code from {source.split(':', 1)[-1]} that nobody has reviewed",
    )


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) else None


def run_code(cmd: Command, ctx: Context, code: Stdin, via: str) -> list[Finding]:
    """Run ``code`` in the interpreter ``cmd`` names; mark untrusted sources."""
    findings: list[Finding] = []
    if code.untrusted:
        findings.append(_fetch_exec(cmd, code.source))
    if code.text is None:
        if not code.untrusted:
            findings.append(
                _unknown(f"{cmd.name} runs code the guard cannot see ({code.source})", cmd.text)
            )
        return findings
    lang = "shell" if cmd.name in ("source", ".", "at", "batch") else _language(cmd.name)
    if lang == "shell":
        findings += ctx.classify_shell(code.text, via=via, cwd=cmd.cwd)
    elif lang == "python":
        findings += _python(code.text, cmd, ctx)
    elif lang == "make":
        findings += _makefile(code.text, ctx)
    elif lang is not None:
        findings += analyse_script(lang, code.text, ctx, _shell_fn(ctx, via), printed=False)
    return findings


def run_script_file(
    cmd: Command, ctx: Context, *, via: str, valued: tuple[str, ...] = ()
) -> list[Finding]:
    """``source FILE``, ``bash FILE``: a process substitution, a file written in this
    command, or the file on disk, judged by what it runs (``_run_files``).  ``valued``:
    the shell's options that take a value (``bash -o pipefail FILE``)."""
    ops = cmd.positionals(valued)
    if not ops:
        return run_stdin_script(cmd, ctx, via=via, default_unknown=False)
    path = ops[0]
    w = _walker(ctx)
    if not path.static:
        return [_unknown(f"{via} runs a script whose path is built at run time", cmd.text)]
    if path.value in ("/dev/stdin", "-", "/proc/self/fd/0", "/dev/fd/0"):
        return run_stdin_script(cmd, ctx, via=via, default_unknown=True)
    if w is None:
        return []
    if path.value in w.procs:
        return run_code(cmd, ctx, w.procs[path.value] or Stdin(None, "process substitution"), via)
    from opsgate.classify import _run_files

    lang = "shell" if cmd.name in ("source", ".") else _run_files.language_of(cmd.name)
    loaded = _run_files.load(w, path.value, cmd.cwd)
    return _run_files.judge(
        w,
        loaded,
        lang or "shell",
        where=f"{via} {path.value}",
        cwd=cmd.cwd,
        args=tuple(ops[1:]),
        sourced=cmd.name in ("source", "."),
    )


def run_stdin_script(
    cmd: Command, ctx: Context, *, via: str, default_unknown: bool
) -> list[Finding]:
    if cmd.stdin is not None:
        return run_code(cmd, ctx, cmd.stdin, via)
    if default_unknown:
        return [_unknown(f"{via} reads commands from input the guard cannot see", cmd.text)]
    return []


def _language(name: str) -> str | None:
    if name in SHELLS:
        return "shell"
    if re.fullmatch(r"(python|pypy)[0-9.]*|ipython3?", name):
        return "python"
    for lang, names in _LANGS.items():
        if name in names or re.fullmatch(rf"({'|'.join(names)})[0-9.]*", name):
            return lang
    if name in ("make", "gmake"):
        return "make"
    return None


_LANGS = {
    "perl": ("perl",),
    "ruby": ("ruby", "irb"),
    "node": ("node", "nodejs", "deno", "bun", "tsx", "ts-node", "zx"),
    "php": ("php",),
    "lua": ("lua", "luajit"),
    "awk": ("awk", "gawk", "mawk", "nawk", "busybox awk"),
    "r": ("Rscript", "R"),
    "elixir": ("elixir", "iex"),
    "elisp": ("emacs",),
    "julia": ("julia",),
}


def _shell_fn(ctx: Context, via: str):  # type: ignore[no-untyped-def]  # a closure over ctx
    return lambda text: ctx.classify_shell(text, via=via)


def _delete_fn(ctx: Context, cmd: Command):  # type: ignore[no-untyped-def]  # a closure over ctx
    from opsgate.classify.families.filesystem import delete_findings

    def delete(path: str, recursive: bool) -> list[Finding]:
        probe = Command("rm", (Arg(path),), cmd.text, cwd=cmd.cwd)
        return delete_findings(probe, [Arg(path)], ctx, recursive=recursive)

    return delete


def _python(code: str, cmd: Command, ctx: Context) -> list[Finding]:
    return analyse_python(code, ctx, _shell_fn(ctx, "python"), _delete_fn(ctx, cmd))


def _makefile(text: str, ctx: Context) -> list[Finding]:
    recipes = [line[1:] for line in text.splitlines() if line.startswith("\t")]
    return ctx.classify_shell("\n".join(r.lstrip("@-+") for r in recipes), via="make")
