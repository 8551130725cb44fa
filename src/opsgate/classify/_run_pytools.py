"""Python tools whose project file is Python they import: the file is judged as Python.

Each of these tools executes a file of the project before it does its own work, so
the file's top-level code (and its imports) runs whatever the tool was asked:

* ``invoke``/``inv`` and ``doit``: ``tasks.py`` and ``dodo.py``, task by task
  (``_run_pytasks``).
* ``scons``: ``SConstruct`` (``-f FILE``, ``-C DIR``) and the ``SConscript`` files
  it names by literal path.
* ``sphinx-build``/``sphinx-autobuild``: ``conf.py`` of the configuration directory
  (``-c DIR``) or the source directory (``make html`` runs it through the Makefile).
* ``mkdocs build|serve|gh-deploy``: the ``hooks:`` scripts of ``mkdocs.yml``.
* ``pants run FILE.py``: the file, as ``python3 FILE``; a target address
  (``dir:name``) runs a binary its BUILD file defines, which is not read: ``unknown``.
* ``hatch build``: the custom build and metadata hooks of ``pyproject.toml`` or
  ``hatch.toml`` (``path``, by default ``hatch_build.py``).

A tool that is asked only for its help or version reads nothing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import Loaded, judge, load, nearest
from opsgate.classify._run_pytasks import doit_findings, invoke_findings
from opsgate.classify._run_rbtools import RB_TOOLS
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["PROJECT_FILE_TOOLS", "project_file_findings"]

_QUIET = frozenset({"-h", "--help", "-V", "--version", "help", "version", "--list", "-l"})
# Ruby's bundler and RSpec are in ``_run_rbtools``; this table holds both.
_MAX_SHELL_LINES = 48


def project_file_findings(cmd: Command, w: Walker) -> list[Finding]:
    """What the project file of tool ``cmd`` runs; [] for another program."""
    handler = PROJECT_FILE_TOOLS.get(cmd.name)
    if handler is None or w.remote is not None or _QUIET & set(cmd.words[:2]):
        return []
    return handler(cmd, w)


def _cwd(w: Walker, cmd: Command) -> str:
    return cmd.cwd or w.scope.cwd or w.workspace.project or "/"


def _python_file(w: Walker, loaded: Loaded | None, where: str) -> list[Finding]:
    if loaded is None or loaded.state == "missing":
        return []
    root = posixpath.dirname(loaded.path)
    return judge(w, loaded, "python", where=f"{where} runs {loaded.shown}", cwd=root)


# --- scons ----------------------------------------------------------------------------

_SCONS_FILES = ("SConstruct", "Sconstruct", "sconstruct", "SConstruct.py", "Sconstruct.py",
                "sconstruct.py")  # fmt: skip
# What lets a build file write something other than a compiled program: builders that
# run commands, and Python's own file, process and copy calls.
_SCONS_WRITES = re.compile(
    r"\b(?:Command|Builder|Action|AddPostAction|AddPreAction|Execute|Install\w*|InstallAs|"
    r"open|exec|eval|system|popen|Popen|call|check_call|check_output|run|copy\w*|move|"
    r"write\w*|symlink|link|rename|replace|Textfile|Substfile)\s*\(|subprocess|shutil|"
    r"__import__|importlib"
)
_SCONSCRIPT = re.compile(r"""\bSConscript\s*\(\s*(?:dirs\s*=\s*)?\[?\s*(['"])([^'"\n]+)\1""")


def _scons(cmd: Command, w: Walker) -> list[Finding]:
    base = cmd.option("-C", "--directory")
    start = (w.workspace.expand(base, _cwd(w, cmd)) if base else None) or _cwd(w, cmd)
    given = cmd.option("-f", "--file", "--makefile", "--sconstruct")
    if given:
        loaded: Loaded | None = load(w, given, start)
    elif cmd.has("-u", "-U", "--up", "--search-up"):
        loaded = nearest(w, start, _SCONS_FILES)
    else:
        loaded = next((x for x in (load(w, n, start) for n in _SCONS_FILES)
                       if x.state != "missing"), None)  # fmt: skip
    found = _python_file(w, loaded, "scons")
    if loaded is None or loaded.text is None:
        return found
    root = posixpath.dirname(loaded.path)
    texts: list[str | None] = [loaded.text]
    for match in list(_SCONSCRIPT.finditer(loaded.text))[:16]:
        path = posixpath.join(root, match.group(2))
        if w.session.file_kind(path) == "dir":
            path = posixpath.join(path, "SConscript")
        script = load(w, path, None)
        found += _python_file(w, script, "scons")
        texts.append(script.text if script.state != "missing" else "")
    if all(t is not None and not _SCONS_WRITES.search(t) for t in texts):
        from opsgate.classify._run_makers import walked

        walked(w, cmd)  # only compilers' builders: it writes the project's program, no script
    return found


# --- sphinx ---------------------------------------------------------------------------

_SPHINX_VALUED = frozenset({"-b", "-M", "-d", "-c", "-D", "-A", "-j", "-t", "-w", "--jobs",
                            "--builder", "--doctree-dir", "--conf-dir", "--define",
                            "--html-define", "--tag", "--warning-file", "--port", "--host",
                            "--ignore", "--re-ignore", "--watch", "--pre-build",
                            "--post-build", "--delay"})  # fmt: skip


def _sphinx(cmd: Command, w: Walker) -> list[Finding]:
    confdir = cmd.option("-c", "--conf-dir")
    if confdir is None:
        sources = [a.value for a in cmd.positionals(_SPHINX_VALUED)]
        if not sources:
            return []
        confdir = sources[0]
    directory = w.workspace.expand(confdir, _cwd(w, cmd))
    if directory is None:
        return []
    return _python_file(w, load(w, posixpath.join(directory, "conf.py"), None), cmd.name)


# --- mkdocs ---------------------------------------------------------------------------

_MKDOCS_RUNS = frozenset({"build", "serve", "gh-deploy"})
_HOOKS_BLOCK = re.compile(
    r"(?m)^hooks:[ \t]*(\[[^\]\n]*\])?[ \t]*(?:#.*)?\n((?:[ \t]+-[^\n]*\n?)*)"
)


def _mkdocs(cmd: Command, w: Walker) -> list[Finding]:
    if not cmd.words or cmd.words[0] not in _MKDOCS_RUNS:
        return []
    given = cmd.option("-f", "--config-file")
    names = (given,) if given else ("mkdocs.yml", "mkdocs.yaml")
    loaded = next((x for x in (load(w, n, _cwd(w, cmd)) for n in names)
                   if x.state != "missing"), None)  # fmt: skip
    if loaded is None:
        return []
    if loaded.text is None:
        return judge(w, loaded, None, where="mkdocs", cwd=None)
    root = posixpath.dirname(loaded.path)
    found: list[Finding] = []
    for hook in _mkdocs_hooks(loaded.text)[:16]:
        found += _python_file(w, load(w, posixpath.join(root, hook), None), "mkdocs")
    return found


def _mkdocs_hooks(text: str) -> list[str]:
    """The paths under ``hooks:``, read by line: a config with ``!!python/name`` tags
    is no YAML a safe loader takes, and hooks are plain strings."""
    match = _HOOKS_BLOCK.search(text)
    if match is None:
        return []
    inline = match.group(1)
    items = inline.strip("[]").split(",") if inline else match.group(2).splitlines()
    return [p for p in (i.strip().lstrip("-").strip().strip("'\"") for i in items) if p]


# --- pants ----------------------------------------------------------------------------


def _pants(cmd: Command, w: Walker) -> list[Finding]:
    words = [x for x in cmd.words if not x.startswith("-")]
    if "--" in cmd.words:
        words = [x for x in cmd.words[: cmd.words.index("--")] if not x.startswith("-")]
    if "run" not in words:
        return []
    found: list[Finding] = []
    for target in words[words.index("run") + 1 :][:8]:
        if target.endswith((".py", ".pyw")):
            found += _python_file(w, load(w, target, _cwd(w, cmd)), "pants run")
        elif ":" in target or "/" in target:
            reason = f"pants run {target} runs a target its BUILD file defines, not read"
            found.append(unknown(reason, cmd.text))
    return found


# --- hatch ----------------------------------------------------------------------------

_HATCH_RUNS = frozenset({"build"})


def _hatch(cmd: Command, w: Walker) -> list[Finding]:
    if not cmd.words or cmd.words[0] not in _HATCH_RUNS:
        return []
    from opsgate.classify._run_files import parse_once, toml_or_none

    found: list[Finding] = []
    for name, prefix in (("pyproject.toml", ("tool", "hatch")), ("hatch.toml", ())):
        loaded = load(w, name, _cwd(w, cmd))
        if loaded.text is None:
            continue
        data = parse_once("toml", loaded.text, toml_or_none)
        root = posixpath.dirname(loaded.path)
        for path in _hatch_hooks(_dig(data, prefix))[:8]:
            found += _python_file(w, load(w, posixpath.join(root, path), None), "hatch")
    return found


def _hatch_hooks(table: object) -> list[str]:
    """``build.hooks.custom``, ``build.targets.*.hooks.custom``, ``metadata.hooks.custom``."""
    places = [_dig(table, ("build", "hooks")), _dig(table, ("metadata", "hooks"))]
    targets = _dig(table, ("build", "targets"))
    if isinstance(targets, dict):
        places += [_dig(t, ("hooks",)) for t in targets.values()]
    paths: dict[str, None] = {}
    for hooks in places:
        custom = _dig(hooks, ("custom",))
        if isinstance(custom, dict):
            path = custom.get("path", "hatch_build.py")
            if isinstance(path, str):
                paths[path] = None
    return list(paths)


def _dig(data: object, keys: tuple[str, ...]) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


PROJECT_FILE_TOOLS: dict[str, Callable[[Command, Walker], list[Finding]]] = {
    "invoke": invoke_findings,
    "inv": invoke_findings,
    "doit": doit_findings,
    "scons": _scons,
    "sphinx-build": _sphinx,
    "sphinx-autobuild": _sphinx,
    "mkdocs": _mkdocs,
    "hatch": _hatch,
    "pants": _pants,
    **RB_TOOLS,
}
