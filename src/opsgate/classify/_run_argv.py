"""A script's own arguments, bound where the script reads them.

``python3 scripts/rm.py build`` runs ``shutil.rmtree(sys.argv[1])`` on ``build``, as
the shell's ``rm -rf "$1"`` in ``./rm.sh build`` deletes ``build``.  Before Python is
read, ``sys.argv[N]`` (and ``argv[N]`` after ``from sys import argv``) becomes the
literal argument given, when every argument is known; an index past the arguments,
or arguments built at run time, stay as they are (unknown to the reading).  Node's
``process.argv[N]`` is bound the same way (``argv[0]`` is node, ``argv[1]`` the
script), so ``node scripts/clean.js build`` deletes ``build`` and ``… ~`` home.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from opsgate.classify._command import Arg

__all__ = ["bind_node_argv", "bind_python_argv"]

_SYS_ARGV = re.compile(r"\bsys\s*\.\s*argv\s*\[\s*(\d+)\s*\]")
_BARE_ARGV = re.compile(r"(?<![\w.])argv\s*\[\s*(\d+)\s*\]")
_FROM_SYS = re.compile(r"(?m)^\s*from\s+sys\s+import\s+[^\n]*\bargv\b")
_PROCESS_ARGV = re.compile(r"(?<![\w.$])process\s*\.\s*argv\s*\[\s*(\d+)\s*\]")


def bind_python_argv(text: str, script: str, args: tuple[Arg, ...]) -> str:
    """``text`` with its reads of ``sys.argv[N]`` replaced by the arguments given."""
    if "argv" not in text or not all(a.static for a in args):
        return text
    values = [script, *(a.value for a in args)]

    def literal(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return repr(values[index]) if index < len(values) else match.group(0)

    text = _SYS_ARGV.sub(literal, text)
    if _FROM_SYS.search(text):
        text = _BARE_ARGV.sub(literal, text)
    return text


def bind_node_argv(text: str, script: str, args: tuple[Arg, ...]) -> str:
    """``text`` with its reads of ``process.argv[N]`` replaced by the arguments given."""
    if "argv" not in text or not all(a.static for a in args):
        return text
    values = ["node", script, *(a.value for a in args)]

    def literal(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return json.dumps(values[index]) if index < len(values) else match.group(0)

    return _propagate(_PROCESS_ARGV.sub(literal, text))


# ``const dir = "docs";`` bound once from an argument: later uses of ``dir`` are that
# literal (JavaScript keeps ``${"docs"}`` and ``f("docs")`` valid).
_CONST = re.compile(r"""\b(?:const|let|var)\s+([A-Za-z_]\w*)\s*=\s*("(?:[^"\\\n]|\\.)*")\s*;?""")


def _propagate(text: str) -> str:
    for match in list(_CONST.finditer(text))[:8]:
        name, value = match.group(1), match.group(2)
        use = re.compile(rf"(?<![\w.$]){name}(?![\w$]|\s*(?:=(?!=)|:|\+\+|--|[-+*/]=))")
        rest = text[match.end() :]
        if re.search(rf"(?<![\w.$]){name}\s*(?:=(?!=)|\+\+|--|[-+*/]=)", rest):
            continue  # assigned again: not one value
        text = text[: match.end()] + use.sub(_constant(value), rest)
    return text


def _constant(value: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: value
