"""The operation catalog: governed operations as data (YAML, checked against
``operations/schema.json``), built-ins plus the operator's own files.

An operation is a template, never a shell string: each argv element is rendered
on its own, so a parameter stays one argument whatever it contains, and the SSH
runner quotes every element by construction (``shlex.quote``).  Parameters are
validated before anything is proposed; values that start with ``-`` are refused
everywhere (they would be read as options), and secrets may only be placed in
the environment of a command, never in its argv or in SQL.  A ``secret``
parameter takes only the secrets its definition allows (``allowed: [NAME…]``, or
per target: ``allowed: {TARGET-OR-GLOB: [NAME…]}``); none listed means none.

User files: every ``*.yaml`` in ``$OPSGATE_HOME/operations/`` and the files or
directories listed in ``OPSGATE_OPERATIONS`` (``os.pathsep``-separated).  A user
operation with a built-in's name replaces it (to add ``sudo``, say).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from opsgate.execute.errors import CatalogError, InvalidParams, UnknownOperation
from opsgate.models import Impact

__all__ = [
    "Catalog",
    "Operation",
    "Param",
    "StepTemplate",
    "load_catalog",
    "render",
]

_HERE = Path(__file__).parent / "operations"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_SECRET_REF = re.compile(r"^secret:([A-Za-z0-9_.-]{1,128})$")
_PATH = re.compile(r"^/[A-Za-z0-9._/@+-]{0,1023}$")
_SPLICE = re.compile(r"^@([a-z][a-z0-9_]*)$")
_CONTEXT = ("target", "backup.file")  # plus conn.KEY and captured.NAME


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str  # string int enum path secret sql bool
    description: str = ""
    pattern: str | None = None
    max_length: int = 1024
    min: int | None = None
    max: int | None = None
    values: tuple[str, ...] = ()
    default: Any = None
    required: bool = True
    # secret parameters: (target name or glob, secret names it may take there)
    allowed: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def allowed_on(self, target: str) -> tuple[str, ...]:
        """The secrets this parameter may take on ``target`` (by name or glob)."""
        lowered = target.lower()
        found: list[str] = []
        for pattern, names in self.allowed:
            if fnmatch.fnmatchcase(lowered, pattern.lower()):
                found.extend(n for n in names if n not in found)
        return tuple(found)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "required": self.required and self.default is None,
        }
        for key in ("description", "pattern", "min", "max", "default"):
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        if self.values:
            out["values"] = list(self.values)
        if self.type == "secret":
            out["allowed"] = {pattern: list(names) for pattern, names in self.allowed}
        return out

    def check(self, raw: Any) -> str:
        """The validated value as text, or raise ``ValueError`` with the reason."""
        if self.type == "int":
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError("must be an integer")
            try:
                number = int(raw)
            except ValueError:
                raise ValueError("must be an integer") from None
            if (self.min is not None and number < self.min) or (
                self.max is not None and number > self.max
            ):
                raise ValueError(f"must be between {self.min} and {self.max}")
            return str(number)
        if self.type == "bool":
            if not isinstance(raw, bool):
                raise ValueError("must be true or false")
            return "true" if raw else "false"
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        if len(raw) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        if self.type == "sql":
            if "\x00" in raw or not raw.strip():
                raise ValueError("must be non-empty SQL text")
            return raw
        if not raw or raw.startswith("-") or any(c in raw for c in "\x00\n\r"):
            raise ValueError("must be non-empty, one line, and not start with '-'")
        if self.type == "secret":
            if not _SECRET_REF.match(raw):
                raise ValueError("must be a reference 'secret:NAME', never a value")
            return raw
        if self.type == "enum" and raw not in self.values:
            raise ValueError(f"must be one of {', '.join(self.values)}")
        if self.type == "path" and (not _PATH.match(raw) or "/../" in f"{raw}/"):
            raise ValueError("must be an absolute path without '..' or unusual characters")
        if self.pattern is not None and not re.fullmatch(self.pattern, raw):
            raise ValueError(f"must match {self.pattern}")
        return raw


@dataclass(frozen=True, slots=True)
class StepTemplate:
    """One step for one runner: argv (ssh, local), sql (postgres) or a request (http)."""

    argv: tuple[str, ...] = ()
    sql: str | None = None
    read_only: bool = False
    method: str = "GET"
    path: str = "/"
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    ok_status: tuple[int, ...] = ()
    as_backup: bool = False
    timeout: float | None = None

    def texts(self) -> list[str]:
        return [
            *self.argv,
            self.sql or "",
            self.path,
            self.body or "",
            *(v for _, v in self.headers),
        ]


@dataclass(frozen=True, slots=True)
class Rollback:
    description: str
    operation: str | None = None
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    description: str
    effect: str  # read | write
    impact: Impact
    targets: tuple[str, ...]
    params: tuple[Param, ...]
    steps: Mapping[str, tuple[StepTemplate, ...]]
    rollback: Rollback
    commands: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    capture: Mapping[str, Mapping[str, tuple[StepTemplate, ...]]] = field(default_factory=dict)
    verify: Mapping[str, tuple[StepTemplate, ...]] = field(default_factory=dict)
    requires_backup: bool = False
    backup_path: str | None = None
    timeout: float = 300.0
    source: str = "builtin"

    @property
    def is_write(self) -> bool:
        return self.effect == "write"

    def to_json(self) -> dict[str, Any]:
        """What an agent may see: the contract, not the credentials (there are none here)."""
        return {
            "name": self.name,
            "description": self.description,
            "effect": self.effect,
            "impact": self.impact.label,
            "targets": list(self.targets),
            "runners": sorted(self.steps),
            "params": {p.name: p.to_json() for p in self.params},
            "requires_backup": self.requires_backup,
            "rollback": self.rollback.description,
            "source": self.source,
        }

    def validate(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """Validated parameters (defaults filled in), or ``InvalidParams`` naming each."""
        known = {p.name for p in self.params}
        problems = [f"unknown parameter {k!r}" for k in raw if k not in known]
        out: dict[str, str] = {}
        for p in self.params:
            value = raw.get(p.name, p.default)
            if value is None:
                if p.required:
                    problems.append(f"{p.name}: is required")
                continue
            try:
                out[p.name] = p.check(value)
            except ValueError as exc:
                problems.append(f"{p.name}: {exc}")
        if problems:
            raise InvalidParams(
                f"invalid parameters for {self.name}: " + "; ".join(problems),
                hint=f"see the parameters of {self.name} in the operation list",
            )
        return out


def render(template: str, values: Mapping[str, str]) -> str:
    """Substitute ``{name}``; an unknown name is an error (never left as text)."""

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise KeyError(key)
        return values[key]

    return _PLACEHOLDER.sub(one, template)


@dataclass(frozen=True, slots=True)
class Catalog:
    operations: Mapping[str, Operation]

    def get(self, name: str) -> Operation:
        op = self.operations.get(name)
        if op is None:
            raise UnknownOperation(
                f"no operation {name!r}",
                hint="list the operations (GET /api/v1/operations, or the MCP list tool)",
            )
        return op

    def list(self) -> list[Operation]:
        return [self.operations[k] for k in sorted(self.operations)]


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads((_HERE / "schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _steps(raw: Mapping[str, Any]) -> dict[str, tuple[StepTemplate, ...]]:
    return {runner: tuple(_step(s) for s in items) for runner, items in raw.items()}


def _step(raw: Mapping[str, Any]) -> StepTemplate:
    return StepTemplate(
        argv=tuple(raw.get("argv", ())),
        sql=raw.get("sql"),
        read_only=bool(raw.get("read_only", False)),
        method=raw.get("method", "GET"),
        path=raw.get("path", "/"),
        body=raw.get("body"),
        headers=tuple(sorted((raw.get("headers") or {}).items())),
        ok_status=tuple(raw.get("ok_status", ())),
        as_backup=raw.get("as") == "backup",
        timeout=raw.get("timeout"),
    )


def _allowed(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``allowed`` as (target pattern, names): a plain list is for every target."""
    if raw is None:
        return ()
    if isinstance(raw, list):
        return (("*", tuple(raw)),)
    return tuple((pattern, tuple(names)) for pattern, names in raw.items())


