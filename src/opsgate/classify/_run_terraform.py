"""What terraform and terragrunt run on this machine, read from the configuration.

* ``terraform plan`` (and ``apply``, ``refresh``, ``console``, ``import``, ``destroy``,
  ``test``) reads every data source, and the ``external`` data source runs its
  ``program`` — a program and its arguments — on this machine: judged as that command
  line.  ``apply`` and ``destroy`` also run ``local-exec`` provisioners' ``command``
  (with their ``interpreter``).  The directory's ``*.tf`` and ``*.tf.json`` files are
  read, and those of the local modules they call (``source = "./modules/x"``);
  modules from a registry or a repository are installed code, not read.
* terragrunt runs the ``execute`` of each ``before_hook``/``after_hook``/``error_hook``
  whose ``commands`` name the terraform command (or ``init``, which it may run first),
  and every ``run_cmd(…)`` whenever it reads its configuration (every command but
  formatting); the configurations it includes (``find_in_parent_folders()``) are read
  too, and the terraform module its ``source`` names when that is a local directory.

Bounded: a few directories and files; what cannot be listed or read is ``unknown``.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import Loaded, bad_file, cannot, load
from opsgate.classify._run_hcl import Value, attribute, blocks, calls, uncommented
from opsgate.classify._run_hooks import MAX_COMMANDS, RUNTIME, argv_line, judge_line, walker
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["EVALUATES", "terraform_programs", "terragrunt_programs"]

# Verbs that read data sources (and so run external programs).
EVALUATES = frozenset({"plan", "apply", "refresh", "console", "import", "destroy", "test"})
_PROVISIONS = frozenset({"apply", "destroy"})
# terragrunt commands that only format or list files: its configuration is not evaluated.
_NOT_EVALUATED = frozenset({"hclfmt", "version", "help", "catalog", "scaffold"})
_FORMATS = (["hcl", "fmt"], ["hcl", "format"])
_MAX_DIRS = 8
_MAX_CONFIGS = 8


def terraform_programs(
    cmd: Command, ctx: Context, verb: str, directory: str | None
) -> list[Finding]:
    """What ``terraform VERB`` in ``directory`` (None: the working directory) runs here."""
    w = walker(ctx)
    if w is None or verb not in EVALUATES:
        return []
    base = w.workspace.expand(directory or ".", cmd.cwd or w.scope.cwd)
    if base is None:
        return []
    return _Terraform(w, verb, cmd.name).directory(base, base, 0)


class _Terraform:
    def __init__(self, w: Walker, verb: str, tool: str):
        self.w, self.verb, self.tool = w, verb, tool
        self.seen: set[str] = set()
        self.findings: list[Finding] = []

    def directory(self, path: str, root: str, depth: int) -> list[Finding]:
        from opsgate.classify._run_listing import collected

        if path in self.seen or len(self.seen) >= _MAX_DIRS:
            return self.findings
        self.seen.add(path)
        if self.w.session.files.kind(path) != "dir":
            return self.findings  # nothing there (or no way to look): terraform fails
        files = collected(self.w, path, ("*.tf", "*.tf.json"), recursive=False)
        if files is None:
            reason = f"{self.tool} {self.verb} reads {path}, whose files opsgate cannot list"
            self.findings.append(unknown(reason, path))
            return self.findings
        for name in files:
            loaded = load(self.w, name, None)
            if loaded.text is None:
                if loaded.state != "missing":
                    self.findings.append(cannot(loaded, f"{self.tool} {self.verb}"))
                continue
            resolve = _paths(path, root, self.w.scope.cwd or root)
            found = _json_config(loaded) if name.endswith(".json") else _hcl_config(loaded, resolve)
            if found is None:
                self.findings.append(bad_file(loaded, "is configuration opsgate cannot read"))
                continue
            programs, provisioners, modules = found
            self._judge(loaded, programs, f'{self.tool} {self.verb} (data "external")', path)
            if self.verb in _PROVISIONS:
                self._judge(loaded, provisioners, f"{self.tool} {self.verb} (local-exec)", path)
            for source in modules[:_MAX_DIRS]:
                if source.startswith(("./", "../")) and depth < 4:
                    self.directory(posixpath.normpath(posixpath.join(path, source)), root,
                                   depth + 1)  # fmt: skip
        return self.findings

    def _judge(self, loaded: Loaded, lines: list[tuple[str | None, str]], where: str,
               cwd: str) -> None:  # fmt: skip
        for line, anchor in lines[:MAX_COMMANDS]:
            if line is None:
                self.findings.append(unknown(f"{where} in {loaded.shown} runs a program named "
                                             "at run time", loaded.shown))  # fmt: skip
                continue
            self.findings += judge_line(self.w, loaded, line, where=where, cwd=cwd, anchor=anchor)


Lines = list[tuple[str | None, str]]  # (command line or None: not known, text to find it by)


def _paths(module: str, root: str, cwd: str):  # type: ignore[no-untyped-def]  # a resolver
    known = {"path.module": module, "path.root": root, "path.cwd": cwd}
    return lambda inner: known.get(inner)


def _hcl_config(loaded: Loaded, resolve) -> tuple[Lines, Lines, list[str]] | None:  # type: ignore[no-untyped-def]
    text = uncommented(loaded.text or "")
    programs: Lines = []
    provisioners: Lines = []
    modules: list[str] = []
    for block in blocks(text, frozenset({"data", "provisioner", "module"})):
        if block.kind == "data" and block.labels[:1] == ("external",):
            _, program = attribute(block.body, "program", resolve)
            programs.append((_argv(program), text[block.start : block.start + 60]))
        elif block.kind == "provisioner" and block.labels[:1] == ("local-exec",):
            provisioners.append((_local_exec(block.body, resolve), block.body[:60]))
        elif block.kind == "module":
            _, source = attribute(block.body, "source", resolve)
            if isinstance(source, str):
                modules.append(source)
    return programs, provisioners, modules


def _argv(value: Value) -> str | None:
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        return None
    return argv_line([v if isinstance(v, str) else RUNTIME for v in value])


def _local_exec(body: str, resolve) -> str | None:  # type: ignore[no-untyped-def]
    """The command line a ``local-exec`` provisioner runs: its ``command`` given to its
    ``interpreter`` (``["bash", "-c"]``; ``/bin/sh -c`` when none)."""
    _, command = attribute(body, "command", resolve)
    given, interpreter = attribute(body, "interpreter", resolve)
    if not isinstance(command, str):
        return None
    if not given:
        return argv_line(["/bin/sh", "-c", command])
    if not isinstance(interpreter, list) or not interpreter:
        return None
    return _argv([*interpreter, command])


def _json_config(loaded: Loaded) -> tuple[Lines, Lines, list[str]] | None:
    try:
        data = json.loads(loaded.text or "")
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    programs: Lines = []
    for spec in _named(_named_one(data.get("data"), "external")):
        program = spec.get("program")
        line = argv_line(program) if isinstance(program, list) and program else None
        programs.append((line, "external"))
    provisioners: Lines = []
    for resources in _named(data.get("resource")):
        for spec in _named(resources):
            for prov in _list(spec.get("provisioner")):
                for local in _list(prov.get("local-exec") if isinstance(prov, dict) else None):
                    command = local.get("command") if isinstance(local, dict) else None
                    interp = local.get("interpreter") if isinstance(local, dict) else None
                    argv = [*(interp if isinstance(interp, list) else ["/bin/sh", "-c"]), command]
                    line = argv_line(argv) if isinstance(command, str) else None
                    provisioners.append((line, "local-exec"))
    modules = [str(m.get("source")) for m in _named(data.get("module")) if "source" in m]
    return programs, provisioners, modules


def _named(value: object) -> Iterator[dict[str, object]]:
    """The specs of ``{"name": {…}}`` (or a list of such maps)."""
    for item in _list(value):
        if isinstance(item, dict):
            yield from (v for v in item.values() if isinstance(v, dict))


def _named_one(value: object, key: str) -> list[object]:
    return [item.get(key) for item in _list(value) if isinstance(item, dict)]


def _list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


# --- terragrunt -------------------------------------------------------------------------

_HOOKS = frozenset({"before_hook", "after_hook", "error_hook"})


def terragrunt_programs(cmd: Command, ctx: Context, words: list[str]) -> list[Finding]:
    """What ``terragrunt WORDS…`` runs here: hooks, ``run_cmd``, and terraform's programs."""
    w = walker(ctx)
    if w is None or not words or words[0] in _NOT_EVALUATED or words[:2] in _FORMATS:
        return []
    where = cmd.option("--terragrunt-working-dir", "--working-dir")
    base = w.workspace.expand(where or ".", cmd.cwd or w.scope.cwd)
    if base is None:
        return []
    if {"run-all", "--all", "--terragrunt-include-dir"} & set(cmd.words):
        from opsgate.classify._run_listing import collected

        if w.session.files.kind(base) != "dir":
            return []
        units = collected(w, base, ("terragrunt.hcl",), recursive=True)
        if units is None:
            return [unknown(f"terragrunt {words[0]} runs in every unit below {base}, which "
                            "opsgate cannot list", cmd.text)]  # fmt: skip
        found: list[Finding] = []
        for unit in [u for u in units if "/.terragrunt-cache/" not in u][:_MAX_DIRS]:
            found += _unit(w, cmd, ctx, words[0], posixpath.dirname(unit))
        return found
    return _unit(w, cmd, ctx, words[0], base)


