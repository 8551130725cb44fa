"""Task files in Python: invoke's ``tasks.py`` and doit's ``dodo.py``.

The tool imports the file (its top-level code runs on every call), then runs the
tasks asked for and the tasks they depend on; the other tasks' bodies do not run.
So the module's code outside task functions is judged as Python, and each task that
runs is judged as Python together with the command lines it hands to a shell
(invoke's ``c.run("…")``/``c.sudo("…")``, doit's string ``actions``).

* invoke: ``@task`` functions; ``pre``/``post`` tasks and tasks a body calls run too.
  No task named, or a name opsgate does not find (a namespace): every task.
* doit: ``task_NAME`` functions; ``task_dep`` names run first.  No task named:
  ``DOIT_CONFIG['default_tasks']`` when literal, else every task; a command other
  than ``run`` (``clean``, ``auto`` …): every task.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import Code, Loaded, bad_file, judge, judge_code, load, nearest
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["doit_findings", "invoke_findings"]

Fn = ast.FunctionDef | ast.AsyncFunctionDef
Deps = Callable[[Fn, dict[str, Fn]], list[str]]
Pick = Callable[[Fn], list[ast.Constant]]
_MAX_LINES = 48
_INVOKE_VALUED = frozenset({"-c", "--collection", "-r", "--search-root", "-f", "--config",
                            "-e", "--echo", "--prefix", "-w", "--warn-only"})  # fmt: skip
_DOIT_VALUED = frozenset({"-f", "--file", "-d", "--dir", "--db-file", "--backend", "-n",
                          "--process", "-P", "--parallel-type", "-r", "--reporter",
                          "-o", "--output-file", "-v", "--verbosity"})  # fmt: skip
_DOIT_RUN = frozenset({"run"})


def _cwd(w: Walker, cmd: Command) -> str:
    return cmd.cwd or w.scope.cwd or w.workspace.project or "/"


def invoke_findings(cmd: Command, w: Walker) -> list[Finding]:
    name = cmd.option("-c", "--collection") or "tasks"
    root = cmd.option("-r", "--search-root")
    start = (w.workspace.expand(root, _cwd(w, cmd)) if root else None) or _cwd(w, cmd)
    loaded = nearest(w, start, (f"{name}.py", f"{name}/__init__.py"))
    tree = _tree(w, loaded, cmd.name)
    if isinstance(tree, list) or loaded is None:
        return tree if isinstance(tree, list) else []
    tasks = {fn.name: fn for fn in tree.body if isinstance(fn, Fn) and _decorated(fn, "task")}
    asked = [a.value.replace("-", "_") for a in cmd.positionals(_INVOKE_VALUED)]
    chosen = [a for a in asked if a in tasks]
    if not chosen or len(chosen) < len([a for a in asked if "." in a]):
        chosen = list(tasks)  # nothing named, or a namespace opsgate does not follow
    picked = _closure(tasks, chosen, _invoke_deps)
    return _judge(w, loaded, tree, tasks, picked, cmd.name, _run_calls)


def doit_findings(cmd: Command, w: Walker) -> list[Finding]:
    loaded = load(w, cmd.option("-f", "--file") or "dodo.py", _cwd(w, cmd))
    tree = _tree(w, loaded, "doit")
    if isinstance(tree, list):
        return tree
    tasks = {fn.name[5:]: fn for fn in tree.body
             if isinstance(fn, Fn) and fn.name.startswith("task_")}  # fmt: skip
    words = [a.value for a in cmd.positionals(_DOIT_VALUED) if "=" not in a.value]
    if words and words[0] in _DOIT_RUN:
        words = words[1:]
    elif words and words[0] not in tasks:
        words = []  # another doit command: every task may be touched
    chosen = [w_.split(":", 1)[0] for w_ in words] or _defaults(tree) or list(tasks)
    if any(c not in tasks for c in chosen):
        chosen = list(tasks)
    picked = _closure(tasks, chosen, _doit_deps)
    return _judge(w, loaded, tree, tasks, picked, "doit", _actions)


def _tree(w: Walker, loaded: Loaded | None, tool: str) -> ast.Module | list[Finding]:
    if loaded is None or loaded.state == "missing":
        return []
    if loaded.text is None:
        return judge(w, loaded, "python", where=f"{tool} runs {loaded.shown}", cwd=None)
    try:
        return ast.parse(loaded.text)
    except (SyntaxError, ValueError, RecursionError):
        return [bad_file(loaded, "is not Python opsgate can read")]


def _decorated(fn: Fn, word: str) -> bool:
    return any(word in ast.unparse(d) for d in fn.decorator_list)


def _closure(tasks: dict[str, Fn], chosen: list[str], deps: Deps) -> list[str]:
    seen: list[str] = []
    todo = list(chosen)
    while todo and len(seen) < 64:
        name = todo.pop(0)
        if name in seen or name not in tasks:
            continue
        seen.append(name)
        todo += deps(tasks[name], tasks)
    return seen


def _invoke_deps(fn: Fn, tasks: dict[str, Fn]) -> list[str]:
    """``@task(clean)``, ``@task(pre=[clean], post=[report])``, ``clean(c)`` in the body."""
    names = [n.id for d in fn.decorator_list for n in ast.walk(d) if isinstance(n, ast.Name)]
    names += [n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name)]  # fmt: skip
    return [n for n in names if n in tasks]


def _doit_deps(fn: Fn, tasks: dict[str, Fn]) -> list[str]:
    out: list[str] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in ("task_dep", "setup"):
                    strings = [e for e in ast.walk(value) if isinstance(e, ast.Constant)]
                    out += [str(e.value).split(":", 1)[0] for e in strings]
    return out


def _defaults(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DOIT_CONFIG" for t in node.targets
        ):
            try:
                config = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return []
            names = config.get("default_tasks") if isinstance(config, dict) else None
            return [str(n) for n in names] if isinstance(names, list) else []
    return []


def _judge(
    w: Walker, loaded: Loaded, tree: ast.Module, tasks: dict[str, Fn], picked: list[str],
    tool: str, pick: Pick,
) -> list[Finding]:  # fmt: skip
    text = loaded.text or ""
    root = posixpath.dirname(loaded.path)
    inside = {id(fn) for fn in tasks.values()}
    module = "\n".join(ast.get_source_segment(text, n) or "" for n in tree.body
                       if id(n) not in inside)  # fmt: skip
    found = judge_code(w, Code(loaded.path, loaded.shown, module, "python", key="<module>"),
                       where=f"{tool} imports {loaded.shown}", cwd=root)  # fmt: skip
    for name in picked:
        fn = tasks[name]
        where = f"{tool} task {name} in {loaded.shown}"
        source = ast.get_source_segment(text, fn) or ""
        code = Code(loaded.path, loaded.shown, source, "python", key=name, first_line=fn.lineno)
        found += judge_code(w, code, where=where, cwd=root)
        for node in pick(fn)[:_MAX_LINES]:
            key = f"{name}:{node.lineno}:{node.col_offset}"
            line = Code(loaded.path, loaded.shown, str(node.value), "shell", key=key,
                        first_line=node.lineno)  # fmt: skip
            found += judge_code(w, line, where=where, cwd=root)
    return found


def _run_calls(fn: Fn) -> list[ast.Constant]:
    """``c.run("…")``, ``c.sudo("…")``: invoke's context runs the line in a shell."""
    return [
        node.args[0]
        for node in ast.walk(fn)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("run", "sudo", "local")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def _actions(fn: Fn) -> list[ast.Constant]:
    """Strings in a doit task's ``actions`` (and ``clean``) lists: shell command lines."""
    out: list[ast.Constant] = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value in ("actions", "clean"):
                items = value.elts if isinstance(value, ast.List | ast.Tuple) else []
                out += [i for i in items
                        if isinstance(i, ast.Constant) and isinstance(i.value, str)]  # fmt: skip
    return out
