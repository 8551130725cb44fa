"""Governed execution: opsgate runs approved operations itself, with credentials
the agent never sees (SPEC §7, seed 002).

The API other edges (HTTP server, MCP server, CLI) call::

    from opsgate.execute import Executor, open_executor

    executor = Executor(control)            # control: approvals.control.SqlControlPlane
    executor = open_executor(data_dir)      # or: open the control plane too

    executor.list_operations() -> list[dict]
        The catalog (built-ins + $OPSGATE_HOME/operations/*.yaml + $OPSGATE_OPERATIONS):
        name, description, effect (read|write), impact, target kinds, runners,
        typed parameters, requires_backup, rollback description.

    executor.propose_operation(actor, operation, target, params, reasoning="")
        -> approvals.service.ProposeResult(decision, card)
        Validates parameters (InvalidParams), checks the target (an inventory name)
        and its runner, decides with the organisation's policy on facts from the
        catalog (never from the caller), and for a write creates a card whose
        rollback plan is recorded on the card and audited (rollback.recorded).
        decision.verdict: ``deny`` (e.g. Production Protection: no card),
        ``require_approval`` (card.id; the card runs once approved), ``allow``
        (a read: call run_read_only).

    await executor.run(card_id) -> ExecutionResult | None
        Runs an approved card's operation if this executor wins the atomic claim
        (approved → executing); None if another executor has it.  ``opsgate
        serve`` does this in the background for every approved operation card.

    await executor.run_read_only(actor, operation, target, params) -> ExecutionResult
        A read operation the policy allows, at once, no card.  status "refused"
        (with .reason and .decision) when the policy does not allow it; a write
        operation raises approvals.model.Denied (code "needs_approval").

    executor.result(actor, card_id) -> ExecutionResult | None
        status planned|running|completed|failed, exit_status, duration, output
        (redacted; live while running), reason, plan, captured (rollback values).
        Agents see only their own (Denied 404 otherwise).

    executor.undo(actor, card_id, reasoning="") -> ProposeResult
        Proposes the recorded rollback of a finished operation as a new card.

    executor.recover(stale_after=None) -> list[str]
        Fails runs whose executor died ("interrupted; outcome unknown — verify
        before retrying"); run at start and periodically.  Never re-runs.

    executor.list_secrets(actor) -> list[SecretInfo]   names and dates only
    executor.set_secret(actor, name, value) / delete_secret(actor, name)   admin+

Errors are ``opsgate.errors.OpsgateError`` subclasses (``execute.errors``) or
``approvals.model.Denied`` (with an HTTP status), as for the control plane.
Nothing in this package returns, logs or audits a secret value: output and
errors are redacted (known values in several encodings, and secret-shaped
strings) before they leave the executor.
"""

from __future__ import annotations

from pathlib import Path

from opsgate.execute.catalog import Catalog, Operation, load_catalog
from opsgate.execute.errors import (
    CatalogError,
    ExecutionError,
    InvalidParams,
    SecretError,
    UnknownOperation,
)
from opsgate.execute.executor import ExecutionResult, Executor
from opsgate.execute.secrets import SecretInfo

__all__ = [
    "Catalog",
    "CatalogError",
    "ExecutionError",
    "ExecutionResult",
    "Executor",
    "InvalidParams",
    "Operation",
    "SecretError",
    "SecretInfo",
    "UnknownOperation",
    "load_catalog",
    "open_executor",
]


def open_executor(data_dir: Path | None = None, database_url: str | None = None) -> Executor:
    """The control plane (as ``open_control_plane`` resolves it) and an executor on it.
    Close with ``executor.control.close()``."""
    from opsgate.approvals.control import SqlControlPlane, open_control_plane

    control = open_control_plane(data_dir, database_url)
    assert isinstance(control, SqlControlPlane)
    return Executor(control)
