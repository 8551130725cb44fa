"""What a YAML CI pipeline or hook config runs: its script steps, with their job's context.

Each format is a ``Shape`` (behaviour as data): the keys whose values are scripts, the
keys that make a job a deployment, the job's service containers, and GitHub's
``uses:`` and ``shell:``.  One walker reads them all.  A piece of YAML (an Edit's new
text, a sed replacement) is read the same way when it parses as a mapping; text that is
not a mapping is taken line by line, as the script lines it most likely is.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from opsgate.classify._autorun import Runs, Step
from opsgate.classify._autorun_jobs import (
    environment_named,
    expressions,
    service_names,
    shell_lang,
    variables,
    with_variables,
)
from opsgate.classify._autorun_triggers import MERGE, PERSON, job_gated, workflow_gated
from opsgate.models import Environment

__all__ = ["SHAPES", "Shape", "expressions", "yaml_piece", "yaml_steps"]

_MAX_NODES = 20_000
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Shape:
    """How one YAML format says what runs."""

    run: frozenset[str]  # keys whose value is a script (a string, a list, or {command: …})
    pwsh: frozenset[str] = frozenset()  # keys whose value is a PowerShell script
    suffix: str | None = None  # keys ending so are scripts too (Cirrus' ``test_script``)
    commands: tuple[tuple[str, str], ...] = (("command", "sh"),)  # {run: {command: …}}
    deploy: frozenset[str] = frozenset({"environment"})  # keys that make a job a deployment
    services: str | None = "services"
    uses: bool = False  # GitHub's ``uses:`` steps
    shell_key: str | None = None  # GitHub's per-step ``shell:``
    expr: str = "none"  # template expressions replaced before judging (see ``expressions``)
    entries: bool = False  # pre-commit: local hooks' ``entry``
    gate: str | None = None  # how its triggers say a job waits for a person
    env: tuple[str, ...] = ()  # keys whose mapping is environment variables for the scripts
    include: str | None = None  # the key naming other files of the repository that run here


SHAPES: dict[str, Shape] = {
    "github": Shape(frozenset({"run"}), uses=True, shell_key="shell", expr="github",
                    gate="github", env=("env",)),
    "gitlab": Shape(frozenset({"script", "before_script", "after_script"}), gate="gitlab",
                    env=("variables",), include="include"),
    "circleci": Shape(frozenset({"run"}), deploy=frozenset(), env=("environment",)),
    "azure": Shape(frozenset({"script", "bash", "inlineScript"}),
                   pwsh=frozenset({"powershell", "pwsh"}), expr="azure", env=("variables", "env")),
    "bitbucket": Shape(frozenset({"script", "after-script"}),
                       deploy=frozenset({"deployment"}), gate="bitbucket"),
    "buildkite": Shape(frozenset({"command", "commands"}), env=("env",)),
    "drone": Shape(frozenset({"commands"}), deploy=frozenset(), env=("environment",)),
    "travis": Shape(frozenset({"before_install", "install", "before_script", "script",
                               "after_success", "after_failure", "after_script",
                               "before_deploy", "after_deploy", "before_cache"}),
                    deploy=frozenset({"deploy"})),
    "appveyor": Shape(frozenset({"init", "install", "before_build", "build_script",
                                 "after_build", "before_test", "test_script", "after_test",
                                 "before_deploy", "deploy_script", "after_deploy",
                                 "on_success", "on_failure", "on_finish"}),
                      commands=(("cmd", "cmd"), ("ps", "pwsh"), ("pwsh", "pwsh"), ("sh", "sh")),
                      deploy=frozenset({"deploy"})),
    "cirrus": Shape(frozenset({"script"}), suffix="_script", env=("env", "environment")),
    "semaphore": Shape(frozenset({"commands"})),
    "lefthook": Shape(frozenset({"run"}), deploy=frozenset(), services=None, env=("env",)),
    "precommit": Shape(frozenset(), deploy=frozenset(), services=None, entries=True),
}  # fmt: skip


class _TooLarge(Exception):
    pass


def _load(text: str) -> Any:
    """The document as plain dicts, lists and strings, built here from libyaml's events
    without recursion: libyaml's composer recurses per nesting level, and 50,000 levels
    (``- - - …``, ``[[[…``) overflow the C stack.  Scalars stay strings (no implicit
    typing: ``on:`` stays ``"on"``); GitLab's ``!reference`` becomes nothing; more than
    one document, or nesting deeper than anything a pipeline needs, is not a pipeline."""
    try:
        return _build(yaml.parse(text, Loader=yaml.CBaseLoader))
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        return _TooLarge


def _build(events: Any) -> Any:
    stack: list[list[Any]] = []  # [container, pending mapping key]
    anchors: dict[str, Any] = {}
    root: list[Any] = []
    documents = 0
    for count, event in enumerate(events):
        if count > _MAX_NODES * 2:
            return _TooLarge
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                return _TooLarge
        elif isinstance(event, yaml.CollectionEndEvent):
            stack.pop()
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= _MAX_DEPTH:
                return _TooLarge
            container: Any = [] if isinstance(event, yaml.SequenceStartEvent) else {}
            _attach(stack, root, None if event.tag == "!reference" else container)
            stack.append([container, _NO_KEY])
            if event.anchor:
                anchors[event.anchor] = container
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                return _TooLarge
            _attach(stack, root, anchors[event.anchor])
        elif isinstance(event, yaml.ScalarEvent):
            value = None if event.tag == "!reference" else str(event.value)
            _attach(stack, root, value)
            if event.anchor:
                anchors[event.anchor] = value
    return root[0] if root else None


_NO_KEY = object()


def _attach(stack: list[list[Any]], root: list[Any], value: Any) -> None:
    """Put a value into the collection being built: a list item, a mapping's key, or
    the value for the key before it (a key that is not a scalar gets a stand-in name)."""
    if not stack:
        root.append(value)
        return
    frame = stack[-1]
    container = frame[0]
    if isinstance(container, list):
        container.append(value)
    elif frame[1] is _NO_KEY:
        frame[1] = value if isinstance(value, str) else f"<{type(value).__name__}>"
    else:
        container[frame[1]] = value
        frame[1] = _NO_KEY


def yaml_steps(text: str, shape: Shape, runs: Runs) -> list[Step] | None:
    """Every step of a whole document; None when it is not one (unparsable, not a mapping)."""
    doc = _load(text)
    if not isinstance(doc, dict):
        return None
    try:
        return _Walk(shape, runs).steps(doc)
    except (_TooLarge, RecursionError):
        return None


def yaml_piece(text: str, shape: Shape, runs: Runs) -> list[Step]:
    """The steps a piece of YAML adds, without the rest of the file around it."""
    body = textwrap.dedent(text)
    doc = _load(body)
    structured = isinstance(doc, dict) or (
        isinstance(doc, list) and any(isinstance(item, dict) for item in doc)
    )
    if structured:
        try:
            return _Walk(shape, runs, anywhere=True).steps(doc, "added")
        except (_TooLarge, RecursionError):
            pass
    script = _script_lines(body, shape)
    if not script.strip():
        return []
    return [Step("added lines", expressions(script, shape.expr), "sh", runs)]


_KEYED = re.compile(r"^([\w.\-]+)\s*:(?:\s+|$)(.*)$")
_BLOCK = frozenset({"|", ">", "|-", ">-", "|+", ">+"})


def _script_lines(text: str, shape: Shape) -> str:
    """Lines of text that is not a YAML mapping: list markers and block indicators
    dropped, a script key's value kept, other keys' lines left out (they are data)."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        while line.startswith("- "):
            line = line[2:].lstrip()
        keyed = _KEYED.match(line)
        if keyed is not None:
            name = keyed.group(1)
            if not (name in shape.run or name in shape.pwsh or name == "entry"
                    or (shape.suffix and name.endswith(shape.suffix))):  # fmt: skip
                continue
            line = keyed.group(2).strip()
        if line in _BLOCK or not line or line.startswith("#"):
            continue
        if len(line) > 1 and line[0] == line[-1] and line[0] in "'\"":
            line = line[1:-1]
        lines.append(line)
    return "\n".join(lines)


# A job behind a merge to a protected branch, or behind a person's own act.
_GATED_RUNS: dict[str | None, Runs] = {MERGE: Runs.MERGED, PERSON: Runs.GATED}


@dataclass(slots=True)
class _Context:
    runs: Runs
    env: Environment | None = None
    services: frozenset[str] = frozenset()
    variables: tuple[tuple[str, str], ...] = ()  # the job's and step's environment variables


@dataclass
class _Walk:
    shape: Shape
    runs: Runs
    anywhere: bool = False  # a piece: pre-commit entries count wherever they appear
    out: list[Step] = field(default_factory=list)
    nodes: int = 0

    def steps(self, doc: Any, root: str = "") -> list[Step]:
        gate = self.shape.gate
        gated = (
            workflow_gated(gate, doc)
            if gate is not None and not self.anywhere and isinstance(doc, dict)
            else None
        )
        self._visit(doc, root, _Context(_GATED_RUNS.get(gated, self.runs)), 0)
        return self.out

    def _visit(self, node: Any, where: str, ctx: _Context, depth: int) -> None:
        self.nodes += 1
        if self.nodes > _MAX_NODES or depth > _MAX_DEPTH:
            raise _TooLarge
        if isinstance(node, list):
            for i, item in enumerate(node):
                self._visit(item, f"{where}[{i}]", ctx, depth + 1)
            return
        if not isinstance(node, dict):
            return
        ctx = self._enter(node, ctx, where)
        if self.shape.entries and self._entry(node, where, ctx):
            return
        lang = shell_lang(node.get(self.shape.shell_key)) if self.shape.shell_key else "sh"
        for key, value in node.items():
            name = str(key)
            here = f"{where}.{name}" if where else name
            if name in self.shape.run or (self.shape.suffix and name.endswith(self.shape.suffix)):
                self._scripts(value, here, lang, ctx, depth)
            elif name in self.shape.pwsh:
                self._scripts(value, here, "pwsh", ctx, depth)
            elif self.shape.uses and name == "uses" and isinstance(value, str):
                self._uses(value, node, here, ctx)
            elif name == self.shape.include and depth <= 1:
                self._includes(value, here, ctx)
            else:
                self._visit(value, here, ctx, depth + 1)

    def _enter(self, node: dict[Any, Any], ctx: _Context, where: str) -> _Context:
        """A job that names a deployment environment, declares service containers, runs
        on the org's own machine, or waits for a person (which wins over the rest)."""
        if ctx.runs is Runs.GATED:
            return ctx
        if ctx.runs is Runs.MERGED:  # only a person's own gate narrows it further
            gate = job_gated(self.shape.gate, node, where) if self.shape.gate else None
            return replace(ctx, runs=Runs.GATED) if gate == PERSON else ctx
        for key in self.shape.deploy:
            if node.get(key):
                value = node[key]
                name = value.get("name") if isinstance(value, dict) else value
                ctx = replace(ctx, runs=Runs.DEPLOY, env=environment_named(name) or ctx.env)
        for key in self.shape.env:
            found = variables(node.get(key), self.shape.expr)
            if found:
                merged = dict(ctx.variables) | found
                ctx = replace(ctx, variables=tuple(merged.items()))
        if self.shape.services and isinstance(node.get(self.shape.services), (dict, list)):
            ctx = replace(ctx, services=ctx.services | service_names(node[self.shape.services]))
        if "self-hosted" in str(node.get("runs-on", "")).lower():
            ctx = replace(ctx, runs=Runs.SELF_HOSTED)  # the org's own machine, not a throwaway
        gate = job_gated(self.shape.gate, node, where) if self.shape.gate is not None else None
        if gate is not None:
            ctx = replace(ctx, runs=_GATED_RUNS[gate])
        return ctx

    def _scripts(self, value: Any, where: str, lang: str, ctx: _Context, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise _TooLarge
        if isinstance(value, str):
            self.nodes += 1
            script = with_variables(expressions(value, self.shape.expr), lang, ctx.variables)
            self.out.append(Step(where, script, lang, ctx.runs, ctx.env, ctx.services))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._scripts(item, f"{where}[{i}]", lang, ctx, depth + 1)
        elif isinstance(value, dict):
            for key, item_lang in self.shape.commands:
                if isinstance(value.get(key), str):
                    self._scripts(value[key], f"{where}.{key}", item_lang, ctx, depth + 1)

    def _entry(self, node: dict[Any, Any], where: str, ctx: _Context) -> bool:
        """pre-commit: a local hook's ``entry`` runs at every commit (pygrep's is a
        pattern, fail's a message); remote repositories' hooks are pinned code."""
        if node.get("repo") not in (None, "local") or "entry" not in node:
            return False
        if not (self.anywhere or "id" in node):
            return False
        if str(node.get("language", "")) in ("pygrep", "fail"):
            return True
        args = node.get("args")
        entry = str(node["entry"])
        if isinstance(args, list):
            entry = " ".join([entry, *(shlex.quote(str(a)) for a in args)])
        self.out.append(Step(f"{where}.entry", entry, "sh", ctx.runs))
        return True

    def _includes(self, value: Any, where: str, ctx: _Context) -> None:
        """GitLab ``include:``: a local file's jobs are this pipeline's (a string, a
        ``local:`` entry, or a list of them); remote and project includes are not read."""
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            path = item.get("local") if isinstance(item, dict) else item
            if isinstance(path, str) and "://" not in path and "*" not in path:
                step = Step(f"{where}[{i}]", runs=ctx.runs, env=ctx.env,
                            include=("gitlab", path))  # fmt: skip
                self.out.append(step)

    def _uses(self, action: str, node: dict[Any, Any], where: str, ctx: _Context) -> None:
        """GitHub ``uses:``: an action that logs in over ssh runs its script there; one
        that deploys, publishes or releases is itself a change to something remote.
        A local reusable workflow or composite action runs its own steps here."""
        from opsgate.classify._autorun_text import action_step

        local = action.split("@", 1)[0]
        if local.startswith("./") and ".." not in local:
            name = local if local.endswith((".yml", ".yaml")) else f"{local.rstrip('/')}/action.yml"
            self.out.append(Step(where, runs=ctx.runs, env=ctx.env, services=ctx.services,
                                 include=("github", name)))  # fmt: skip
            return
        step = action_step(action, node.get("with"), where, ctx.runs)
        if step is not None:
            self.out.append(replace(step, env=ctx.env, services=ctx.services))
