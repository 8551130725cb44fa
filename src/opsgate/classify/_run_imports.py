"""The project's own modules a script loads: judged like the script.

``python3 main.py`` runs ``helpers.py`` when main imports it; ``node app.js`` runs
``./lib/db.js`` when app requires it.  Modules found in the project — beside the
importing file, or (Python) in the working directory — are read and judged with
the same analyser, once each (cycle detection and the read budget of
``_run_files``).  Installed packages (site-packages, ``node_modules``) are tools,
like the programs in a virtualenv's ``bin``, and are not read.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify._run_files import Code
    from opsgate.classify.shell import Walker

__all__ = ["node_imports", "python_imports", "ruby_imports", "without_local_requires"]

_MAX_IMPORTS = 24
_NODE_SPEC = re.compile(
    r"""(?:\brequire\s*\(\s*|\bimport\s*\(\s*|\bfrom\s+|\bimport\s+)(['"])(\.{1,2}/[^'"]+)\1"""
)
_NODE_SUFFIXES = ("", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx",
                  "/index.js", "/index.ts", "/index.mjs")  # fmt: skip
_RUBY_SPEC = re.compile(r"""\brequire_relative\s*\(?\s*(['"])([^'"]+)\1""")


_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w., \t]+)", re.MULTILINE)
_PY_FROM = re.compile(
    r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.MULTILINE
)


def python_imports(w: Walker, code: Code, cwd: str | None) -> list[Finding]:
    """Read from the import statements' text (the analyser has parsed the file already;
    a second parse would double the cost of every Python file)."""
    here = posixpath.dirname(code.path)
    roots = tuple(dict.fromkeys(r for r in (here, cwd) if r))
    modules: dict[tuple[str, tuple[str, ...]], None] = {}
    for match in _PY_IMPORT.finditer(code.text):
        for part in match.group(1).split(","):
            name = part.split()[0] if part.split() else ""
            if name:
                modules[(name, roots)] = None
    for match in _PY_FROM.finditer(code.text):
        for name, bases in _from_import(
            match.group(1), match.group(2), match.group(3), here, roots
        ):
            modules[(name, bases)] = None
    findings: list[Finding] = []
    for name, bases in list(modules)[:_MAX_IMPORTS]:
        findings += _python_module(w, code, name, list(bases), cwd)
    return findings


def _from_import(
    dots: str, module: str, names: str, here: str, roots: tuple[str, ...]
) -> list[tuple[str, tuple[str, ...]]]:
    bases = roots
    if dots:
        base = here
        for _ in range(len(dots) - 1):
            base = posixpath.dirname(base)
        bases = (base,)
    found = [(module, bases)] if module else []
    # ``from pkg import sub`` may load the module pkg/sub.py.
    prefix = f"{module}." if module else ""
    for part in names.strip("() \t").replace("\n", " ").split(","):
        name = part.split()[0] if part.split() else ""
        if name and name != "*" and name.isidentifier():
            found.append((prefix + name, bases))
    return found


def _python_module(
    w: Walker, code: Code, name: str, bases: list[str], cwd: str | None
) -> list[Finding]:
    from opsgate.classify._run_files import judge, load

    path = name.replace(".", "/")
    parts = path.split("/")
    for base in bases:
        if w.session.file_kind(posixpath.join(base, parts[0])) is None and (
            w.session.file_kind(posixpath.join(base, parts[0] + ".py")) is None
        ):
            continue  # not the project's: an installed or standard module
        findings: list[Finding] = []
        for depth in range(1, len(parts)):
            if w.session.file_kind(posixpath.join(base, *parts[:depth]) + ".py") is not None:
                # ``from app.core import add`` with app/core.py: a module, and the rest
                # of the name is something in it (the module itself is judged as such).
                return findings
            package = posixpath.join(base, *parts[:depth], "__init__.py")
            loaded = load(w, package, None)
            if loaded.state != "missing":  # none: a namespace package, nothing runs
                findings += judge(w, loaded, "python", where=_where(code, name), cwd=cwd)
        for candidate in (path + ".py", path + "/__init__.py"):
            loaded = load(w, posixpath.join(base, candidate), None)
            if loaded.state != "missing":
                return findings + judge(w, loaded, "python", where=_where(code, name), cwd=cwd)
        return findings
    return []


def node_imports(w: Walker, code: Code, cwd: str | None) -> list[Finding]:
    from opsgate.classify._run_files import judge, load

    here = posixpath.dirname(code.path)
    findings: list[Finding] = []
    specs = list(dict.fromkeys(m.group(2) for m in _NODE_SPEC.finditer(code.text)))
    for spec in specs[:_MAX_IMPORTS]:
        target = posixpath.normpath(posixpath.join(here, spec))
        for suffix in _NODE_SUFFIXES:
            loaded = load(w, target + suffix, None)
            if loaded.state != "missing":
                if not (target + suffix).endswith(".json"):
                    findings += judge(w, loaded, "node", where=_where(code, spec), cwd=cwd)
                break
    return findings


def ruby_imports(w: Walker, code: Code, cwd: str | None) -> list[Finding]:
    from opsgate.classify._run_files import judge, load

    here = posixpath.dirname(code.path)
    findings: list[Finding] = []
    specs = list(dict.fromkeys(m.group(2) for m in _RUBY_SPEC.finditer(code.text)))
    for spec in specs[:_MAX_IMPORTS]:
        target = posixpath.normpath(posixpath.join(here, spec))
        loaded = load(w, target if target.endswith(".rb") else target + ".rb", None)
        findings += judge(w, loaded, "ruby", where=_where(code, spec), cwd=cwd)
    return findings


# ``require_relative "../config/environment"`` with a literal name: the file is read
# and judged (``ruby_imports``), so the call is no unmodelled effect of the file that
# makes it; a name built at run time stays one.
_RUBY_LOCAL_REQUIRE = re.compile(r"""(?<![.\w:])require_relative\s*\(?\s*(['"])[^'"#\n]+\1\s*\)?""")


def without_local_requires(text: str) -> str:
    return _RUBY_LOCAL_REQUIRE.sub(" ", text)


def _where(code: Code, name: str) -> str:
    return f"{code.shown} (importing {name})"
