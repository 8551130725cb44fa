"""What the Kubernetes tools run on this machine, read from the project's files.

Rendering, building and diffing change nothing in a cluster, but the tools run
commands the project names for them first:

* helmfile: the ``hooks`` of each release and the global ones (``command`` and
  ``args``), for the events the command triggers (``prepare`` and ``cleanup`` on every
  command that processes releases — ``template``, ``diff``, ``lint`` …; the install and
  uninstall events on ``sync``, ``apply``, ``destroy``), and every ``exec`` a template
  calls, whenever the helmfile is rendered.  The ``helmfiles:`` it includes are read.
* skaffold: each artifact's build ``hooks`` and ``custom`` build and dependency
  commands (``build``, ``dev``, ``run`` …), the render hooks of ``manifests``, the
  host ``deploy`` hooks and the ``custom`` tests, by the phases the verb runs.
* kustomize (``kustomize build`` / ``kubectl kustomize`` with ``--enable-exec``): the
  exec KRM functions its transformers, generators and validators name, in the
  kustomization and those it builds on — each such file is a program run by path.
* tilt (``up``, ``ci``, ``down``): the Tiltfile's ``local`` calls (run when it is
  loaded) and its ``local_resource``, ``custom_build`` and ``k8s_custom_deploy``
  commands; a Tiltfile that loads an extension (``ext://…``) runs code opsgate does
  not see.

Each command is judged as the command line it is (``_run_hooks``).  Bounded; a file
that cannot be read or parsed is ``unknown``.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import Loaded, bad_file, cannot, judge, load, script_language
from opsgate.classify._run_hooks import MAX_COMMANDS, RUNTIME, argv_line, judge_line, walker
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["helmfile_findings", "kustomize_findings", "skaffold_findings", "tilt_findings"]

_MAX_FILES = 8
_TEMPLATE = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_MARK = "\ue000"  # a template's place in a YAML value, while it is parsed


def _yaml_docs(text: str) -> list[object] | None:
    from opsgate.classify._shell_state import charged_import

    yaml = charged_import(lambda: __import__("yaml"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return list(yaml.load_all(text, Loader=loader))
    except (yaml.YAMLError, RecursionError, ValueError):
        return None


def _untemplated(text: str) -> str:
    """A templated YAML file (``helmfile.yaml.gotmpl``) as YAML: control lines blanked,
    expressions marked as known only at run time."""
    lines = []
    for line in text.split("\n"):
        bare = _TEMPLATE.sub("", line).strip()
        lines.append("" if not bare and "{{" in line else _TEMPLATE.sub(_MARK, line))
    return "\n".join(lines)


def _words(value: object) -> list[object]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _text(value: object) -> object:
    return value.replace(_MARK, RUNTIME) if isinstance(value, str) else value


def _judge(w: Walker, loaded: Loaded, line: str | None, where: str, cwd: str,
           anchor: str = "") -> list[Finding]:  # fmt: skip
    if line is None:
        return [unknown(f"{where} in {loaded.shown} runs a command opsgate cannot read",
                        loaded.shown)]  # fmt: skip
    return judge_line(w, loaded, line, where=where, cwd=cwd, anchor=anchor)


def _read(w: Walker, loaded: Loaded, where: str) -> tuple[list[object] | None, list[Finding]]:
    if loaded.text is None:
        return None, [cannot(loaded, where)]
    docs = _yaml_docs(_untemplated(loaded.text) if "{{" in loaded.text else loaded.text)
    if docs is None:
        return None, [bad_file(loaded, "is YAML opsgate cannot read")]
    return docs, []


# --- helmfile ---------------------------------------------------------------------------

_HELMFILES = ("helmfile.yaml", "helmfile.yaml.gotmpl", "helmfile.yml", "helmfile.gotmpl")
_NO_RELEASES = frozenset({"version", "help", "completion", "cache", "init", "list", "build",
                          "show-dag", "repos", "deps", "fetch", "print-env"})  # fmt: skip
_PREPARE = frozenset({"prepare", "cleanup"})
_INSTALL = frozenset({"preapply", "presync", "postsync", "preuninstall", "postuninstall"})
_INSTALLS = frozenset({"sync", "apply", "deploy", "destroy", "delete"})
_EXEC = re.compile(r"""\bexec\s+"((?:[^"\\]|\\.)*)"\s*\(\s*list((?:\s+"(?:[^"\\]|\\.)*")*)\s*\)""")
_ANY_EXEC = re.compile(r"\{\{[^}]*\bexec\b")


def helmfile_findings(cmd: Command, ctx: Context, words: list[str]) -> list[Finding]:
    w = walker(ctx)
    verb = words[0] if words else "sync"
    if w is None or verb in _NO_RELEASES or cmd.has("--help", "-h", "--version", "-v"):
        return []
    base = cmd.cwd or w.scope.cwd
    named = cmd.option("-f", "--file")
    full = w.workspace.expand(named, base) if named else None
    if full is not None and w.session.file_kind(full) == "dir":  # ``-f helmfile.d``
        files = _helmfile_files(w, base, full)
    else:
        files = [load(w, named, base)] if named else _helmfile_files(w, base, None)
    events = _PREPARE | (_INSTALL if verb in _INSTALLS else frozenset())
    findings: list[Finding] = []
    for loaded in _each_once(files):
        here = posixpath.dirname(loaded.path)
        where = f"helmfile {verb}"
        findings += _template_execs(w, loaded, where, here)
        docs, bad = _read(w, loaded, where)
        findings += bad
        for doc in docs or []:
            if not isinstance(doc, dict):
                continue
            hooks = [*_words(doc.get("hooks"))]
            for release in _words(doc.get("releases")):
                if isinstance(release, dict):
                    hooks += _words(release.get("hooks"))
            for hook in hooks[:MAX_COMMANDS]:
                findings += _helmfile_hook(w, loaded, hook, events, where, here)
            for sub in _words(doc.get("helmfiles")):
                path = sub.get("path") if isinstance(sub, dict) else sub
                if isinstance(path, str) and "://" not in path and "::" not in path:
                    files.append(load(w, path, here))
    return findings


def _each_once(files: list[Loaded]) -> Iterator[Loaded]:
    """The files of ``files`` that are there, each once, in order; the caller may add
    the files one names (includes, sub-helmfiles) while it goes, up to ``_MAX_FILES``."""
    seen: set[str] = set()
    while files and len(seen) < _MAX_FILES:
        loaded = files.pop(0)
        if loaded.path in seen or loaded.state == "missing":
            continue
        seen.add(loaded.path)
        yield loaded


def _helmfile_files(w: Walker, base: str | None, directory: str | None) -> list[Loaded]:
    """The helmfile of ``base``, else the files of its ``helmfile.d`` (or ``directory``)."""
    from opsgate.classify._run_listing import collected

    if directory is None:
        for name in _HELMFILES:
            loaded = load(w, name, base)
            if loaded.state != "missing":
                return [loaded]
        directory = w.workspace.expand("helmfile.d", base)
    if directory is None or w.session.files.kind(directory) != "dir":
        return []
    listed = collected(w, directory, ("*.yaml", "*.yml", "*.gotmpl"), recursive=False)
    return [load(w, path, None) for path in (listed or ())]


def _helmfile_hook(w: Walker, loaded: Loaded, hook: object, events: frozenset[str],
                   where: str, here: str) -> list[Finding]:  # fmt: skip
    if not isinstance(hook, dict):
        return []
    named = {str(e) for e in _words(hook.get("events"))}
    if named and not (named & events) and not any(_MARK in e for e in named):
        return []
    command = _text(hook.get("command"))
    args = [_text(a) for a in _words(hook.get("args"))]
    line = argv_line([command, *args]) if isinstance(command, str) else None
    label = f"{where} ({'/'.join(sorted(named & events)) or 'hook'} hook)"
    return _judge(w, loaded, line, label, here, str(hook.get("command", "")))


def _template_execs(w: Walker, loaded: Loaded, where: str, here: str) -> list[Finding]:
    """``{{ exec "./get.sh" (list "a") }}``: run while the file is rendered."""
    text = loaded.text or ""
    found: list[Finding] = []
    matched = 0
    for m in list(_EXEC.finditer(text))[:MAX_COMMANDS]:
        matched += 1
        argv = [m.group(1), *re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))]
        found += _judge(w, loaded, argv_line(argv), f"{where} (template exec)", here, m.group(0))
    if len(_ANY_EXEC.findall(text)) > matched:
        found.append(unknown(f"{where}: a template in {loaded.shown} runs a command built at "
                             "run time", loaded.shown))  # fmt: skip
    return found


# --- skaffold ---------------------------------------------------------------------------

_PHASES = {
    "build": ("build",),
    "render": ("build", "manifests"),
    "test": ("build", "test"),
    "deploy": ("manifests", "deploy"),
    "apply": ("deploy",),
    **dict.fromkeys(("dev", "run", "debug"), ("build", "manifests", "deploy", "test")),
}


def skaffold_findings(cmd: Command, ctx: Context, words: list[str]) -> list[Finding]:
    w = walker(ctx)
    phases = _PHASES.get(words[0] if words else "", ())
    if w is None or not phases or cmd.has("--help", "-h"):
        return []
    base = cmd.cwd or w.scope.cwd
    loaded = load(w, cmd.option("-f", "--filename") or "skaffold.yaml", base)
    if loaded.state == "missing":
        return []
    where = f"skaffold {words[0]}"
    docs, findings = _read(w, loaded, where)
    here = posixpath.dirname(loaded.path)
    lines: list[tuple[str | None, str]] = []
    for doc in docs or []:
        if not isinstance(doc, dict):
            continue
        for config in [doc, *(p for p in _words(doc.get("profiles")) if isinstance(p, dict))]:
            for phase in phases:
                lines += list(_skaffold_commands(config.get(phase), phase))
    for line, anchor in lines[:MAX_COMMANDS]:
        findings += _judge(w, loaded, line, where, here, anchor)
    return findings


def _skaffold_commands(
    node: object, phase: str, depth: int = 0
) -> Iterator[tuple[str | None, str]]:
    """The host commands below ``node``: hook items' ``command`` (or ``host.command``),
    custom build and dependency commands, custom tests' ``command``."""
    if depth > 12:
        return
    if isinstance(node, list):
        for item in node:
            yield from _skaffold_commands(item, phase, depth + 1)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("before", "after") and isinstance(value, list):
            for hook in value:
                host = hook.get("host", hook) if isinstance(hook, dict) else None
                command = host.get("command") if isinstance(host, dict) else None
                if command is not None:
                    yield (argv_line(command) if isinstance(command, list) else None), "command"
        elif key in ("buildCommand", "command") and isinstance(value, str):
            yield value, value
        else:
            yield from _skaffold_commands(value, phase, depth + 1)


