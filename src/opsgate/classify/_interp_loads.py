"""Files an interpreter loads because an option (or the environment) says so.

``node --import ./setup.mjs -e 0``, ``ruby -r./setup.rb``, ``perl -Ilib -MSetup``,
``awk -f report.awk``, ``NODE_OPTIONS='--require ./x.js' npm test``: the file runs
before (or instead of) anything on the command line, so it is read and judged like
a script (``_run_files``).  Which options load what, and where a bare module name is
looked for, is data (``_LOADS``).  A name that is nowhere in the project is an
installed library (``-rjson``, ``-MData::Dumper``): judged by nothing, as before.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["env_loads", "option_loads"]


@dataclass(frozen=True, slots=True)
class _Loads:
    loads: frozenset[str]  # options whose value is a file or module loaded and run
    dirs: frozenset[str]  # options that add a directory searched for a module name
    valued: frozenset[str]  # the interpreter's other options that take the next word
    suffix: str = ""  # a module name's file suffix (``Setup`` -> ``Setup.pm``)
    packages: bool = False  # ``Foo::Bar`` is ``Foo/Bar.pm`` (Perl)
    bare_is_file: bool = False  # a bare name is a file in the working directory (awk -f)
    env_dirs: str = ""  # the environment variable listing more search directories


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_NODE = _Loads(
    _set("-r --require --import --loader --experimental-loader --preload"),
    frozenset(),
    _set("-e --eval -p --print -C --conditions --input-type --title --env-file --cwd "
         "-c --config --import-map --location --seed --cert --inspect-port --tsconfig"),
)  # fmt: skip
_LOADS: dict[str, _Loads] = {
    "node": _NODE,
    "ruby": _Loads(_set("-r"), _set("-I"), _set("-e -C -E --encoding -K -F -0"), ".rb",
                   env_dirs="RUBYLIB"),
    "perl": _Loads(_set("-M -m"), _set("-I"), _set("-e -E -x -F -0 -l"), ".pm", packages=True,
                   env_dirs="PERL5LIB"),
    "awk": _Loads(_set("-f --file -i --include"), frozenset(), _set("-F -v -e --source"),
                  ".awk", bare_is_file=True),
}  # fmt: skip
# Environment variables whose options every interpreter of that language started by
# the command obeys (npm, a test runner and their children included).
_ENV_OPTIONS = {"NODE_OPTIONS": "node", "RUBYOPT": "ruby", "PERL5OPT": "perl"}


def option_loads(cmd: Command, ctx: Context, lang: str) -> list[Finding]:
    """The files ``cmd``'s own options make ``lang`` load, judged."""
    from opsgate.classify.shell import Walker

    spec = _LOADS.get(lang)
    if spec is None or not isinstance(ctx, Walker):
        return []
    return _judge_loads(ctx, cmd, lang, spec, list(cmd.args), cmd.env)


def env_loads(cmd: Command, w: Walker) -> list[Finding]:
    """``NODE_OPTIONS='--require ./x.js' npm test``: preloads in the environment."""
    found: list[Finding] = []
    for key, lang in _ENV_OPTIONS.items():
        value = cmd.env.get(key)
        if not value:
            continue
        from opsgate.classify._shell_nodes import unknown

        try:
            words = shlex.split(value)
        except ValueError:
            found.append(unknown(f"{key} holds options opsgate cannot read", cmd.text))
            continue
        args = [Arg(word) for word in words]
        found += _judge_loads(w, cmd, lang, _LOADS[lang], args, cmd.env, via=key)
    return found


def _judge_loads(
    w: Walker,
    cmd: Command,
    lang: str,
    spec: _Loads,
    args: list[Arg],
    env: Mapping[str, str],
    via: str = "",
) -> list[Finding]:
    from opsgate.classify._shell_nodes import unknown

    loads, dirs = _scan(args, spec)
    search = (
        dirs + [d for d in env.get(spec.env_dirs, "").split(":") if d] if spec.env_dirs else dirs
    )
    found: list[Finding] = []
    for option, value in loads:
        where = f"{via or cmd.name} {option} {value.value}"
        if not value.static:
            found.append(
                unknown(f"{where}: loads a file whose name is built at run time", cmd.text)
            )
            continue
        found += _judge_one(w, cmd, lang, spec, option, value.value, search, where)
    return found


def _scan(args: list[Arg], spec: _Loads) -> tuple[list[tuple[str, Arg]], list[str]]:
    """The (option, value) pairs that load a file, and the search directories, from the
    interpreter's own options: up to ``--`` or the first word that is not one."""
    loads: list[tuple[str, Arg]] = []
    dirs: list[str] = []
    i = 0
    while i < len(args):
        word = args[i].value
        if word == "--" or not word.startswith("-") or word == "-":
            break
        option, value, i = _option_at(args, i, spec)
        if value is None:
            continue
        if option in spec.loads:
            loads.append((option, value))
        elif option in spec.dirs:
            dirs.append(value.value)
    return loads, dirs


def _option_at(args: list[Arg], i: int, spec: _Loads) -> tuple[str, Arg | None, int]:
    """The option at ``i``, its value (next word, ``--opt=value`` or ``-Ovalue``) and
    the index after it; a cluster ending in a valued letter (``-we CODE``) takes the
    next word too."""
    arg = args[i]
    word = arg.value
    named = spec.loads | spec.dirs
    takes = named | spec.valued
    if word in takes:
        value = args[i + 1] if i + 1 < len(args) else None
        return word, value, i + 2
    if word.startswith("--"):
        name, eq, rest = word.partition("=")
        return name, (Arg(rest, arg.static) if eq and name in named else None), i + 1
    head = word[:2]
    if head in named:
        return head, Arg(word[2:], arg.static), i + 1
    return word, None, i + (2 if f"-{word[-1]}" in takes else 1)


def _judge_one(
    w: Walker,
    cmd: Command,
    lang: str,
    spec: _Loads,
    option: str,
    value: str,
    search: list[str],
    where: str,
) -> list[Finding]:
    from opsgate.classify._run_files import judge, load
    from opsgate.classify._run_interp import run_file_as

    as_path = value.startswith(("./", "../", "/", "~/")) or (spec.bare_is_file and value)
    if as_path:
        found = run_file_as(w, cmd, Arg(value), lang, ())
        if spec.suffix and not value.endswith(spec.suffix) and not found:
            found = run_file_as(w, cmd, Arg(value + spec.suffix), lang, ())
        return found
    name = _module_file(value, spec)
    if name is None:
        return []
    for directory in search:
        loaded = load(w, posixpath.join(directory, name), cmd.cwd)
        if loaded.state != "missing":
            return judge(w, loaded, lang, where=where, cwd=cmd.cwd)
    return []


def _module_file(value: str, spec: _Loads) -> str | None:
    """``Setup=a,b`` -> ``Setup.pm``; ``Foo::Bar`` -> ``Foo/Bar.pm``; ``setup`` ->
    ``setup.rb``; None for what names no file (``-M-strict``)."""
    name = value.split("=", 1)[0].strip()
    if not name or name.startswith("-") or not spec.suffix:
        return None
    if spec.packages:
        name = name.replace("::", "/")
    return name if name.endswith(spec.suffix) else name + spec.suffix
