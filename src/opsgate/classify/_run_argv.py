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
from collections.abc import Callable, Mapping

from opsgate.classify._command import Arg

__all__ = ["bind_go_flags", "bind_node_argv", "bind_node_port", "bind_python_argv"]

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


_PROCESS_ENV = re.compile(
    r"""(?<![\w.$])process\s*\.\s*env\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*(['"])([A-Za-z_]\w*)\2\s*\])"""
)


def bind_node_port(text: str, env: Mapping[str, str]) -> str:
    """``text`` with its reads of ``process.env.NAME`` replaced by the number the command
    sets (``PORT=4010 node server.js``): a server then listens on that TCP port as if
    written there.  Only numbers are bound; any other value (a socket path, say) stays
    a read opsgate cannot judge."""
    if "env" not in text:
        return text

    def number(match: re.Match[str]) -> str:
        value = env.get(match.group(1) or match.group(3) or "")
        return value if value is not None and re.fullmatch(r"\d{1,5}", value) else match.group(0)

    return _PROCESS_ENV.sub(number, text)


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


# Go's flag package: ``out := flag.String("out", "gen.go", "usage")`` and
# ``flag.StringVar(&out, "out", "gen.go", "usage")`` (usage a literal, as it is).
_GO_STR = r'(?:"(?:[^"\\\n]|\\.)*"|`[^`]*`)'
_GO_FLAG = re.compile(rf'\bflag\.String\(\s*"([\w.-]+)"\s*,\s*({_GO_STR})\s*,\s*{_GO_STR}\s*\)')
_GO_FLAG_VAR = re.compile(
    rf'\bflag\.StringVar\(\s*&\s*([A-Za-z_]\w*)\s*,\s*"([\w.-]+)"\s*,\s*({_GO_STR})\s*,'
    rf"\s*{_GO_STR}\s*\)"
)


def go_flag_values(args: tuple[Arg, ...]) -> dict[str, str] | None:
    """``-name value``, ``--name value`` and ``-name=value`` as the flag package reads
    them (up to the first operand); None when an argument is built at run time."""
    if not all(a.static for a in args):
        return None
    words, values, i = [a.value for a in args], {}, 0
    while i < len(words) and words[i].startswith("-") and words[i] not in ("-", "--"):
        name, eq, value = words[i].lstrip("-").partition("=")
        if eq:
            values[name] = value
        elif i + 1 < len(words):
            values[name] = words[i + 1]  # a boolean flag here only misreads its neighbour
            i += 1
        i += 1
    return values


def bind_go_flags(text: str, args: tuple[Arg, ...]) -> str:
    """``text`` with its string flags replaced by the values given on the command line
    (or their literal defaults): ``os.WriteFile(*out, …)`` of ``go run ./gen -out
    zz_gen.go`` writes ``zz_gen.go``.  Read by ``_compiled_effects`` like any literal."""
    if "flag." not in text:
        return text
    given = go_flag_values(args)
    if given is None:
        return text

    def value(name: str, default: str) -> str:
        return json.dumps(given[name]) if name in given else default

    text = _GO_FLAG_VAR.sub(lambda m: f"{m.group(1)} := {value(m.group(2), m.group(3))}", text)
    return _GO_FLAG.sub(lambda m: value(m.group(1), m.group(2)), text)