# --- kustomize --------------------------------------------------------------------------

_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_FUNCTION = ("config.kubernetes.io/function", "config.k8s.io/function")


def kustomize_findings(cmd: Command, ctx: Context, target: str | None) -> list[Finding]:
    w = walker(ctx)
    if w is None or not cmd.has("--enable-exec"):
        return []
    base = w.workspace.expand(target or ".", cmd.cwd or w.scope.cwd)
    if base is None or "://" in (target or "") or "::" in (target or ""):
        return []
    return _Kustomize(w, cmd).kustomization(base, 0)


class _Kustomize:
    def __init__(self, w: Walker, cmd: Command):
        self.w, self.cmd = w, cmd
        self.seen: set[str] = set()
        self.findings: list[Finding] = []

    def kustomization(self, directory: str, depth: int) -> list[Finding]:
        if directory in self.seen or len(self.seen) >= _MAX_FILES or depth > 4:
            return self.findings
        self.seen.add(directory)
        loaded = next((x for x in (load(self.w, n, directory) for n in _KUSTOMIZATIONS)
                       if x.state != "missing"), None)  # fmt: skip
        if loaded is None:
            return self.findings
        docs, self.findings[len(self.findings) :] = _read(self.w, loaded, "kustomize build")
        data = docs[0] if docs else None
        if not isinstance(data, dict):
            return self.findings
        for key in ("transformers", "generators", "validators"):
            for entry in _words(data.get(key))[:MAX_COMMANDS]:
                self._function_config(entry, directory, depth)
        for key in ("resources", "components", "bases"):
            for entry in _words(data.get(key))[:MAX_COMMANDS]:
                if (
                    isinstance(entry, str)
                    and "://" not in entry
                    and not entry.endswith((".yaml", ".yml", ".json"))
                ):
                    self.kustomization(
                        posixpath.normpath(posixpath.join(directory, entry)), depth + 1
                    )
        return self.findings

    def _function_config(self, entry: object, directory: str, depth: int) -> None:
        if not isinstance(entry, str):
            return
        path = posixpath.normpath(posixpath.join(directory, entry))
        loaded = load(self.w, path, None)
        if loaded.state == "missing":
            self.kustomization(path, depth + 1)  # a directory of function configs
            return
        docs, bad = _read(self.w, loaded, "kustomize build")
        self.findings += bad
        for doc in docs or []:
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            notes = meta.get("annotations") if isinstance(meta, dict) else None
            spec = (
                next((notes[k] for k in _FUNCTION if k in notes), None)
                if isinstance(notes, dict)
                else None
            )
            if spec is None:
                continue
            parsed = _yaml_docs(spec) if isinstance(spec, str) else [spec]
            function = parsed[0] if parsed else None
            run = function.get("exec") if isinstance(function, dict) else None
            if run is None:
                continue
            program = run.get("path") if isinstance(run, dict) else None
            if not isinstance(program, str):
                self.findings.append(bad_file(loaded, "names an exec function opsgate cannot read"))
                continue
            self._exec(program, directory, loaded)

    def _exec(self, program: str, directory: str, config: Loaded) -> None:
        script = load(self.w, posixpath.normpath(posixpath.join(directory, program)), None)
        if script.state == "missing" and not program.startswith(("./", "../", "/")):
            return  # a program on PATH: an installed tool
        lang = script_language(script.text) if script.text is not None else "shell"
        where = f"kustomize exec function {program} ({config.shown})"
        self.findings += judge(self.w, script, lang, where=where, cwd=directory)


