"""``deno task NAME``: the task in ``deno.json``/``deno.jsonc``, judged as what it runs.

Deno looks for its configuration in the working directory and its parents (or takes
``-c FILE``/``--config FILE``).  A task is a command line, or an object with a
``command`` and ``dependencies`` (other tasks, run first); each is judged as a shell
command in the configuration's directory (Deno's task shell is a small POSIX-like
shell).  A name the configuration does not define is looked up in ``package.json``'s
scripts, as Deno does.  ``deno task --eval 'CMD'`` runs CMD itself.  ``deno task``
alone lists the tasks.  A configuration that does not parse is ``unknown``; so are
workspace runs (``--recursive``, ``--filter``), whose members opsgate does not locate.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context, first_operand
from opsgate.classify._run_files import (
    Code,
    Loaded,
    bad_file,
    judge,
    judge_code,
    nearest,
    parse_once,
)
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["deno_task_findings"]

_CONFIGS = ("deno.json", "deno.jsonc")
_VALUED = frozenset({"-c", "--config", "--cwd", "-f", "--filter", "--env-file"})
_MAX_TASKS = 64
# JSONC: comments and trailing commas, outside strings.
_JSONC = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def deno_task_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """What ``deno task …`` runs (``cmd`` is the whole ``deno`` command)."""
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return []
    words = list(cmd.words)[1:]  # after ``task``
    code = cmd.option("--eval")
    if code is not None:
        return ctx.classify_shell(code, via="deno task --eval", cwd=cmd.cwd)
    name, _args = first_operand(words, _VALUED)
    if name is None:
        return []  # ``deno task``: lists the tasks
    if {"-r", "--recursive", "-f", "--filter"} & set(words) or any(
        w.startswith("--filter=") for w in words
    ):
        reason = "deno task runs tasks of workspace members that opsgate does not locate"
        return [unknown(reason, cmd.text)]
    base = cmd.option("--cwd")
    start = ctx.workspace.expand(base, cmd.cwd) if base else (cmd.cwd or ctx.scope.cwd)
    named = cmd.option("-c", "--config")
    loaded = _config(ctx, named, start)
    if loaded is None:
        return _package_script(ctx, cmd, name, start)
    if loaded.text is None:
        return judge(ctx, loaded, None, where=f"deno task ({loaded.shown})", cwd=start)
    tasks = parse_once("deno.json", loaded.text, _tasks_of)
    if tasks is None:
        return [bad_file(loaded, "is not a Deno configuration opsgate can read")]
    if name not in tasks:
        return _package_script(ctx, cmd, name, start)
    run = _TaskRun(ctx, loaded, tasks, posixpath.dirname(loaded.path))
    run.task(name)
    return run.findings


def _config(w: Walker, named: str | None, start: str | None) -> Loaded | None:
    if named is not None:
        from opsgate.classify._run_files import load

        loaded = load(w, named, start)
        return None if loaded.state == "missing" else loaded
    return nearest(w, start or w.workspace.project or "/", _CONFIGS)


def _tasks_of(text: str) -> dict[str, object] | None:
    plain = _JSONC.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", text)
    try:
        data = json.loads(plain)
    except (ValueError, RecursionError):
        return None
    tasks = data.get("tasks", {}) if isinstance(data, dict) else None
    return tasks if isinstance(tasks, dict) else None


def _package_script(w: Walker, cmd: Command, name: str, start: str | None) -> list[Finding]:
    """A task Deno does not find in its configuration: ``package.json``'s script."""
    from opsgate.classify._run_node import package_scripts

    npm = Command("npm", (Arg("run"), Arg(name)), cmd.text, cmd.env, None, start)
    return package_scripts(npm, w, "run", [name])


class _TaskRun:
    def __init__(self, w: Walker, loaded: Loaded, tasks: dict[str, object], root: str):
        self.w, self.loaded, self.tasks, self.root = w, loaded, tasks, root
        self.findings: list[Finding] = []
        self.seen: set[str] = set()

    def task(self, name: str) -> None:
        if name in self.seen or len(self.seen) >= _MAX_TASKS:
            return
        self.seen.add(name)
        spec = self.tasks.get(name)
        if spec is None:
            return  # Deno stops: a dependency it cannot find
        if isinstance(spec, dict):
            deps = spec.get("dependencies", [])
            for dep in deps if isinstance(deps, list) else [deps]:
                self.task(str(dep))
            spec = spec.get("command")
            if spec is None:
                return  # a task made only of dependencies
        if not isinstance(spec, str):
            self.findings.append(bad_file(self.loaded, f"has a task {name!r} opsgate cannot read"))
            return
        text = self.loaded.text or ""
        at = text.find(json.dumps(name))
        line = 1 + text.count("\n", 0, at) if at >= 0 else 1
        code = Code(self.loaded.path, self.loaded.shown, spec, "shell", f"task:{name}", line)
        where = f"{self.loaded.shown} task {name}"
        self.findings += judge_code(self.w, code, where=where, cwd=self.root)
