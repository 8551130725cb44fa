"""Issue 14 interpreter classes: the pure readers behind them (the corpus file
``tests/corpus/interp14.jsonl`` holds the end-to-end cases)."""

from __future__ import annotations

import ast

import pytest

from opsgate.classify._command import Arg, Command
from opsgate.classify._dispatch_runners import short_cluster_takes_next
from opsgate.classify._interp_python_names import getattr_target, import_names, resolve
from opsgate.classify._shell_options import shell_line


def _cmd(name: str, *words: str) -> Command:
    return Command(name, tuple(Arg(w) for w in words), " ".join((name, *words)))


@pytest.mark.parametrize(
    ("words", "script", "command", "startup"),
    [
        (("-eo", "pipefail", "x.sh", "a"), "x.sh", None, ()),
        (("+e", "x.sh"), "x.sh", None, ()),
        (("-O", "extglob", "+O", "nullglob", "x.sh"), "x.sh", None, ()),
        (("--rcfile", "env.sh", "-i", "-c", "true"), None, "true", ("env.sh",)),
        (("-xec", "echo hi"), None, "echo hi", ()),
        (("--", "-weird.sh"), "-weird.sh", None, ()),
        (("-s", "arg"), None, None, ()),
    ],
)
def test_bash_reads_its_options_as_bash_does(
    words: tuple[str, ...], script: str | None, command: str | None, startup: tuple[str, ...]
) -> None:
    line = shell_line(_cmd("bash", *words))
    assert line is not None
    assert (line.script.value if line.script else None) == script
    assert (line.command.value if line.command else None) == command
    assert tuple(a.value for a in line.startup) == startup


def test_a_shell_outside_the_table_is_not_guessed() -> None:
    assert shell_line(_cmd("fish", "-c", "echo")) is None


@pytest.mark.parametrize(
    ("word", "takes"),
    [("-dmS", True), ("-uroot", False), ("-iu", True), ("-dm", False), ("--user", False)],
)
def test_clustered_short_options_read_as_getopt(word: str, takes: bool) -> None:
    assert short_cluster_takes_next(word, frozenset({"-S", "-u"})) is takes


def test_python_names_resolve_through_imports_and_getattr() -> None:
    tree = ast.parse("import subprocess as s\nfrom os import system as run\nimport os\n")
    aliases, modules = import_names(tree)
    assert resolve("s.call", aliases) == "subprocess.call"
    assert resolve("run", aliases) == "os.system"
    literal = {"'system'": "system"}.get
    known = ast.parse("getattr(os, 'system')").body[0]
    computed = ast.parse("getattr(os, name)").body[0]
    obj = ast.parse("getattr(ns, name)").body[0]
    assert isinstance(known, ast.Expr) and isinstance(computed, ast.Expr)
    assert isinstance(obj, ast.Expr)
    text = lambda node: literal(ast.unparse(node))  # noqa: E731
    assert getattr_target(known.value, aliases, modules, text) == ("os.system", True)
    assert getattr_target(computed.value, aliases, modules, text) == ("os", False)
    assert getattr_target(obj.value, aliases, modules, text) is None
