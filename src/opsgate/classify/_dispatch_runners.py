"""Runners whose arguments or input are shell command lines, not one program's words.

``parallel ::: 'npm test' 'rm -rf ~'`` and ``parallel < jobs.txt`` (no command: each
argument or line is a command), ``entr -s 'CMD'`` (``$SHELL -c CMD`` on each change),
``nodemon --exec 'CMD'``: each such line is classified as a shell command.  Lines that
cannot be seen (a pipe from another program, a file in another command) are
``unknown``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command
from opsgate.classify._shell_nodes import unknown

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["RUNNERS", "parallel", "short_cluster_takes_next"]

# GNU parallel's input separators: ``:::`` arguments, ``::::`` files of arguments
# (``:::+``/``::::+`` link them to the previous source).
_ARGS = frozenset({":::", ":::+"})
_FILES = frozenset({"::::", "::::+"})


def short_cluster_takes_next(word: str, valued: frozenset[str]) -> bool:
    """Whether a cluster of short options (``-dmS``) ends in one that takes the next
    word, read as getopt does: the first valued letter takes the rest of the word
    (``-uroot``) or, when it is last, the next word."""
    if word.startswith("--") or len(word) < 3 or not word[1:].isalnum():
        return False
    for i, letter in enumerate(word[1:], 1):
        if f"-{letter}" in valued:
            return i == len(word) - 1
    return False


def parallel(cmd: Command, args: list[Arg], template: list[Arg], w: Walker) -> bool:
    """GNU parallel given no command: its arguments, its argument files or its input
    are the commands.  True when that is the case (and they were classified)."""
    if template:
        return False
    words = [a.value for a in args]
    sources = [i for i, word in enumerate(words) if word in _ARGS | _FILES]
    for i in sources:
        for item in _source(args, i + 1):
            if words[i] in _ARGS:
                _line(w, item, "parallel :::")
            else:
                _lines_of_file(w, cmd, item, "parallel ::::")
    for name in cmd.options("-a", "--arg-file"):
        _lines_of_file(w, cmd, Arg(name), "parallel -a")
    if sources or cmd.option("-a", "--arg-file") is not None:
        return True
    if cmd.stdin is None:
        return True  # an agent's command has no input: nothing to run (``parallel --version``)
    if cmd.stdin.text is None or cmd.stdin.untrusted:
        from opsgate.classify.families._shells_run import run_code

        w.add(run_code(replace(cmd, name="sh"), w, cmd.stdin, "parallel (stdin)"))
    else:
        w.add(w.classify_shell(cmd.stdin.text, via="parallel (stdin)", cwd=cmd.cwd))
    return True


def _source(args: list[Arg], start: int) -> list[Arg]:
    out = []
    for arg in args[start:]:
        if arg.value in _ARGS | _FILES:
            break
        out.append(arg)
    return out


def _line(w: Walker, item: Arg, via: str) -> None:
    if not item.static:
        w.add([unknown(f"{via} runs a command built at run time", item.value)])
        return
    w.add(w.classify_shell(item.value, via=via))


def _lines_of_file(w: Walker, cmd: Command, name: Arg, via: str) -> None:
    """Each line of the file ``name`` is a command: judged as a shell script."""
    from opsgate.classify import _run_files

    if not name.static or name.value in ("-", "/dev/stdin"):
        w.add([unknown(f"{via} runs commands from input opsgate cannot see", cmd.text)])
        return
    loaded = _run_files.load(w, name.value, cmd.cwd)
    w.add(_run_files.judge(w, loaded, "shell", where=f"{via} {name.value}", cwd=cmd.cwd))


def _entr(cmd: Command, rest: list[Arg], w: Walker) -> bool:
    """``entr -s 'CMD'``: the first argument is a shell command line."""
    shell = any(
        a.value.startswith("-") and not a.value.startswith("--") and "s" in a.value[1:]
        for a in cmd.args[: len(cmd.args) - len(rest)]
    )
    if not shell or not rest:
        return False
    _line(w, rest[0], "entr -s")
    return True


RUNNERS = {"entr": _entr}
