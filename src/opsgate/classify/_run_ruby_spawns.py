"""A Ruby script's processes started with a program and its arguments as separate words.

``system('rm', '-rf', File.join(__dir__, '..', 'tmp'))``, ``spawn('kubectl', 'get',
'pods')``, ``Open3.capture3('git', 'status')``: with two or more words Ruby runs the
program directly, no shell in between.  When every word is a literal (no ``#{}``) or a
path this reading resolves (``__dir__``, ``Dir.home``, ``File.join`` of those), and the
only options are ``exception:`` or a ``chdir:`` it resolves, the call is judged as that
command line (``shlex.join``; ``cd dir && …`` for ``chdir:``) and taken out of the code
before its other effects are read.  Anything else (one string, which the shell runs and
``_interp`` judges; an environment hash; a word built at run time; ``stdin_data:`` or
redirections) stays a process call opsgate cannot judge.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable

from opsgate.classify._interp_temp import _closing
from opsgate.classify._run_node_writes import _split_args
from opsgate.models import Finding

__all__ = ["project_spawns"]

_CALL = re.compile(
    r"(?<![\w$.:])(?:(?:Kernel|Process)\s*\.\s*)?"
    r"(?:system|spawn|exec|Open3\s*\.\s*(?:capture3|capture2e|capture2|popen3|popen2e|popen2))"
    r"\s*\("
)
_LITERAL = re.compile(r"""^(?:'((?:[^'\\\n]|\\[\\'])*)'|"([^"\\\n#]*)")$""")
_OPTION = re.compile(r"^(?::(\w+)\s*=>|(\w+):)\s*(.+)$", re.S)
_JOIN = re.compile(r"^File\s*\.\s*join\s*\((.*)\)$", re.S)
_MAX_CALLS = 16


def project_spawns(
    text: str, path: str, shell: Callable[[str], list[Finding]]
) -> tuple[str, list[Finding]]:
    """``text`` with the process calls it can judge blanked (same length), and what
    the command lines they run would do."""
    here = posixpath.dirname(path) or "."
    out, findings = text, list[Finding]()
    for match in list(_CALL.finditer(text))[:_MAX_CALLS]:
        end = _closing(text, match.end() - 1)
        if end is None:
            continue
        line = _command_line(_split_args(text[match.end() : end]), here)
        if line is None:
            continue
        findings += shell(line)
        out = out[: match.start()] + " " * (end + 1 - match.start()) + out[end + 1 :]
    return out, findings


def _command_line(args: list[str], here: str) -> str | None:
    words, chdir = [], None
    for arg in (a.strip() for a in args):
        option = _OPTION.match(arg)
        if option is None:
            word = _word(arg, here)
            if word is None:
                return None
            words.append(word)
        elif (option.group(1) or option.group(2)) == "chdir":
            chdir = _word(option.group(3).strip(), here)
            if chdir is None:
                return None
        elif (option.group(1) or option.group(2)) != "exception":
            return None
    if len(words) < 2:
        return None  # one string is a shell command line, judged where it is read
    line = shlex.join(words)
    return f"cd {shlex.quote(chdir)} && {line}" if chdir else line


def _word(expr: str, here: str) -> str | None:
    literal = _LITERAL.match(expr)
    if literal is not None:
        if literal.group(2) is not None:
            return literal.group(2)
        return literal.group(1).replace("\\'", "'").replace("\\\\", "\\")
    if expr == "__dir__":
        return here
    if expr in ("Dir.home", "Dir.home()", "ENV['HOME']", 'ENV["HOME"]'):
        return "~"
    join = _JOIN.match(expr)
    if join is not None:
        parts = [_word(p.strip(), here) for p in _split_args(join.group(1))]
        if parts and all(p is not None for p in parts):
            return posixpath.join(*(p for p in parts if p is not None))
    return None
