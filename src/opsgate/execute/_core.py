"""The executor's core: its settings, the catalog and runners it uses, and the
proposal of an operation (validated, decided by policy, planned on a card).

``_running`` adds claiming and running on top; ``executor.Executor`` the results,
undo and secrets a caller sees.
"""

from __future__ import annotations

import logging
import os
import secrets as _random
import socket
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from opsgate.approvals._control_base import who
from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import Card
from opsgate.approvals.service import Principal, ProposeResult
from opsgate.audit import EventType
from opsgate.environments import InventoryTarget
from opsgate.execute import _plan, _records
from opsgate.execute._run import Output
from opsgate.execute.catalog import Catalog, Operation, load_catalog
from opsgate.execute.errors import ExecutionError, InvalidParams
from opsgate.execute.result import ExecutionResult, from_row, with_output
from opsgate.execute.runner import Runner
from opsgate.execute.secrets import SecretStore, load_key, load_previous_key
from opsgate.models import Verdict
from opsgate.policy.engine import decide

__all__ = ["ExecutorCore", "OutputListener"]

log = logging.getLogger("opsgate.execute")

OutputListener = Callable[[str, str], None]  # (card or execution id, redacted text)


class ExecutorCore:
    def __init__(
        self,
        control: SqlControlPlane,
        *,
        catalog: Catalog | None = None,
        runners: Mapping[str, Runner] | None = None,
        local_runner: bool | None = None,
        secret_key: bytes | None = None,
        owner: str | None = None,
        lease_seconds: float = 30.0,
        on_output: OutputListener | None = None,
    ) -> None:
        self.control = control
        self.catalog = catalog or load_catalog(control.data_dir)
        self.secrets = SecretStore(
            secret_key or load_key(control.data_dir),
            previous=load_previous_key(control.data_dir),  # a rotation under way
        )
        if local_runner is None:
            from opsgate.config import current

            local_runner = current().boolean("execute.local_runner")
        self.local_runner = local_runner
        self._runners = dict(runners) if runners is not None else None
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{_random.token_hex(4)}"
        self.lease_seconds = lease_seconds
        self.on_output = on_output
        self.live: dict[str, Output] = {}  # runs in progress in this process
        self._secrets_mark: tuple[Any, ...] | None = None  # see Executor.secrets_changed
        self._learn_stored()

    def _learn_stored(self) -> None:
        """Every redactor of this process learns the stored values now (the audit
        trail, cards, the console), not only when an operation runs."""
        from opsgate.execute.errors import SecretError

        try:
            with self.control.store.read() as conn:
                self.secrets.reveal_all(conn)
        except SecretError as exc:  # a wrong key fails every run loudly; pattern redaction stays
            log.warning("stored secrets could not be decrypted for redaction: %s", exc.message)

    # --- the catalog -------------------------------------------------------------------------

    def list_operations(self) -> list[dict[str, Any]]:
        return [op.to_json() for op in self.catalog.list()]

    def _runner(self, name: str) -> Runner:
        if name == "local" and not self.local_runner:
            raise ExecutionError(
                "the local runner is off: opsgate does not act on the host it runs on",
                hint="reach the target over SSH, or set OPSGATE_LOCAL_RUNNER=1 on a dedicated "
                "operations host (docs/execution.md)",
            )
        if self._runners is not None and name in self._runners:
            return self._runners[name]
        from opsgate.execute.runners import http, local, postgres, ssh

        known: dict[str, Callable[[], Runner]] = {
            "ssh": ssh.SshRunner,
            "postgres": postgres.PostgresRunner,
            "http": http.HttpRunner,
            "local": local.LocalRunner,
        }
        if name not in known:
            raise ExecutionError(
                f"unknown runner {name!r}", hint="use ssh, postgres, http or local"
            )
        return known[name]()

    def _target(self, name: str) -> InventoryTarget:
        found = self.control.inventory().find(name)
        if found is None or found.name.lower() != name.lower():
            raise InvalidParams(
                f"no inventory target named {name!r}",
                hint="operations run only against targets in the inventory (list the targets)",
            )
        return found

    def _prepare(
        self, operation: str, target_name: str, params: Mapping[str, Any]
    ) -> tuple[Operation, InventoryTarget, dict[str, str], _plan.Plan]:
        op = self.catalog.get(operation)
        target = self._target(target_name)
        runner = _plan.runner_for(target)
        _plan.check_target(op, target, runner)
        _plan.credential_refs(target)
        self._runner(runner)  # the local runner is refused here when it is off
        checked = op.validate(params)
        _plan.check_secrets(op, target, checked)
        values = _plan.values_for(target, checked)
        backup: list[str] = []
        if op.requires_backup:
            b = self.catalog.get("backup.create")
            backup = _plan.preview(b, b.steps.get(runner, ()), values)
        plan = _plan.Plan(
            operation=op.name,
            target=target.name,
            runner=runner,
            params=checked,
            steps=_plan.preview(op, op.steps[runner], values),
            verify=_plan.preview(op, op.verify.get(runner, ()), values),
            backup=backup,
            rollback=_plan.rollback_for(op, values),
        )
        return op, target, checked, plan

    # --- propose -----------------------------------------------------------------------------

    def propose_operation(
        self,
        actor: Principal,
        operation: str,
        target: str,
        params: Mapping[str, Any],
        reasoning: str = "",
        *,
        undo_of: str | None = None,
    ) -> ProposeResult:
        """Validate, decide with the organisation's policy, and (for a write) create a
        card carrying the plan and the rollback plan.  A read that is allowed gets no
        card: run it with ``run_read_only``.  Production Protection and access levels
        apply as to any action; ``deny`` comes back as the decision, with no card."""
        op, tgt, checked, plan = self._prepare(operation, target, params)
        shown = "; ".join(plan.steps)
        action = _plan.action_for(op, tgt, checked, shown, actor.name)
        policy = self.control.current_policy()
        decision = decide(action, _plan.classification_for(op, tgt, shown, checked), policy)
        rollback = plan.rollback["description"]

        def record_plan(conn: Connection, card: Card) -> None:
            _records.insert(conn, self._record(card.id, plan, who(actor), undo_of))
            self.control.record(
                EventType.ROLLBACK_RECORDED,
                actor,
                target=tgt.name,
                environment=tgt.environment.label,
                action={"kind": op.name, "input": action.input},
                result={"card": card.id, "rollback": plan.rollback, "backup": plan.backup},
            )

        return self.control.propose_decided(
            actor,
            action,
            decision,
            reasoning=reasoning,
            rollback=rollback,
            use_grant=False,
            on_card=record_plan if decision.verdict is Verdict.REQUIRE_APPROVAL else None,
        )

    def _record(
        self, card_id: str, plan: _plan.Plan, requested_by: str, undo_of: str | None
    ) -> dict[str, Any]:
        return {
            "card_id": card_id,
            "operation": plan.operation,
            "target": plan.target,
            "params": plan.params,
            "plan": plan.to_json(),
            "requested_by": requested_by,
            "status": "planned",
            "created_at": self.control.clock(),
            "output": "",
            "captured": {},
            "undo_of": undo_of,
        }

    # --- stored records ----------------------------------------------------------------------

    def _get(self, exec_id: str) -> ExecutionResult | None:
        with self.control.store.read() as conn:
            row = _records.get(conn, exec_id)
        if row is None:
            return None
        result = from_row(row)
        live = self.live.get(exec_id)
        if live is not None and result.status == "running":
            result = with_output(result, live.text())
        return result
