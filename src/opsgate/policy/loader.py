"""Loading a policy file: YAML, validated against the shipped JSON Schema.

Errors name the file and the line of the offending value, and say what to fix.
PyYAML and jsonschema are imported here only, never on the default hook path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from opsgate.environments import Inventory, InventoryTarget
from opsgate.errors import PolicyError
from opsgate.models import Environment, Verdict
from opsgate.policy.model import MAX_TTL_SECONDS, MIN_TTL_SECONDS, Policy, Rule, Settings

__all__ = ["load_policy", "parse_policy", "schema"]

_SCHEMA_PATH = Path(__file__).with_name("schema.json")
_KINDS = {
    "servers": "server",
    "sites": "site",
    "databases": "database",
    "backups": "backup",
    "clusters": "cluster",
    "targets": "target",
}


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_SCHEMA_PATH.read_text("utf-8"))
    return data


def load_policy(path: str | Path) -> Policy:
    file = Path(path)
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise PolicyError(
            f"{file}: cannot read the policy file ({exc.strerror})",
            hint="check the path, or run without --policy to use the built-in default",
        ) from exc
    return parse_policy(text, str(file))


def parse_policy(text: str, name: str = "<policy>") -> Policy:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{name}{line}: invalid YAML: {problem}",
                          hint="fix the YAML syntax at that line") from exc  # fmt: skip
    if data is None:
        raise PolicyError(
            f"{name}: the policy file is empty",
            hint="an empty policy is an error; start from `version: 1`",
        )
    _validate(data, root, name)
    return _build(data, root, name)


def _validate(data: Any, root: Any, name: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    first = errors[0]
    path = list(first.absolute_path)
    line = _line_of(root, path)
    where = "/".join(str(p) for p in path) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise PolicyError(
        f"{name}:{line}: {where}: {first.message}{more}",
        hint="see `opsgate policy schema` for the allowed fields",
    )


def _line_of(node: Any, path: list[Any]) -> int:
    """The 1-based line of the YAML node at ``path`` (the deepest one that exists)."""
    line = (node.start_mark.line + 1) if node is not None else 1
    for key in path:
        if node is None:
            break
        value = getattr(node, "value", None)
        nxt = None
        if isinstance(value, list) and isinstance(key, int) and key < len(value):
            nxt = value[key]
        elif isinstance(value, list):
            for k, v in value:
                if getattr(k, "value", None) == key:
                    nxt = v
                    break
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _build(data: dict[str, Any], root: Any, name: str) -> Policy:
    settings_data = data.get("settings") or {}
    settings = Settings(
        production_protection=settings_data.get("production_protection", True),
        write_actions=settings_data.get("write_actions", True),
        approval_ttl_seconds=_ttl(settings_data.get("approval_ttl", "15m"), name, root),
        two_approvers_for_destructive_production=settings_data.get(
            "two_approvers_for_destructive_production", False
        ),
    )
    targets = []
    for section, entries in (data.get("inventory") or {}).items():
        for entry in entries:
            targets.append(
                InventoryTarget(
                    name=entry["name"],
                    kind=_KINDS[section],
                    environment=Environment.parse(entry["environment"]),
                    access=entry.get("access", "full"),
                    match=tuple(entry.get("match", ())),
                    connection=tuple(
                        sorted((k, str(v)) for k, v in (entry.get("connection") or {}).items())
                    ),
                )
            )
    rules = tuple(_rule(i, r, root) for i, r in enumerate(data.get("rules") or []))
    pinned = frozenset(_SETTING_FIELDS.get(k, k) for k in settings_data)
    return Policy(settings, rules, Inventory.of(targets), source=name, pinned=pinned)


# The file's settings keys that are named differently on ``Settings``.
_SETTING_FIELDS = {"approval_ttl": "approval_ttl_seconds"}


def _rule(index: int, raw: dict[str, Any], root: Any) -> Rule:
    envs = raw.get("environment") or []
    if isinstance(envs, str):
        envs = [envs]
    when = raw.get("when") or {}
    return Rule(
        id=raw.get("id") or f"rule-{index + 1}",
        effect=Verdict(raw["effect"]),
        action=raw.get("action", "*"),
        resource=raw.get("resource", "*"),
        reason=raw.get("reason"),
        environments=frozenset(Environment.parse(e) for e in envs),
        impact=when.get("impact"),
        category=when.get("category"),
        write=when.get("write"),
        line=_line_of(root, ["rules", index]),
    )


def _ttl(text: str, name: str, root: Any) -> int:
    """``approval_ttl`` in seconds, within the bounds the API and the console keep:
    the file must not set what no person could (``0s`` expires every card at once,
    ``400d`` keeps a grant for a year)."""
    where = f"{name}:{_line_of(root, ['settings', 'approval_ttl'])}"
    m = re.fullmatch(r"(\d+)([smhd])", text)
    if m is None:
        raise PolicyError(
            f"{where}: approval_ttl {text!r} is not a duration",
            hint="use a number and a unit: 90s, 15m, 2h, 1d",
        )
    seconds = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
        raise PolicyError(
            f"{where}: approval_ttl {text!r} is outside {MIN_TTL_SECONDS}s to "
            f"{MAX_TTL_SECONDS // 86400}d",
            hint=f"cards wait from {MIN_TTL_SECONDS} seconds to {MAX_TTL_SECONDS // 86400} "
            "days for a person: use e.g. 15m, 2h or 1d",
        )
    return seconds