# --- tilt -------------------------------------------------------------------------------

# Function -> (positional index, keyword) of each command it runs, by the verbs it runs on.
_TILT_LOAD = {"local": ((0, "command"),)}
_TILT_UP = {
    "local_resource": ((1, "cmd"), (-1, "serve_cmd")),
    "custom_build": ((1, "command"),),
    "k8s_custom_deploy": ((1, "apply_cmd"),),
}
_TILT_DOWN = {"k8s_custom_deploy": ((2, "delete_cmd"),)}


def tilt_findings(cmd: Command, ctx: Context, words: list[str]) -> list[Finding]:
    w = walker(ctx)
    verb = words[0] if words else ""
    if w is None or verb not in ("up", "ci", "down"):
        return []
    runs = {**_TILT_LOAD, **(_TILT_DOWN if verb == "down" else _TILT_UP)}
    findings: list[Finding] = []
    files = [load(w, cmd.option("-f", "--file") or "Tiltfile", cmd.cwd or w.scope.cwd)]
    for loaded in _each_once(files):
        where = f"tilt {verb} ({loaded.shown})"
        if loaded.text is None:
            findings.append(cannot(loaded, where))
            continue
        try:
            tree = ast.parse(loaded.text)
        except (SyntaxError, ValueError, RecursionError):
            findings.append(bad_file(loaded, "is a Tiltfile opsgate cannot read"))
            continue
        here = posixpath.dirname(loaded.path)
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)][:256]:
            name = call.func.id if isinstance(call.func, ast.Name) else ""
            if name in ("load", "include", "load_dynamic"):
                findings += _tilt_load(w, loaded, call, here, files)
            for index, keyword in runs.get(name, ()):
                value = _argument(call, index, keyword)
                if value is not None:
                    findings += _judge(
                        w,
                        loaded,
                        _tilt_line(value),
                        f"{where} {name}",
                        here,
                        ast.get_source_segment(loaded.text, call) or "",
                    )
    return findings


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[index] if 0 <= index < len(call.args) else None


def _tilt_line(node: ast.expr) -> str | None:
    """A command Tilt runs: a string (``sh -c``) or a list of words; None when it is
    built at run time."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return argv_line([e.value for e in node.elts if isinstance(e, ast.Constant)])
    if isinstance(node, ast.Constant) and node.value is None:
        return ""
    return None


def _tilt_load(w: Walker, loaded: Loaded, call: ast.Call, here: str,
               files: list[Loaded]) -> list[Finding]:  # fmt: skip
    first = call.args[0] if call.args else None
    path = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    if path is None or "://" in path:
        reason = (
            f"{loaded.shown} loads {path or 'a file named at run time'}, code opsgate does not read"
        )
        return [unknown(reason, loaded.shown)]
    files.append(load(w, path, here))
    return []
