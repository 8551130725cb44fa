"""What a name in Python code really calls: imports under other names, ``getattr``.

``import subprocess as s; s.call(...)``, ``from os import system as run; run(...)``
and ``fn = getattr(os, 'sys' + 'tem'); fn(...)`` call the same functions as
``os.system(...)``; the analyser (``_interp_python``) judges a call by the name it
resolves to here.  A function looked up on a module by a name opsgate cannot compute
(``getattr(os, name)``) is ``unknown``: it may be any function of that module.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

__all__ = ["getattr_target", "import_names", "resolve", "runs_file"]


def import_names(tree: ast.Module) -> tuple[dict[str, str], frozenset[str]]:
    """The names imports bind to something else (``s`` -> ``subprocess``, ``run`` ->
    ``os.system``), and every name bound to a module."""
    aliases: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                local = item.asname or item.name.split(".")[0]
                modules.add(local)
                if item.asname:
                    aliases[item.asname] = item.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for item in node.names:
                if item.name != "*":
                    aliases[item.asname or item.name] = f"{node.module}.{item.name}"
                    modules.add(item.asname or item.name)  # may be a submodule (os.path)
    return aliases, frozenset(modules)


def resolve(name: str, aliases: dict[str, str]) -> str:
    """``s.call`` -> ``subprocess.call`` when ``s`` is an import of ``subprocess``."""
    head, dot, rest = name.partition(".")
    target = aliases.get(head)
    if target is None or target == head:
        return name
    return f"{target}{dot}{rest}"


def getattr_target(
    node: ast.AST,
    aliases: dict[str, str],
    modules: frozenset[str],
    literal: Callable[[ast.AST], str | None],
) -> tuple[str, bool] | None:
    """For ``getattr(MODULE, NAME)``: (``module.name``, whether the name is known);
    None when ``node`` is no such lookup on a module the code imported."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    if node.func.id != "getattr" or len(node.args) < 2:
        return None
    owner = node.args[0]
    if isinstance(owner, ast.Call) and _is_dunder_import(owner):
        module = literal(owner.args[0]) if owner.args else None
    elif isinstance(owner, ast.Name) and (owner.id in modules or owner.id in _BUILTINS):
        module = resolve(owner.id, aliases)
    else:
        return None
    name = literal(node.args[1])
    if module is None:
        return ("a module", False)
    if name is None:
        # ``getattr(logging, level)`` is everyday code; on a module with effects any of
        # its functions may run.
        return (module, False) if module.split(".")[0] in _EFFECT_MODULES else None
    return (f"{module}.{name}", True)


def runs_file(name: str) -> str | None:
    """The kind of thing a runner call takes: ``path`` (``runpy.run_path``),
    ``module`` (``runpy.run_module``); None for other calls."""
    return _RUNNERS.get(name)


def _is_dunder_import(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "__import__"


_BUILTINS = frozenset({"builtins", "__builtins__"})
# Modules whose functions run programs, delete or write files, load code or reach the
# network: a function of theirs chosen at run time may be any of those.
_EFFECT_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "shutil", "pty", "builtins", "__builtins__",
    "importlib", "runpy", "ctypes", "pathlib", "commands", "asyncio", "multiprocessing",
    "socket", "urllib", "requests", "httpx", "boto3", "sh", "pexpect", "plumbum", "io",
    "tempfile", "glob", "signal", "sys",
})  # fmt: skip
_RUNNERS = {"runpy.run_path": "path", "runpy.run_module": "module"}
