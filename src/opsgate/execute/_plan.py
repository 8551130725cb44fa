"""From (operation, target, parameters) to what runs: the runner the target
uses, the rendered steps, the classification the engine decides on, and the
rollback plan.  Pure functions over the catalog and the inventory; secrets are
only named here (``secret:NAME``), revealed later by the executor.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opsgate.environments import CREDENTIAL_KEYS, InventoryTarget
from opsgate.execute.catalog import Operation, StepTemplate, render
from opsgate.execute.errors import ExecutionError, InvalidParams, SecretError
from opsgate.execute.runner import Step
from opsgate.execute.secrets import SecretValue, parse_ref
from opsgate.models import Action, Classification, Effect, Finding

__all__ = [
    "CREDENTIAL_KEYS",
    "Plan",
    "action_for",
    "check_secrets",
    "classification_for",
    "credential_refs",
    "env_secret",
    "runner_for",
    "steps_for",
]

_PENDING = "‹set when it runs›"


def credential_refs(target: InventoryTarget) -> dict[str, str]:
    """{setting: secret name}; a credential given as a raw value is refused (it
    would sit in the inventory, readable through the API)."""
    out: dict[str, str] = {}
    for key, value in target.connection:
        name = parse_ref(value)
        if key in CREDENTIAL_KEYS:
            if name is None:
                raise SecretError(
                    f"target {target.name}: connection setting {key!r} must be 'secret:NAME'",
                    hint=f"store it with `opsgate secrets set NAME` and set {key}: secret:NAME",
                )
            out[key] = name
        elif name is not None:
            raise SecretError(f"target {target.name}: {key!r} is not a credential setting")
    return out


def check_secrets(op: Operation, target: InventoryTarget, params: Mapping[str, str]) -> None:
    """Each secret parameter names a secret its definition allows on ``target``: the
    caller (an agent) picks among those, never any other secret in the store."""
    for p in op.params:
        if p.type != "secret" or p.name not in params:
            continue
        name = parse_ref(params[p.name])
        allowed = p.allowed_on(target.name)
        if name is not None and name in allowed:
            continue
        if allowed:
            told = (f"{op.name}: parameter {p.name!r} takes only {', '.join(allowed)} on "
                    f"{target.name}, not {name!r}")  # fmt: skip
        else:
            told = (f"{op.name}: parameter {p.name!r} takes no secret on {target.name}: its "
                    "definition allows none there")  # fmt: skip
        raise InvalidParams(
            told,
            hint="an owner lists the secrets a secret parameter may take, per target "
            "(`allowed:` in the operation's definition; see docs/execution.md)",
        )


_WHOLE_PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def env_secret(op: Operation, template: str, params: Mapping[str, str]) -> str | None:
    """The secret an ``env`` entry injects, decided by the operation's own template:
    exactly ``{param}`` of a secret parameter (its checked reference), or a literal
    ``secret:NAME`` the operator wrote.  Anything else is text, whatever it renders
    to — a string parameter set to ``secret:root_ssh_key`` reveals nothing."""
    whole = _WHOLE_PLACEHOLDER.match(template)
    if whole is not None:
        kinds = {p.name: p.type for p in op.params}
        if kinds.get(whole.group(1)) == "secret":
            return parse_ref(params.get(whole.group(1), ""))
        return None
    return parse_ref(template)


def settings_of(target: InventoryTarget) -> dict[str, str]:
    return {k: v for k, v in target.connection if k not in CREDENTIAL_KEYS}


def runner_for(target: InventoryTarget) -> str:
    """The runner a target is reached with: ``runner`` if set, else by what it has."""
    explicit = target.setting("runner")
    if explicit:
        return explicit
    if target.setting("dsn"):
        return "postgres"
    if target.setting("url"):
        return "http"
    if target.setting("host"):
        return "ssh"
    raise ExecutionError(
        f"target {target.name} has no connection settings",
        hint="add connection: {host, user, key: secret:NAME} (or dsn / url) to the inventory",
    )


def values_for(
    target: InventoryTarget,
    params: Mapping[str, str],
    captured: Mapping[str, str] | None = None,
    backup_file: str | None = None,
) -> dict[str, str]:
    values = dict(params)
    values["target"] = target.name
    values.update({f"conn.{k}": v for k, v in settings_of(target).items()})
    for k, v in (captured or {}).items():
        values[f"captured.{k}"] = v
    if backup_file is not None:
        values["backup.file"] = backup_file
    return values


def _argv(template: StepTemplate, op: Operation, values: Mapping[str, str]) -> tuple[str, ...]:
    out: list[str] = []
    for element in template.argv:
        if element.startswith("@") and element[1:] in values:
            out.extend(op.commands[values[element[1:]]])
        else:
            out.append(render(element, values))
    return tuple(out)


def steps_for(
    op: Operation,
    templates: tuple[StepTemplate, ...],
    values: Mapping[str, str],
    env: Mapping[str, SecretValue | str] | None = None,
) -> list[Step]:
    """Rendered steps; a placeholder with no value yet raises ``KeyError``."""
    return [
        Step(
            argv=_argv(t, op, values),
            sql=render(t.sql, values) if t.sql is not None else None,
            read_only=t.read_only,
            method=t.method,
            path=render(t.path, values),
            body=render(t.body, values) if t.body is not None else None,
            headers=tuple((k, render(v, values)) for k, v in t.headers),
            ok_status=t.ok_status,
            as_backup=t.as_backup,
            env=dict(env or {}),
            timeout=t.timeout or op.timeout,
        )
        for t in templates
    ]


def preview(
    op: Operation, templates: tuple[StepTemplate, ...], values: Mapping[str, str]
) -> list[str]:
    """How steps read on a card before run-time values exist."""
    shown = _Preview(values)
    return [s.display() for s in steps_for(op, templates, shown)]


class _Preview(dict[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> str:
        return _PENDING


@dataclass(frozen=True, slots=True)
class Plan:
    """What a card shows and the executor later runs."""

    operation: str
    target: str
    runner: str
    params: dict[str, str]
    steps: list[str]
    verify: list[str]
    backup: list[str]
    rollback: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "target": self.target,
            "runner": self.runner,
            "params": self.params,
            "steps": self.steps,
            "verify": self.verify,
            "backup": self.backup,
            "rollback": self.rollback,
        }


def rollback_for(op: Operation, values: Mapping[str, str]) -> dict[str, Any]:
    shown = _Preview(values)
    return {
        "description": render(op.rollback.description, shown),
        "operation": op.rollback.operation,
        "params": {k: render(v, shown) for k, v in op.rollback.params},
    }


def check_target(op: Operation, target: InventoryTarget, runner: str) -> None:
    if target.kind not in op.targets:
        kinds = ", ".join(op.targets)
        raise InvalidParams(
            f"{op.name} applies to {kinds} targets; {target.name} is a {target.kind}"
        )
    if runner not in op.steps:
        raise ExecutionError(
            f"{op.name} has no {runner} steps; {target.name} is reached with {runner}",
            hint=f"{op.name} runs with: {', '.join(sorted(op.steps))}",
        )


def classification_for(
    op: Operation, target: InventoryTarget, shown: str, params: Mapping[str, Any] | None = None
) -> Classification:
    """The facts the engine decides on come from opsgate's own catalog entry, never
    from the caller: a write is a write, the target's environment is the inventory's.
    One thing the caller supplies is read as well: the SQL of a read operation.  A
    READ ONLY transaction still runs functions with effects (``pg_terminate_backend``,
    ``dblink_exec``, ``set_config``…), so whatever opsgate's SQL classifier does not
    see as a plain read is added as a finding — the operation then needs approval
    like any other write."""
    finding = Finding(
        category=f"operation.{op.name}",
        impact=op.impact,
        effect=Effect.WRITE if op.is_write else Effect.READ,
        evidence=shown[:500],
        reason=f"{op.description} on {target.kind} {target.name}",
        target=target.name,
        environment=target.environment,
        env_source=f"inventory: {target.kind} {target.name}",
    )
    source = f"inventory: {target.kind} {target.name}"
    findings = [finding]
    if not op.is_write:
        findings += _sql_beyond_reading(op, target, params or {}, source)
    return Classification(tuple(findings), target.environment, source, target.name)


def _sql_beyond_reading(
    op: Operation, target: InventoryTarget, params: Mapping[str, Any], source: str
) -> list[Finding]:
    from opsgate.classify.sql import classify_sql

    found: list[Finding] = []
    for param in op.params:
        text = params.get(param.name)
        if param.type != "sql" or not isinstance(text, str):
            continue
        for f in classify_sql(text, dialect="postgres"):
            if f.effect is not Effect.READ:
                found.append(
                    dataclasses.replace(
                        f, target=target.name, environment=target.environment, env_source=source
                    )
                )
    return found


def action_for(
    op: Operation, target: InventoryTarget, params: Mapping[str, str], shown: str, agent: str
) -> Action:
    return Action(
        kind=op.name,
        tool=op.name,
        input={
            "operation": op.name,
            "target": target.name,
            "params": dict(params),
            "command": shown,
        },
        agent=agent,
    )