def _unit(w: Walker, cmd: Command, ctx: Context, verb: str, base: str) -> list[Finding]:
    configs = _configs(w, cmd, base)
    findings: list[Finding] = []
    sources: list[str] = []
    for loaded in configs:
        here = posixpath.dirname(loaded.path)
        resolve = _terragrunt_paths(here, base)
        if loaded.text is None:
            findings.append(cannot(loaded, f"terragrunt {verb}"))
            continue
        text = uncommented(loaded.text)
        for at, args in list(calls(text, "run_cmd", resolve))[:MAX_COMMANDS]:
            argv = [a for a in args if not (isinstance(a, str) and a.startswith("--terragrunt-"))]
            line = _argv(argv)
            findings += _judge(
                w, loaded, line, f"terragrunt {verb} (run_cmd)", here, text[at : at + 60]
            )
        for block in blocks(text, _HOOKS):
            _, commands = attribute(block.body, "commands", resolve)
            names = (
                [c for c in commands if isinstance(c, str)] if isinstance(commands, list) else None
            )
            if names is not None and not ({verb, "init", "init-from-module"} & set(names)):
                continue
            _, execute = attribute(block.body, "execute", resolve)
            where_ = f"terragrunt {verb} ({block.kind} {' '.join(block.labels)})".rstrip()
            findings += _judge(
                w, loaded, _argv(execute), where_, base, text[block.start : block.start + 60]
            )
        for block in blocks(text, frozenset({"terraform"})):
            _, source = attribute(block.body, "source", resolve)
            if isinstance(source, str) and source.startswith(("./", "../", "/")):
                sources.append(posixpath.normpath(posixpath.join(here, source.replace("//", "/"))))
    for source in sources[:1]:
        findings += terraform_programs(cmd, ctx, verb, source)
    if not sources:
        findings += terraform_programs(cmd, ctx, verb, base)
    return findings