def _operation(raw: Mapping[str, Any], source: str) -> Operation:
    params = tuple(
        Param(
            name=name,
            type=p["type"],
            description=p.get("description", ""),
            pattern=p.get("pattern"),
            max_length=p.get("max_length", 100_000 if p["type"] == "sql" else 1024),
            min=p.get("min"),
            max=p.get("max"),
            values=tuple(p.get("values", ())),
            default=p.get("default"),
            required=p.get("required", True),
            allowed=_allowed(p.get("allowed")),
        )
        for name, p in (raw.get("params") or {}).items()
    )
    rb = raw["rollback"]
    op = Operation(
        name=raw["name"],
        description=raw["description"],
        effect=raw["effect"],
        impact=Impact[raw["impact"].upper()],
        targets=tuple(raw["targets"]),
        params=params,
        steps=_steps(raw["steps"]),
        rollback=Rollback(
            rb["description"], rb.get("operation"), tuple((rb.get("params") or {}).items())
        ),
        commands={k: tuple(v) for k, v in (raw.get("commands") or {}).items()},
        env=dict(raw.get("env") or {}),
        capture={k: _steps(v) for k, v in (raw.get("capture") or {}).items()},
        verify=_steps(raw.get("verify") or {}),
        requires_backup=bool(raw.get("requires_backup", False)),
        backup_path=raw.get("backup_path"),
        timeout=float(raw.get("timeout", 300.0)),
        source=source,
    )
    _check_templates(op)
    return op


