"""Plugins pytest imports by name: ``-p NAME`` on the command line, in ``PYTEST_ADDOPTS``
or in the ``addopts`` of its configuration (``pytest.ini``, ``pyproject.toml``,
``tox.ini``, ``setup.cfg``).  A NAME that is a module of the project (under the
working directory or a ``pythonpath`` entry of the configuration) is imported before
any test is collected, and judged as Python like a ``conftest.py``; an installed
plugin is a tool, and ``no:NAME`` turns one off.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import judge, load
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["pytest_plugins"]

_CONFIGS = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
# ``addopts = …`` with its continuation lines (ini) or a TOML string or array.
_ADDOPTS = re.compile(r"(?m)^[ \t]*addopts[ \t]*=[ \t]*(\[[^\]]*\]|.*(?:\n[ \t]+\S.*)*)")
_PYTHONPATH = re.compile(r"(?m)^[ \t]*pythonpath[ \t]*=[ \t]*(\[[^\]]*\]|.*)")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_MAX_PLUGINS = 8


def pytest_plugins(w: Walker, cmd: Command, start: str) -> list[Finding]:
    """Findings for the project modules pytest loads as plugins."""
    words = list(cmd.words) + _words(cmd.env.get("PYTEST_ADDOPTS", ""))
    bases = [start]
    for name in _CONFIGS:
        text = load(w, posixpath.join(start, name), None).text or ""
        match = _ADDOPTS.search(text)
        if match:
            words += _words(match.group(1))
        paths = _PYTHONPATH.search(text)
        if paths:
            bases += [posixpath.join(start, p) for p in _words(paths.group(1))]
    found: list[Finding] = []
    for name in list(dict.fromkeys(_plugins(words)))[:_MAX_PLUGINS]:
        found += _module(w, name, bases, start)
    return found


def _words(text: str) -> list[str]:
    return re.sub(r"[\[\],\"']", " ", text).split()


def _plugins(words: list[str]) -> list[str]:
    out = []
    for i, word in enumerate(words):
        name = words[i + 1] if word == "-p" and i + 1 < len(words) else ""
        if word.startswith("-p") and len(word) > 2 and word[2] != "-":
            name = word[2:]
        if name and _MODULE.match(name):  # ``no:cacheprovider`` turns a plugin off
            out.append(name)
    return out


def _module(w: Walker, name: str, bases: list[str], start: str) -> list[Finding]:
    parts = name.split(".")
    where = f"pytest loads the plugin {name}"
    for base in bases:
        found: list[Finding] = []
        for depth in range(1, len(parts)):  # the packages on the way are imported first
            package = load(w, posixpath.join(base, *parts[:depth], "__init__.py"), None)
            if package.state != "missing":
                found += judge(w, package, "python", where=where, cwd=start)
        for candidate in ("/".join(parts) + ".py", "/".join(parts) + "/__init__.py"):
            loaded = load(w, posixpath.join(base, candidate), None)
            if loaded.state != "missing":
                return found + judge(w, loaded, "python", where=where, cwd=start)
    return []