def _judge(w: Walker, loaded: Loaded, line: str | None, where: str, cwd: str,
           anchor: str) -> list[Finding]:  # fmt: skip
    if line is None:
        return [unknown(f"{where} in {loaded.shown} runs a program named at run time",
                        loaded.shown)]  # fmt: skip
    return judge_line(w, loaded, line, where=where, cwd=cwd, anchor=anchor)


def _terragrunt_paths(here: str, base: str):  # type: ignore[no-untyped-def]  # a resolver
    known = {"get_terragrunt_dir()": here, "get_original_terragrunt_dir()": base,
             "path_relative_to_include()": None}  # fmt: skip
    return lambda inner: known.get(inner)


def _configs(w: Walker, cmd: Command, base: str) -> list[Loaded]:
    """The terragrunt configuration in ``base`` and the ones it includes from above."""
    name = cmd.option("--terragrunt-config", "--config") or "terragrunt.hcl"
    first = load(w, posixpath.join(base, name), None)
    if first.state == "missing":
        return []
    found = [first]
    while len(found) < _MAX_CONFIGS and found[-1].text is not None:
        text = uncommented(found[-1].text or "")
        parent = _included(w, posixpath.dirname(found[-1].path), text)
        if parent is None or any(p.path == parent.path for p in found):
            break
        found.append(parent)
    return found


def _included(w: Walker, here: str, text: str) -> Loaded | None:
    """The file ``find_in_parent_folders("NAME")`` names (``terragrunt.hcl`` without a name)."""
    for _at, args in calls(text, "find_in_parent_folders", lambda _x: None):
        name = args[0] if args and isinstance(args[0], str) else "terragrunt.hcl"
        directory = posixpath.dirname(here)
        for _ in range(12):
            loaded = load(w, posixpath.join(directory, name), None)
            if loaded.state != "missing":
                return loaded
            parent = posixpath.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return None
