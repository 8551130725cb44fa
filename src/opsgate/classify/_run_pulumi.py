"""``pulumi preview`` runs the Pulumi program on this machine.

``preview``, ``up`` and ``watch`` (and ``refresh``/``destroy`` with
``--run-program``) start the program of the project: ``Pulumi.yaml`` (in ``--cwd`` or
the nearest directory above) names its ``runtime`` and ``main`` (the file, or the
directory: ``index.ts``/``index.js`` or package.json's ``main`` for Node,
``__main__.py`` for Python, the package for Go).  The program is judged as that
interpreter would run it (``node index.js``, ``python3 DIR``, ``go run DIR``).  A
YAML program runs nothing here; a runtime opsgate does not model (.NET, Java) is
``unknown``.

AWS CDK's ``synth``, ``diff``, ``deploy``, ``ls``, ``watch``, ``destroy``, ``import``
run the app command (``--app``/``-a``, else ``"app"`` in the working directory's
``cdk.json``) to synthesise it: that command line is judged.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._run_files import bad_file, load, nearest
from opsgate.classify._run_hooks import walker
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["cdk_app", "pulumi_program"]

_RUNS = frozenset({"preview", "up", "update", "watch"})
_MAY_RUN = frozenset({"refresh", "destroy"})  # with ``--run-program``
_NODE_MAINS = ("index.ts", "index.js", "index.mjs", "index.cjs", "index.mts")


def pulumi_program(cmd: Command, ctx: Context, verb: str) -> list[Finding]:
    from opsgate.classify._run_tasks import yaml_of

    w = walker(ctx)
    runs = verb in _RUNS or (verb in _MAY_RUN and cmd.has("--run-program"))
    if w is None or not runs:
        return []
    start = w.workspace.expand(cmd.option("-C", "--cwd") or ".", cmd.cwd or w.scope.cwd)
    project = nearest(w, start, ("Pulumi.yaml", "Pulumi.yml")) if start else None
    if project is None:
        return []
    data = yaml_of(w, project) if project.text is not None else None
    if not isinstance(data, dict):
        return [bad_file(project, "is a Pulumi project opsgate cannot read")]
    runtime = data.get("runtime")
    name = runtime.get("name") if isinstance(runtime, dict) else runtime
    root = posixpath.dirname(project.path)
    main = data.get("main")
    target = posixpath.normpath(posixpath.join(root, main)) if isinstance(main, str) else root
    line = _program_line(w, str(name), target, root)
    if line is None:
        return [unknown(f"pulumi {verb} runs a {name} program opsgate does not model",
                        project.shown)]  # fmt: skip
    if not line:
        return []
    return w.classify_shell(line, via=f"pulumi {verb} (program)", cwd=root)


def _program_line(w: Walker, runtime: str, target: str, root: str) -> str | None:
    """The command line the runtime starts in ``root`` ("" when it runs nothing here)."""
    if runtime == "yaml":
        return ""
    program = {"nodejs": "node", "python": "python3", "go": "go run"}.get(runtime)
    if program is None:
        return None
    path = _node_main(w, target) if runtime == "nodejs" else target
    inside = path == root or path.startswith(root.rstrip("/") + "/")
    shown = posixpath.relpath(path, root) if inside else path
    return f"{program} {shlex.quote(shown if shown.startswith(('.', '/')) else './' + shown)}"


def _node_main(w: Walker, target: str) -> str:
    if w.session.file_kind(target) not in ("dir",):
        return target
    manifest = load(w, posixpath.join(target, "package.json"), None)
    try:
        declared = json.loads(manifest.text or "{}").get("main")
    except (ValueError, AttributeError, RecursionError):
        declared = None
    if isinstance(declared, str):
        return posixpath.normpath(posixpath.join(target, declared))
    for name in _NODE_MAINS:
        if load(w, posixpath.join(target, name), None).state != "missing":
            return posixpath.join(target, name)
    return posixpath.join(target, "index.js")


_CDK_SYNTHS = frozenset({"synth", "synthesize", "diff", "deploy", "ls", "list", "watch",
                         "destroy", "import", "rollback", "drift"})  # fmt: skip


def cdk_app(cmd: Command, ctx: Context, verb: str) -> list[Finding]:
    w = walker(ctx)
    if w is None or verb not in _CDK_SYNTHS or cmd.has("-h", "--help"):
        return []
    cwd = cmd.cwd or w.scope.cwd
    app = cmd.option("-a", "--app")
    where = "cdk --app"
    if app is None:
        config = load(w, "cdk.json", cwd)
        if config.state == "missing":
            return []
        try:
            data = json.loads(config.text) if config.text is not None else None
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            return [bad_file(config, "is a CDK configuration opsgate cannot read")]
        app = data.get("app")
        if app is None:
            return []
        if not isinstance(app, str):
            return [bad_file(config, "names an app command opsgate cannot read")]
        where = f"{config.shown} app"
    if w.workspace.expand(app, cwd) and load(w, posixpath.join(app, "manifest.json"), cwd).text:
        return []  # a synthesised cloud assembly: nothing runs
    return w.classify_shell(app, via=f"cdk {verb} ({where})", cwd=cwd)