def _check_templates(op: Operation) -> None:
    """Load-time rules: placeholders name something; secrets only in env; SQL
    parameters only in SQL and never beside other parameters in it."""
    kinds = {p.name: p.type for p in op.params}
    captured = {f"captured.{k}" for k in op.capture}

    def names(text: str) -> list[str]:
        found = _PLACEHOLDER.findall(text)
        for n in found:
            if not (n in kinds or n in _CONTEXT or n in captured or n.startswith("conn.")):
                raise CatalogError(f"operation {op.name}: unknown placeholder {{{n}}}")
        return found

    groups = [*op.steps.values(), *op.verify.values()]
    for per_runner in op.capture.values():
        groups.extend(per_runner.values())
    for steps in groups:
        for step in steps:
            for element in step.argv:
                splice = _SPLICE.match(element)
                if splice and (kinds.get(splice.group(1)) != "enum" or not op.commands):
                    raise CatalogError(f"operation {op.name}: {element} needs an enum and commands")
                for n in names(element):
                    if kinds.get(n) in ("secret", "sql"):
                        raise CatalogError(
                            f"operation {op.name}: {{{n}}} ({kinds[n]}) may not appear in argv"
                        )
            if step.sql is not None:
                used = names(step.sql)
                if any(kinds.get(n) != "sql" for n in used) or (
                    used and step.sql != f"{{{used[0]}}}"
                ):
                    raise CatalogError(
                        f"operation {op.name}: a sql step is one sql parameter or fixed text"
                    )
            for text in (step.path, step.body or "", *(v for _, v in step.headers)):
                for n in names(text):
                    if kinds.get(n) in ("sql", "secret"):
                        raise CatalogError(
                            f"operation {op.name}: {{{n}}} ({kinds[n]}) may not appear in a "
                            "request (a secret goes whole into env; a request carries the "
                            "target's own token)"
                        )
    for key, value in op.env.items():
        used = names(value)
        if any(kinds.get(n) == "secret" for n in used) and value != f"{{{used[0]}}}":
            raise CatalogError(
                f"operation {op.name}: env {key} holds a secret parameter with other text; "
                'a secret goes whole into an env value (e.g. API_TOKEN: "{token}")'
            )
    for p in op.params:
        if p.allowed and p.type != "secret":
            raise CatalogError(f"operation {op.name}: {p.name} is not a secret; `allowed` is "
                               "for secret parameters")  # fmt: skip
    for _, value in op.rollback.params:
        names(value)
    if op.requires_backup and not op.backup_path:
        raise CatalogError(f"operation {op.name}: requires_backup needs backup_path")


def _load_file(path: Path) -> list[Operation]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"cannot read operations file {path}: {exc}") from exc
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        raise CatalogError(
            f"{path}: {where}: {first.message}",
            hint="operation files follow src/opsgate/execute/operations/schema.json",
        )
    source = "builtin" if path.parent == _HERE else str(path)
    return [_operation(raw, source) for raw in data["operations"]]


def _user_files(data_dir: Path | None, env: Mapping[str, str] | None) -> list[Path]:
    from opsgate.config import resolve

    roots: list[Path] = []
    if data_dir is not None:
        roots.append(data_dir / "operations")
    roots.extend(resolve(env).paths("execute.operations"))
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files.extend(sorted(root.glob("*.yaml")) + sorted(root.glob("*.yml")))
        elif root.is_file():
            files.append(root)
    return files


def load_catalog(data_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Catalog:
    """Built-ins, then user files in order (a later name replaces an earlier one)."""
    ops: dict[str, Operation] = {}
    for path in [_HERE / "builtin.yaml", *_user_files(data_dir, env)]:
        for op in _load_file(path):
            ops[op.name] = op
    for op in ops.values():
        target = op.rollback.operation
        if target is not None and target not in ops:
            raise CatalogError(f"operation {op.name}: its rollback names unknown {target!r}")
    return Catalog(ops)
