"""Vim's command line (``-c``, ``--cmd``, ``+CMD``, ``-S FILE``) read for what runs.

``vim -es -c 'call system("rm -rf ~")' -c 'qa!'`` runs a shell command as surely as
``:!rm -rf ~`` does.  An Ex command runs a shell through ``!`` (also after a range,
``r`` or ``w``), ``:terminal``, and the functions in ``_SHELL_FUNCTIONS``; with a
literal string its command is classified, otherwise it is ``unknown``.  Code for an
embedded interpreter (``:py3``, ``:lua``, ``:perl``, ``:ruby``) is judged as that
language; ``:execute`` and ``:source`` of what opsgate cannot read are ``unknown``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["vim_findings"]

_SHELL_FUNCTIONS = r"(?:system|systemlist|jobstart|job_start|termopen|term_start)"
_CALL = re.compile(rf"\b{_SHELL_FUNCTIONS}\s*\(\s*(?:'((?:[^']|'')*)'|\"((?:[^\"\\]|\\.)*)\")?")
# ``:!cmd``, ``:%!cmd``, ``:r !cmd``, ``:w !cmd`` (``:w!`` alone forces a write).
_BANG = re.compile(r"^(?:[0-9,.$%<>+-]|'[a-z<>])*\s*(?:r(?:ead)?\s*|w(?:rite)?\s+)?!(.+)$")
_TERMINAL = re.compile(r"^ter(?:m(?:inal)?)?!?\s+(?:\+\+\S+\s+)*(.+)$")
_LANGUAGES = {"py": "python", "py3": "python", "python": "python", "python3": "python",
              "pyx": "python", "pythonx": "python", "lua": "lua", "perl": "perl",
              "ruby": "ruby", "rub": "ruby"}  # fmt: skip
_MODIFIERS = re.compile(r"^(?:sil(?:ent)?!?|keepalt|noautocmd|noa|keepj(?:umps)?)\s+")
_SOURCE = re.compile(r"^so(?:urce)?!?\s+(.+)$")
_MAX_LINES = 200


def vim_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """What the Ex commands given on vim's command line (and its ``-S`` files) run."""
    commands = cmd.options("-c", "--cmd") + [w[1:] for w in cmd.words if w.startswith("+")]
    found: list[Finding] = []
    for line in commands:
        found += ex_line(line, ctx, cmd.text)
    for name in cmd.options("-S"):
        found += _sourced(name, cmd, ctx)
    return found


def ex_line(line: str, ctx: Context, text: str, depth: int = 0) -> list[Finding]:
    """One Ex command line (``|`` separates commands except after ``!``)."""
    found: list[Finding] = []
    rest = line.strip()
    while rest:
        rest = _MODIFIERS.sub("", rest.lstrip(": \t"))
        bang = _BANG.match(rest)
        if bang is not None:
            return found + ctx.classify_shell(bang.group(1), via="vim !")
        head, _, tail = rest.partition("|") if not _keeps_bars(rest) else (rest, "", "")
        found += _one(head.strip(), ctx, text, depth)
        rest = tail
    return found


def _keeps_bars(command: str) -> bool:
    """Commands that take ``|`` as part of their argument (``:py3``, ``:normal`` …)."""
    word = re.match(r"[a-z0-9]+", command)
    return word is not None and (word.group(0) in _LANGUAGES or word.group(0).startswith("norm"))


def _one(command: str, ctx: Context, text: str, depth: int) -> list[Finding]:
    found: list[Finding] = []
    for m in _CALL.finditer(command):
        literal = m.group(1) if m.group(1) is not None else m.group(2)
        if literal is None:
            found.append(unknown("vim calls a shell with a command built at run time", text))
        else:
            found += ctx.classify_shell(literal.replace("''", "'").replace('\\"', '"'), via="vim")
    terminal = _TERMINAL.match(command)
    if terminal is not None:
        found += ctx.classify_shell(terminal.group(1), via="vim :terminal")
    word, _, code = command.partition(" ")
    lang = _LANGUAGES.get(word.rstrip("!"))
    if lang is not None:
        found += _embedded(lang, code, ctx)
    elif re.match(r"^exe(?:c(?:ute)?)?\s", command):
        found += _execute(command.split(None, 1)[1], ctx, text, depth)
    elif _SOURCE.match(command):
        found.append(unknown("vim sources a script opsgate does not read", text))
    return found


def _execute(expr: str, ctx: Context, text: str, depth: int) -> list[Finding]:
    """``:execute "!rm -rf x"``: a literal string is one more Ex line."""
    m = re.fullmatch(r"\s*(?:'((?:[^']|'')*)'|\"((?:[^\"\\]|\\.)*)\")\s*", expr)
    if m is None or depth > 3:
        return [unknown("vim executes a command built at run time", text)]
    literal = m.group(1) if m.group(1) is not None else m.group(2)
    return ex_line(literal, ctx, text, depth + 1)


def _embedded(lang: str, code: str, ctx: Context) -> list[Finding]:
    from opsgate.classify._interp import analyse_script
    from opsgate.classify.families._shells_run import _python

    if lang == "python":
        return _python(code, Command("python", (), code), ctx)
    return analyse_script(
        lang, code, ctx, lambda t: ctx.classify_shell(t, via="vim"), printed=False
    )


def _sourced(name: str, cmd: Command, ctx: Context) -> list[Finding]:
    """``vim -S script.vim``: each line of the file is an Ex command."""
    from opsgate.classify import _run_files
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker):
        return []
    w: Walker = ctx
    loaded = _run_files.load(w, name, cmd.cwd)
    if loaded.state == "missing":
        return []
    if loaded.text is None:
        return [_run_files.cannot(loaded, f"vim -S {name}")]
    found: list[Finding] = []
    for line in loaded.text.splitlines()[:_MAX_LINES]:
        if not line.lstrip().startswith('"'):
            found += ex_line(line, ctx, cmd.text)
    return found
