"""Task runners that read a project file: ``task`` (Taskfile.yml), ``composer`` scripts
and ``rake`` tasks.  Each task's commands are judged as the shell lines they are.

* ``task NAME`` (go-task): the task's ``cmds``, ``deps`` and called tasks, the
  ``sh:`` of dynamic variables, ``status`` and ``preconditions`` checks; ``default``
  when none is named.  Tasks from ``includes`` are not read: naming one is unknown.
  No Taskfile: ``task`` is another program (Taskwarrior), judged by its words.
* ``composer run-script NAME`` / ``composer NAME`` / ``composer install`` …: the
  script and its ``@`` references, and the event scripts install, update and
  dump-autoload run.  PHP callbacks (``Class::method``) are code like any imported
  module and are not followed.
* ``rake NAME``: the task's body (``sh``/``ruby``/``system`` calls and Ruby's own
  effects) and its prerequisites; ``default`` when none is named.  A task the
  Rakefile does not define (``rails db:migrate``) is judged by the rails table.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import Code, Loaded, bad_file, judge, judge_code, load, parse_once
from opsgate.classify._run_rake_clean import rake_clean_findings
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["composer_scripts", "rake_findings", "taskfile_findings", "yaml_of"]

_MAX_TASKS = 64


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None


def _first(w: Walker, directory: str | None, names: tuple[str, ...]) -> Loaded | None:
    for name in names:
        loaded = load(w, name, directory)
        if loaded.state != "missing":
            return loaded
    return None


def _piece(loaded: Loaded, text: str, key: str) -> Code:
    source = loaded.text or ""
    at = source.find(text.strip().split("\n", 1)[0][:60]) if text.strip() else -1
    line = 1 + source.count("\n", 0, at) if at >= 0 else 1
    return Code(loaded.path, loaded.shown, text, "shell", key=key, first_line=line)


# --- go-task ------------------------------------------------------------------------------

_TASKFILES = ("Taskfile.yml", "taskfile.yml", "Taskfile.yaml", "taskfile.yaml",
              "Taskfile.dist.yml", "taskfile.dist.yml", "Taskfile.dist.yaml")  # fmt: skip
_TASK_QUIET = frozenset({"-l", "--list", "-a", "--list-all", "--summary", "-n", "--dry",
                         "--status", "-i", "--init", "-h", "--help", "--version"})  # fmt: skip
_TASK_VALUED = ("-t", "--taskfile", "-d", "--dir", "-o", "--output", "-C", "--concurrency",
                "--interval", "-I", "--sort")  # fmt: skip
_TEMPLATE = re.compile(r"\{\{.*?\}\}")


def taskfile_findings(cmd: Command, ctx: Context) -> list[Finding] | None:
    """What ``task …`` runs; None when there is no Taskfile (another ``task`` program)."""
    w = _walker(ctx)
    if w is None:
        return None
    base = cmd.option("-d", "--dir")
    directory = w.workspace.expand(base, cmd.cwd) if base else (cmd.cwd or w.scope.cwd)
    named = cmd.option("-t", "--taskfile")
    loaded = _first(w, directory, (named,) if named else _TASKFILES)
    if loaded is None:
        return None
    if _TASK_QUIET & set(cmd.words):
        return []
    if loaded.text is None:
        return judge(w, loaded, None, where=f"task ({loaded.shown})", cwd=directory)
    data = yaml_of(w, loaded)
    if not isinstance(data, dict):
        return [bad_file(loaded, "is not a Taskfile opsgate can read")]
    tasks = data.get("tasks")
    if not isinstance(tasks, dict):
        return [bad_file(loaded, "is not a Taskfile opsgate can read")]
    goals = [a.value for a in cmd.positionals(_TASK_VALUED) if "=" not in a.value]
    runner = _TaskRun(w, loaded, tasks, posixpath.dirname(loaded.path))
    runner.dynamic(data.get("vars"), "vars")
    for goal in goals or ["default"]:
        runner.task(goal)
    return runner.findings


def yaml_of(w: Walker, loaded: Loaded) -> object:
    return parse_once("yaml", loaded.text or "", _parse_yaml)


def _parse_yaml(text: str) -> object:
    from opsgate.classify._shell_state import charged_import

    yaml = charged_import(lambda: __import__("yaml"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None


class _TaskRun:
    def __init__(self, w: Walker, loaded: Loaded, tasks: dict[object, object], root: str):
        self.w, self.loaded, self.tasks, self.root = w, loaded, tasks, root
        self.findings: list[Finding] = []
        self.seen: set[str] = set()

    def task(self, name: str) -> None:
        if name in self.seen or len(self.seen) >= _MAX_TASKS:
            return
        self.seen.add(name)
        spec = self.tasks.get(name)
        if spec is None:
            if ":" in name:
                reason = f"task runs {name} from an included Taskfile opsgate does not read"
                self.findings.append(unknown(reason, name))
            return
        if isinstance(spec, str | list):
            spec = {"cmds": spec if isinstance(spec, list) else [spec]}
        if not isinstance(spec, dict):
            self.findings.append(bad_file(self.loaded, f"has a task {name!r} opsgate cannot read"))
            return
        self._spec(name, spec)

    def _spec(self, name: str, spec: dict[object, object]) -> None:
        cwd = posixpath.join(self.root, str(spec["dir"])) if "dir" in spec else self.root
        self.dynamic(spec.get("vars"), name)
        for dep in _items(spec.get("deps")):  # task names, or {task: NAME}
            self._item(name, {"task": dep} if isinstance(dep, str) else dep, cwd)
        for key in ("preconditions", "status", "cmds"):
            for item in _items(spec.get(key)):
                self._item(name, item, cwd)

    def _item(self, name: str, item: object, cwd: str) -> None:
        if isinstance(item, dict):
            if "task" in item:
                self.task(str(item["task"]))
                return
            item = item.get("cmd", item.get("sh", item.get("defer")))
            if isinstance(item, dict):
                self._item(name, item, cwd)
                return
        if isinstance(item, str):
            text = _TEMPLATE.sub("${TASK_TEMPLATE}", item)
            piece = _piece(self.loaded, item, f"{name}:{item[:40]}")
            piece = Code(piece.path, piece.shown, text, "shell", piece.key, piece.first_line)
            where = f"{self.loaded.shown} task {name}"
            self.findings += judge_code(self.w, piece, where=where, cwd=cwd)
        elif item is not None and isinstance(item, list | dict):
            self.findings.append(
                bad_file(self.loaded, f"has a step in {name!r} opsgate cannot read")
            )

    def dynamic(self, variables: object, owner: str) -> None:
        """``VAR: {sh: CMD}`` runs CMD when the Taskfile is read."""
        if isinstance(variables, dict):
            for value in variables.values():
                if isinstance(value, dict) and isinstance(value.get("sh"), str):
                    self._item(f"{owner} variable", value["sh"], self.root)


def _items(value: object) -> list[object]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- composer -----------------------------------------------------------------------------

_COMPOSER_EVENTS = {
    "install": ("pre-install-cmd", "post-install-cmd", "pre-autoload-dump", "post-autoload-dump"),
    "update": ("pre-update-cmd", "post-update-cmd", "pre-autoload-dump", "post-autoload-dump"),
    "dump-autoload": ("pre-autoload-dump", "post-autoload-dump"),
    "create-project": ("post-root-package-install", "post-create-project-cmd"),
    "archive": ("pre-archive-cmd", "post-archive-cmd"),
    "status": ("pre-status-cmd", "post-status-cmd"),
}
_COMPOSER_ALIASES = {"i": "install", "u": "update", "upgrade": "update", "require": "update",
                     "r": "update", "remove": "update", "rm": "update", "uninstall": "update",
                     "dumpautoload": "dump-autoload", "reinstall": "install"}  # fmt: skip
_COMPOSER_BUILTINS = frozenset(
    " ".join(
        (
            "about archive audit browse home bump check-platform-reqs clear-cache clearcache",
            "config create-project depends why diagnose dump-autoload dumpautoload exec fund",
            "global help init install i licenses list outdated prohibits why-not reinstall",
            "remove rm require r run-script run search self-update selfupdate show info status",
            "suggests update u upgrade validate",
        )
    ).split(" ")
)
_CALLBACK = re.compile(r"^[\w\\]+::\w+$")


def composer_scripts(cmd: Command, ctx: Context) -> list[Finding]:
    w = _walker(ctx)
    if w is None:
        return []
    words = [a.value for a in cmd.positionals(("-d", "--working-dir"))]
    verb = words[0] if words else ""
    verb = _COMPOSER_ALIASES.get(verb, verb)
    if verb in ("run-script", "run"):
        names: tuple[str, ...] = tuple(words[1:2])
    elif verb in _COMPOSER_EVENTS:
        names = () if cmd.has("--no-scripts") else _COMPOSER_EVENTS[verb]
    elif verb and verb not in _COMPOSER_BUILTINS:
        names = (verb,)
    else:
        return []
    base = cmd.option("-d", "--working-dir")
    directory = w.workspace.expand(base, cmd.cwd) if base else (cmd.cwd or w.scope.cwd)
    loaded = _first(w, directory, ("composer.json",))
    if loaded is None or not names:
        return []
    if loaded.text is None:
        return judge(w, loaded, None, where=f"composer ({loaded.shown})", cwd=directory)
    try:
        data = json.loads(loaded.text)
    except (ValueError, RecursionError):
        return [bad_file(loaded, "is not valid JSON")]
    scripts = data.get("scripts", {}) if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return [bad_file(loaded, "has scripts opsgate cannot read")]
    out: list[Finding] = []
    for name in names:
        out += _composer_script(w, loaded, scripts, name, directory, set())
    return out


def _composer_script(
    w: Walker, loaded: Loaded, scripts: dict[str, object], name: str, cwd: str | None,
    seen: set[str],
) -> list[Finding]:  # fmt: skip
    if name in seen or len(seen) > _MAX_TASKS or name not in scripts:
        return []
    seen.add(name)
    body = scripts[name]
    items = body if isinstance(body, list) else [body]
    out: list[Finding] = []
    for item in items:
        if not isinstance(item, str):
            out.append(bad_file(loaded, f"has a script {name!r} opsgate cannot read"))
            continue
        text = item.strip()
        if text.startswith("@") and not text.startswith(("@php ", "@composer ", "@putenv ")):
            out += _composer_script(w, loaded, scripts, text[1:].split()[0], cwd, seen)
            continue
        if _CALLBACK.match(text) or text.startswith("@putenv "):
            continue
        command = text[1:] if text.startswith(("@php ", "@composer ")) else text
        piece = _piece(loaded, item, f"script:{name}:{item[:40]}")
        piece = Code(piece.path, piece.shown, command, "shell", piece.key, piece.first_line)
        out += judge_code(w, piece, where=f"{loaded.shown} script {name}", cwd=cwd)
    return out


# --- rake ---------------------------------------------------------------------------------

_RAKEFILES = ("Rakefile", "rakefile", "Rakefile.rb", "rakefile.rb")
_RAKE_QUIET = frozenset({"-T", "--tasks", "-D", "--describe", "-P", "--prereqs", "-W", "--where",
                         "-n", "--dry-run", "-h", "--help", "-V", "--version"})  # fmt: skip
_TASK_LINE = re.compile(
    r"^(\s*)(?:task|multitask|file)\s*\(?\s*(?::(\w+)|[\"']([\w:.-]+)[\"']|(\w+):)\s*(.*)$"
)
_NAMESPACE = re.compile(r"^(\s*)namespace\s*\(?\s*(?::(\w+)|[\"'](\w+)[\"'])")
_RAKE_SH = re.compile(
    r"\b(sh|ruby|safe_system|system)\s*\(?\s*(?:'([^']*)'|\"([^\"]*)\"|%[qQ]?[({\[]([^)}\]]*)[)}\]])"
)
_SYMBOL = re.compile(r":(\w+)|[\"']([\w:.-]+)[\"']")


def rake_findings(cmd: Command, ctx: Context) -> list[Finding]:
    w = _walker(ctx)
    if w is None or _RAKE_QUIET & set(cmd.words):
        return []
    base = cmd.option("-C", "--directory")
    directory = w.workspace.expand(base, cmd.cwd) if base else (cmd.cwd or w.scope.cwd)
    named = cmd.option("-f", "--rakefile")
    loaded = _first(w, directory, (named,) if named else _RAKEFILES)
    if loaded is None:
        return []
    if loaded.text is None:
        return judge(w, loaded, None, where=f"rake ({loaded.shown})", cwd=directory)
    tasks = _rake_tasks(loaded.text)
    goals = [a.value.split("[", 1)[0] for a in cmd.positionals(("-f", "-C", "-r", "-I", "-e"))]
    out: list[Finding] = []
    seen: set[str] = set()
    for goal in [g for g in goals if "=" not in g] or ["default"]:
        out += _rake_task(w, loaded, tasks, goal, directory, seen)
        out += rake_clean_findings(w, loaded, goal, goal in tasks, directory)
    return out


def _rake_tasks(text: str) -> dict[str, tuple[list[str], int, str]]:
    """Task name (with namespaces) -> (prerequisites, first line, body)."""
    lines = text.split("\n")
    tasks: dict[str, tuple[list[str], int, str]] = {}
    spaces: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        spaces = [(d, n) for d, n in spaces if d < indent]
        namespace = _NAMESPACE.match(line)
        if namespace:
            spaces.append((indent, namespace.group(2) or namespace.group(3)))
            continue
        match = _TASK_LINE.match(line)
        if match is None:
            continue
        name = next(g for g in match.group(2, 3, 4) if g)
        full = ":".join([n for _d, n in spaces] + [name])
        rest = match.group(5)
        deps = [a or b for a, b in _SYMBOL.findall(rest.split(" do", 1)[0].split("{", 1)[0])]
        body = _block(lines, i, indent) if re.search(r"\bdo\b|\{", rest) else ""
        tasks.setdefault(full, (deps, i + 1, body))
    return tasks


def _block(lines: list[str], start: int, indent: int) -> str:
    body = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if stripped in ("end", "}") and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return "\n".join(body)


def _rake_task(
    w: Walker, loaded: Loaded, tasks: dict[str, tuple[list[str], int, str]], name: str,
    cwd: str | None, seen: set[str],
) -> list[Finding]:  # fmt: skip
    if name in seen or len(seen) > _MAX_TASKS or name not in tasks:
        return []
    seen.add(name)
    deps, line, body = tasks[name]
    out: list[Finding] = []
    for dep in deps:
        out += _rake_task(w, loaded, tasks, dep, cwd, seen)
    where = f"{loaded.shown} task {name}"
    for match in _RAKE_SH.finditer(body):
        text = next((g for g in match.group(2, 3, 4) if g is not None), "")
        command = f"ruby {text}" if match.group(1) == "ruby" else text
        piece = Code(loaded.path, loaded.shown, command, "shell", key=f"{name}:{match.start()}",
                     first_line=line + 1 + body.count("\n", 0, match.start()))  # fmt: skip
        out += judge_code(w, piece, where=where, cwd=cwd)
    without_sh = _RAKE_SH.sub("nil", body)
    if without_sh.strip():
        piece = Code(loaded.path, loaded.shown, without_sh, "ruby", key=name, first_line=line + 1)
        out += judge_code(w, piece, where=where, cwd=cwd)
    return out
