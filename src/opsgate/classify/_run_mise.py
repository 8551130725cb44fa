"""``mise run TASK`` and ``mise install``: what mise runs from the project's configs.

* The configs are read as mise finds them: ``mise.toml``, ``.mise.toml``,
  ``mise.local.toml``, ``mise/config.toml``, ``.mise/config.toml``,
  ``.config/mise.toml``, ``.config/mise/config.toml`` in the working directory (``-C``)
  and its parents, the nearest first.
* ``[env]`` ``_.source`` scripts are sourced by every ``mise run``/``exec``/``env``:
  judged as sourced shell.
* ``mise run TASK`` (no task: ``default``): ``[tasks.NAME]`` ``run`` lines (or
  ``file``), its ``depends``/``depends_post``, in its ``dir``; a file task (an
  executable ``mise-tasks/NAME``, ``.mise/tasks/NAME``, ``mise/tasks/NAME``…,
  ``a:b`` as ``a/b``) is judged as its shebang's language, its ``#MISE depends=``
  followed.
* ``mise install``: ``[hooks]`` ``preinstall``/``postinstall``.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import (
    Code,
    Loaded,
    bad_file,
    judge,
    judge_code,
    load,
    parse_once,
    script_language,
    toml_or_none,
)
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["mise_findings"]

_CONFIGS = ("mise.local.toml", "mise.toml", ".mise.toml", "mise/config.toml",
            ".mise/config.toml", ".config/mise.toml", ".config/mise/config.toml")  # fmt: skip
_TASK_DIRS = ("mise-tasks", ".mise-tasks", "mise/tasks", ".mise/tasks", ".config/mise/tasks")
_RUN = frozenset({"run", "r"})
_ENV_USERS = _RUN | {"exec", "x", "env", "e", "watch", "w", "tasks"}
_INSTALL = frozenset({"install", "i", "use", "u"})
_VALUED = frozenset({"-C", "--cd", "-E", "--env", "-j", "--jobs", "-o", "--output",
                     "--shell", "-s", "--tool", "-t"})  # fmt: skip
_FILE_DEPENDS = re.compile(r"^#\s*(?:MISE|\[MISE\])\s+depends\s*=\s*\[([^\]]*)\]", re.M)
_MAX_DEPTH = 8


def mise_findings(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return []
    words = _positional(list(cmd.words))
    if not words or cmd.has("-h", "--help", "-n", "--dry-run"):
        return []
    verb = words[0]
    base = cmd.option("-C", "--cd")
    directory = posixpath.join(cmd.cwd or ctx.scope.cwd or "/", base) if base else cmd.cwd
    directory = directory or ctx.scope.cwd or ctx.workspace.project or "/"
    configs = _configs(ctx, directory)
    found: list[Finding] = []
    for loaded, data in configs:
        if data is None:
            found.append(bad_file(loaded, "is not a mise configuration opsgate can read"))
    tables: list[tuple[Loaded, object]] = [c for c in configs if isinstance(c[1], dict)]
    if verb in _ENV_USERS:
        found += _sources(ctx, tables)
    if verb in _INSTALL:
        found += _hooks(ctx, tables)
    if verb in _RUN:
        tasks = [w for w in words[1:2] if not w.startswith("-")] or ["default"]
        found += _task(ctx, tables, directory, tasks[0], set(), 0)
    return found


def _positional(words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in _VALUED:
            skip = True
        elif not word.startswith("-") or out:
            out.append(word)
    return out


def _configs(w: Walker, directory: str) -> list[tuple[Loaded, object]]:
    out: list[tuple[Loaded, object]] = []
    for _ in range(12):
        for name in _CONFIGS:
            loaded = load(w, posixpath.join(directory, name), None)
            if loaded.state == "missing":
                continue
            data = parse_once("toml", loaded.text, toml_or_none) if loaded.text else None
            out.append((loaded, data))
        parent = posixpath.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return out


def _lines(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    return []


def _sources(w: Walker, tables: list[tuple[Loaded, object]]) -> list[Finding]:
    out: list[Finding] = []
    for loaded, data in tables:
        env = data.get("env") if isinstance(data, dict) else None
        for table in env if isinstance(env, list) else [env]:
            under = table.get("_") if isinstance(table, dict) else None
            source = under.get("source") if isinstance(under, dict) else None
            root = posixpath.dirname(loaded.path)
            for item in _lines(source if not isinstance(source, dict) else source.get("path")):
                script = load(w, posixpath.join(root, item), None)
                where = f"{loaded.shown} [env] _.source"
                out += judge(w, script, "shell", where=where, cwd=root, sourced=True)
    return out


def _hooks(w: Walker, tables: list[tuple[Loaded, object]]) -> list[Finding]:
    out: list[Finding] = []
    for loaded, data in tables:
        hooks = data.get("hooks") if isinstance(data, dict) else None
        if not isinstance(hooks, dict):
            continue
        root = posixpath.dirname(loaded.path)
        for name in ("preinstall", "postinstall"):
            hook = hooks.get(name)
            if isinstance(hook, dict):
                hook = hook.get("run") or hook.get("script")
            out += _shell(w, loaded, _lines(hook), f"hooks.{name}", root)
    return out


def _shell(w: Walker, loaded: Loaded, lines: list[str], key: str, cwd: str) -> list[Finding]:
    out: list[Finding] = []
    for i, line in enumerate(lines[:32]):
        code = Code(loaded.path, loaded.shown, line, "shell", key=f"{key}:{i}")
        out += judge_code(w, code, where=f"{loaded.shown} {key}", cwd=cwd)
    return out


def _task(
    w: Walker,
    tables: list[tuple[Loaded, object]],
    directory: str,
    name: str,
    seen: set[str],
    depth: int,
) -> list[Finding]:
    if name in seen or depth > _MAX_DEPTH:
        return []
    seen.add(name)
    for loaded, data in tables:
        tasks = data.get("tasks") if isinstance(data, dict) else None
        if isinstance(tasks, dict) and name in tasks:
            return _config_task(w, tables, directory, loaded, name, tasks[name], seen, depth)
    return _file_task(w, tables, directory, name, seen, depth)


def _config_task(
    w: Walker,
    tables: list[tuple[Loaded, object]],
    directory: str,
    loaded: Loaded,
    name: str,
    task: object,
    seen: set[str],
    depth: int,
) -> list[Finding]:
    root = posixpath.dirname(loaded.path)
    if posixpath.basename(root) in ("mise", ".mise", ".config"):
        root = posixpath.dirname(root)
    if isinstance(task, str | list):
        task = {"run": task}
    if not isinstance(task, dict):
        return [bad_file(loaded, f"has a task {name!r} opsgate cannot read")]
    out: list[Finding] = []
    for dep in _lines(task.get("depends")):
        out += _task(w, tables, directory, dep.split()[0] if dep.split() else dep, seen, depth + 1)
    cwd = task.get("dir")
    cwd = posixpath.join(root, cwd) if isinstance(cwd, str) else root
    script = task.get("file")
    if isinstance(script, str):
        target = load(w, posixpath.join(root, script), None)
        lang = script_language(target.text) if target.text else "shell"
        out += judge(w, target, lang, where=f"{loaded.shown} task {name}", cwd=cwd)
    out += _shell(w, loaded, _lines(task.get("run")), f"task {name}", cwd)
    for dep in _lines(task.get("depends_post")):
        out += _task(w, tables, directory, dep.split()[0] if dep.split() else dep, seen, depth + 1)
    return out


def _file_task(
    w: Walker,
    tables: list[tuple[Loaded, object]],
    directory: str,
    name: str,
    seen: set[str],
    depth: int,
) -> list[Finding]:
    roots = [posixpath.dirname(t[0].path) for t in tables] or [directory]
    roots = [posixpath.dirname(r) if posixpath.basename(r) in ("mise", ".mise") else r
             for r in roots] + [directory]  # fmt: skip
    for root in dict.fromkeys(roots):
        for folder in _TASK_DIRS:
            loaded = load(w, posixpath.join(root, folder, name.replace(":", "/")), None)
            if loaded.state == "missing":
                continue
            out: list[Finding] = []
            for match in _FILE_DEPENDS.finditer(loaded.text or ""):
                for dep in re.findall(r"[\"']([^\"']+)[\"']", match.group(1)):
                    out += _task(w, tables, directory, dep, seen, depth + 1)
            lang = script_language(loaded.text) if loaded.text else "shell"
            return out + judge(w, loaded, lang, where=f"mise task {name}", cwd=root)
    return []
