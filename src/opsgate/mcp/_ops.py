"""What the MCP server needs from governed operations, as one small Protocol.

The MCP server is an edge: it offers operations, it does not run them.  The
executor (``opsgate.execute``: catalog, runners, secrets) implements this
Protocol when it is installed; until then ``PlannedOperations`` implements it
over the control plane alone: it decides and proposes every operation exactly as
the executor will (the card holds the exact command), and says plainly that
nothing can run yet.  Nothing here runs a process, so an agent talking to this
server can never reach a host except through an approved card and an executor.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from opsgate.approvals.model import Card, Denied
from opsgate.approvals.service import ControlPlane, Principal, ProposeResult
from opsgate.environments import InventoryTarget
from opsgate.models import Action

__all__ = [
    "BUILTIN_OPERATIONS",
    "OperationInfo",
    "Operations",
    "Param",
    "Parameter",
    "PlannedOperations",
    "RunResult",
    "RunStatus",
]

RunStatus = Literal["completed", "failed", "refused", "unavailable", "running"]
Param = str | int | bool  # an operation parameter as JSON carries it


@dataclass(frozen=True, slots=True)
class Parameter:
    """One typed operation parameter; ``pattern`` is a full-match allow-list, so
    nothing shell-shaped gets through (arguments are argv words, never a script)."""

    name: str
    description: str
    pattern: str
    default: str | None = None  # None: required

    def check(self, value: str) -> str:
        if len(value) > 256 or not re.fullmatch(self.pattern, value):
            raise Denied(
                f"parameter {self.name!r} must match {self.pattern} (≤ 256 characters)",
                status=422,
                code="invalid_parameter",
            )
        return value


@dataclass(frozen=True, slots=True)
class OperationInfo:
    name: str
    description: str
    read_only: bool
    target_kinds: tuple[str, ...]
    parameters: tuple[Parameter, ...] = ()
    impact: str = "safe"  # safe | caution | destructive: what the approver sees

    def to_json(self) -> dict[str, Any]:
        """The shape ``opsgate.execute`` uses for its catalog, so agents see one form."""
        return {
            "name": self.name,
            "description": self.description,
            "effect": "read" if self.read_only else "write",
            "impact": self.impact,
            "targets": list(self.target_kinds),
            "params": {
                p.name: {
                    "type": "string",
                    "description": p.description,
                    "pattern": p.pattern,
                    "required": p.default is None,
                    **({"default": p.default} if p.default is not None else {}),
                }
                for p in self.parameters
            },
        }


@dataclass(frozen=True, slots=True)
class RunResult:
    """What running an operation produced.  ``output`` is already redacted."""

    status: RunStatus
    message: str
    output: str = ""
    exit_code: int | None = None
    duration_ms: float | None = None
    card_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Operations(Protocol):
    """The executor as the MCP server sees it.  Every method is called with the
    authenticated agent as ``actor`` and must audit through the control plane."""

    def list_operations(self, actor: Principal) -> list[dict[str, Any]]:
        """The catalog as JSON: name, description, effect (read|write), impact,
        targets (kinds), params (name → type, pattern, default, required)."""
        ...

    def propose_operation(
        self,
        actor: Principal,
        name: str,
        target: str,
        params: Mapping[str, Param],
        *,
        reasoning: str = "",
    ) -> ProposeResult:
        """Decide the operation on ``target``; a write becomes a card (or a refusal)."""
        ...

    def run_read_only(
        self, actor: Principal, name: str, target: str, params: Mapping[str, Param]
    ) -> RunResult:
        """Run a read-only operation now, after an ``allow`` decision; anything else
        is refused with what to do instead."""
        ...

    def execute_card(self, actor: Principal, card: Card) -> RunResult:
        """Run the operation of an approved card (at most once)."""
        ...

    def result(self, actor: Principal, card_id: str) -> dict[str, Any] | None:
        """The (redacted) execution record of a card, or None if it never ran."""
        ...


_UNIT = r"[A-Za-z0-9@_][A-Za-z0-9@_.:\-]{0,127}"  # never a leading "-" (an option)
_NUMBER = r"[1-9][0-9]{0,3}"

# Built-in operations as data: name → (info, argv template).  Placeholders are
# whole argv words ("{service}"), substituted after validation, never inside a word.
BUILTIN_OPERATIONS: tuple[tuple[OperationInfo, tuple[str, ...]], ...] = (
    (
        OperationInfo(
            "service.status",
            "show the status of a service (read-only)",
            True,
            ("server",),
            (Parameter("service", "systemd unit, e.g. nginx", _UNIT),),
        ),
        ("systemctl", "status", "--no-pager", "--", "{service}"),
    ),
    (
        OperationInfo(
            "logs.read",
            "read the recent journal of a service (read-only)",
            True,
            ("server",),
            (
                Parameter("service", "systemd unit, e.g. nginx", _UNIT),
                Parameter("lines", "how many lines (1-9999)", _NUMBER, "200"),
            ),
        ),
        ("journalctl", "--no-pager", "-n", "{lines}", "-u", "{service}"),
    ),
    (
        OperationInfo(
            "service.restart",
            "restart a service (a write: needs an approved card)",
            False,
            ("server",),
            (Parameter("service", "systemd unit, e.g. nginx", _UNIT),),
            impact="caution",
        ),
        ("sudo", "systemctl", "restart", "--", "{service}"),
    ),
    (
        OperationInfo(
            "service.reload",
            "reload a service's configuration (a write: needs an approved card)",
            False,
            ("server",),
            (Parameter("service", "systemd unit, e.g. nginx", _UNIT),),
            impact="caution",
        ),
        ("sudo", "systemctl", "reload", "--", "{service}"),
    ),
)


def _bind(info: OperationInfo, params: Mapping[str, Param]) -> dict[str, str]:
    known = {p.name for p in info.parameters}
    extra = sorted(set(params) - known)
    if extra:
        raise Denied(
            f"{info.name} takes no parameter {extra[0]!r}; it takes {sorted(known) or 'none'}",
            status=422,
            code="invalid_parameter",
        )
    bound: dict[str, str] = {}
    for p in info.parameters:
        value = params.get(p.name, p.default)
        if value is None:
            raise Denied(
                f"{info.name} needs the parameter {p.name!r} ({p.description})",
                status=422,
                code="missing_parameter",
            )
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise Denied(f"parameter {p.name!r} must be text", status=422, code="invalid_parameter")
        bound[p.name] = p.check(str(value))
    return bound


class PlannedOperations:
    """``Operations`` over the control plane alone: decides and proposes the
    built-in operations as the exact SSH command the executor would run, and runs
    nothing (no executor is configured).  The card an approver sees is the same."""

    def __init__(
        self,
        control: ControlPlane,
        catalog: tuple[tuple[OperationInfo, tuple[str, ...]], ...] = BUILTIN_OPERATIONS,
    ) -> None:
        self._control = control
        self._catalog = {info.name: (info, argv) for info, argv in catalog}

    def list_operations(self, actor: Principal) -> list[dict[str, Any]]:
        return [info.to_json() for info, _ in self._catalog.values()]

    def _action(
        self, actor: Principal, name: str, target: str, params: Mapping[str, Param]
    ) -> tuple[OperationInfo, Action]:
        found = self._catalog.get(name)
        if found is None:
            raise Denied(
                f"no operation {name!r}; call list_operations for the catalog",
                status=404,
                code="unknown_operation",
            )
        info, template = found
        host = _inventory_target(self._control, actor, target)
        if host.kind not in info.target_kinds:
            raise Denied(
                f"{name} runs on {', '.join(info.target_kinds)} targets; "
                f"{host.name} is a {host.kind}",
                status=422,
                code="wrong_target",
            )
        bound = _bind(info, params)
        argv = [bound[w[1:-1]] if w.startswith("{") else w for w in template]
        command = shlex.join(["ssh", host.name, shlex.join(argv)])
        return info, Action(
            kind="shell.exec",
            tool="Bash",
            input={"command": command, "operation": name, "parameters": bound},
            agent="mcp",
        )

    def propose_operation(
        self,
        actor: Principal,
        name: str,
        target: str,
        params: Mapping[str, Param],
        *,
        reasoning: str = "",
    ) -> ProposeResult:
        _, action = self._action(actor, name, target, params)
        return self._control.propose(actor, action, reasoning=reasoning)

    def run_read_only(
        self, actor: Principal, name: str, target: str, params: Mapping[str, Param]
    ) -> RunResult:
        info, action = self._action(actor, name, target, params)
        if not info.read_only:
            return _write_refused(name)
        decision = self._control.evaluate(actor, action)  # audited as a decision
        if decision.verdict.value != "allow":
            return RunResult("refused", " ".join(decision.reasons))
        return RunResult(
            "unavailable",
            "The decision was allow, but this opsgate server has no executor configured, "
            "so it cannot run operations yet; read the data another way or ask an operator.",
        )

    def execute_card(self, actor: Principal, card: Card) -> RunResult:
        return RunResult(
            "unavailable",
            f"Card {card.id} is {card.state.value}, but this opsgate server has no executor "
            "configured; a person runs the approved action.",
            card_id=card.id,
        )

    def result(self, actor: Principal, card_id: str) -> dict[str, Any] | None:
        return None  # nothing ever runs here


def _write_refused(name: str) -> RunResult:
    return RunResult(
        "refused",
        f"{name} is a write operation: it never runs directly. Call propose_operation, "
        "wait until a person approves the card, then check it with get_card.",
    )


def _inventory_target(control: ControlPlane, actor: Principal, name: str) -> InventoryTarget:
    found = control.inventory().find(name)
    if found is None or found.name.casefold() != name.casefold():
        known = ", ".join(t.name for t in control.list_targets(actor)[:20]) or "none"
        raise Denied(
            f"no inventory target named {name!r} (known: {known})",
            status=404,
            code="unknown_target",
        )
    return found
