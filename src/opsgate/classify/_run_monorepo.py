"""Monorepo task runners: what ``nx`` and ``turbo`` run for a task.

* ``nx run web:build``, ``nx build web``, ``nx run-many -t build``: a target whose
  executor is ``nx:run-commands`` runs the shell lines in its ``options.command`` or
  ``options.commands`` (strings, or ``{"command": …}``) in the workspace root, or in
  ``options.cwd``.  Those of the targets the command names are judged whole (the
  rest of project.json is read as before, ``_run_buildfiles``).
* ``turbo run build`` / ``turbo build``: each workspace package's ``build`` script
  (with its ``pre``/``post`` scripts), as the package manager would run it
  (``_run_node``); the root package's own script only for a root task (``//#build``).
  Packages opsgate cannot list are ``unknown``.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import Loaded, nearest, parse_once
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["nx_commands", "nx_selected", "turbo_findings"]

_NX_VALUED = frozenset({"-t", "--target", "--targets", "-p", "--projects", "-c",
                        "--configuration", "--base", "--head", "--exclude", "--parallel",
                        "--output-style", "--nxBail"})  # fmt: skip
_NX_BUILTINS = frozenset({"run-many", "affected", "graph", "init", "add", "generate", "g",
                          "migrate", "release", "reset", "report", "list", "format",
                          "format:check", "format:write", "daemon", "show", "watch",
                          "connect", "view-logs", "exec", "sync", "import", "repair",
                          "login", "logout"})  # fmt: skip


def nx_targets(cmd: Command) -> frozenset[str] | None:
    """The targets ``cmd`` runs (None: not known, every target counts)."""
    named = [t for v in cmd.options("-t", "--target", "--targets") for t in v.split(",") if t]
    if named:
        return frozenset(named)
    words = [a.value for a in cmd.positionals(_NX_VALUED)]
    if words[:1] == ["run"] and len(words) > 1 and ":" in words[1]:
        return frozenset({words[1].split(":")[1]})  # project:target[:configuration]
    if words and words[0] not in _NX_BUILTINS and words[0] != "run":
        return frozenset({words[0].split(":")[-1] if ":" in words[0] else words[0]})
    return None


def nx_commands(text: str, cmd: Command, root: str) -> list[tuple[str, str]]:
    """The shell lines (and directories) of the run-commands targets of a project.json
    that ``cmd`` runs."""
    data = parse_once("json", text, _json)
    targets = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(targets, dict):
        return []
    wanted = nx_targets(cmd)
    out: list[tuple[str, str]] = []
    for name, target in targets.items():
        if (wanted is not None and name not in wanted) or not isinstance(target, dict):
            continue
        options = target.get("options")
        if not isinstance(options, dict):
            continue
        cwd = options.get("cwd")
        where = posixpath.join(root, cwd) if isinstance(cwd, str) else root
        lines: list[object] = [options.get("command"), *_list(options.get("commands"))]
        for line in lines:
            if isinstance(line, dict):
                line = line.get("command")
            if isinstance(line, str) and line.strip():
                out.append((line, where))
    return out


def nx_selected(text: str, cmd: Command) -> str:
    """A project.json or nx.json with only the targets ``cmd`` runs (``targets``,
    ``targetDefaults``), for the literal scan of its command lines: ``nx run api:lint``
    runs nothing of the ``deploy`` target beside it.  Unchanged when not known."""
    data = parse_once("json", text, _json)
    wanted = nx_targets(cmd)
    if not isinstance(data, dict) or wanted is None:
        return text
    tables = {k: t for k in ("targets", "targetDefaults") if isinstance(t := data.get(k), dict)}
    chosen = set(wanted)
    for _ in range(16):
        more = {d for t in tables.values() for n in chosen for d in _depends(t.get(n))}
        if more <= chosen:
            break
        chosen |= more
    kept = dict(data)
    for key, table in tables.items():
        kept[key] = {k: v for k, v in table.items() if k in chosen}
    return json.dumps(kept, indent=1)


def _depends(target: object) -> set[str]:
    """The target names of ``dependsOn``: ``"build"``, ``"^build"``, ``{"target": …}``."""
    deps = target.get("dependsOn") if isinstance(target, dict) else None
    out = set()
    for dep in _list(deps):
        name = dep.get("target") if isinstance(dep, dict) else dep
        if isinstance(name, str):
            out.add(name.lstrip("^").split(":")[-1])
    return out


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


# --- turbo --------------------------------------------------------------------------------

_TURBO_VALUED = frozenset({"--filter", "-F", "--concurrency", "--cache-dir", "--output-logs",
                           "--log-order", "--graph", "--env-mode", "--log-prefix", "--cwd",
                           "--summarize", "--cache", "--ui", "--affected-base",
                           "--profile", "--team", "--token"})  # fmt: skip
_TURBO_BUILTINS = frozenset({"prune", "login", "logout", "link", "unlink", "daemon", "gen",
                             "generate", "telemetry", "info", "ls", "query", "scan",
                             "boundaries", "bin", "completion", "devtools", "docs"})  # fmt: skip


def turbo_findings(cmd: Command, w: Walker) -> list[Finding]:
    """The workspace packages' scripts ``turbo run TASK…`` runs."""
    words = [a.value for a in cmd.positionals(_TURBO_VALUED)]
    if not words or words[0] in _TURBO_BUILTINS or cmd.has("--dry", "--dry-run", "--help"):
        return []
    tasks = words[1:] if words[0] in ("run", "watch") else words
    start = cmd.option("--cwd") or cmd.cwd or w.scope.cwd or w.workspace.project
    config = nearest(w, start or "/", ("turbo.json", "turbo.jsonc")) if start else None
    if config is None or not tasks:
        return []  # no turbo workspace: turbo stops with an error
    root = posixpath.dirname(config.path)
    from opsgate.classify._run_files import load
    from opsgate.classify._run_node import _run_scripts, _with_hooks
    from opsgate.classify._run_node_workspaces import workspace_packages

    package = load(w, posixpath.join(root, "package.json"), None)
    packages = workspace_packages(w, package) if package.text else None
    if packages is None:
        reason = (
            f"turbo runs scripts of workspace packages that opsgate does not locate "
            f"({_why(package)}); run the package's script with npm to have it judged"
        )
        return [unknown(reason, cmd.text)]
    chosen = _filtered(w, packages[1:], cmd.options("--filter", "-F"))
    findings: list[Finding] = []
    for task in tasks:
        if task.startswith("//#"):
            findings += _run_scripts(w, cmd, root, _with_hooks(task[3:]), None, walk_up=False)
            continue
        name = task.split("#", 1)[-1]
        for directory in chosen:
            findings += _run_scripts(w, cmd, directory, _with_hooks(name), None, walk_up=False)
    return findings


def _why(package: Loaded) -> str:
    return "no readable package.json" if package.text is None else "no workspaces listed"


_PLAIN_FILTER = re.compile(r"^(?:\./)?[@\w/-]+$")


def _filtered(w: Walker, packages: list[str], filters: list[str]) -> list[str]:
    """The packages plain ``--filter=NAME`` (or ``./apps/web``) filters keep; a richer
    filter (``web...``, ``{./apps/*}``, ``[main]``, ``!x``), or one that keeps nothing
    opsgate can see, keeps them all."""
    from opsgate.classify._run_files import load

    if not filters or not all(_PLAIN_FILTER.match(f) for f in filters):
        return packages
    kept = []
    for directory in packages:
        loaded = load(w, posixpath.join(directory, "package.json"), None)
        data = parse_once("json", loaded.text or "", _json)
        name = data.get("name") if isinstance(data, dict) else None
        if any(f == name or directory.endswith("/" + f.removeprefix("./")) for f in filters):
            kept.append(directory)
    return kept or packages
