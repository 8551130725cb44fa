"""Running approved operations exactly once: the atomic claim, the run with its
heartbeat and live output, the rollback recorded before the write, the outcome
recorded (and audited), and the sweep that fails runs whose executor died.
"""

from __future__ import annotations

import asyncio
import secrets as _random
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from opsgate.approvals._control_base import who
from opsgate.approvals.model import Denied
from opsgate.approvals.service import Principal
from opsgate.audit import EventType
from opsgate.environments import InventoryTarget
from opsgate.errors import OpsgateError
from opsgate.execute import _plan, _records
from opsgate.execute._core import ExecutorCore
from opsgate.execute._run import Outcome, Output, execute
from opsgate.execute.catalog import Operation, render
from opsgate.execute.errors import SecretError
from opsgate.execute.redact import OutputRedactor
from opsgate.execute.result import ExecutionResult
from opsgate.execute.runner import Endpoint
from opsgate.execute.secrets import SecretValue
from opsgate.models import Verdict

__all__ = ["Running"]


class Running(ExecutorCore):
    def claim(self, card_id: str) -> bool:
        """``approved → executing`` atomically (audited as ``execution.started``)."""

        def step(conn: Connection) -> bool:
            now = self.control.clock()
            try:
                if not _records.claim(conn, card_id, self.owner, now):
                    return False
            except LookupError:
                raise Denied(f"card {card_id} was not proposed as an operation", status=409,
                             code="not_an_operation") from None  # fmt: skip
            row = _records.get(conn, card_id)
            assert row is not None
            self.control.record(
                EventType.EXECUTION_STARTED,
                None,
                target=row["target"],
                action={"kind": row["operation"], "input": {"params": row["params"]}},
                result={"card": card_id, "executor": self.owner, "plan": row["plan"]},
            )
            return True

        return self.control.write(step)

    async def run(
        self, card_id: str, on_claimed: Callable[[], None] | None = None
    ) -> ExecutionResult | None:
        """Run an approved card's operation, if this executor wins the claim; None if
        another executor has it or it is not approved.  ``on_claimed`` is called once
        the card is ``executing`` (the server announces it), before anything runs."""
        claimed = await asyncio.to_thread(self.claim, card_id)
        if not claimed:
            return None
        if on_claimed is not None:
            await asyncio.to_thread(on_claimed)
        with self.control.store.read() as conn:
            row = _records.get(conn, card_id)
        assert row is not None
        await self._execute(card_id, row["operation"], row["target"], row["params"], None)
        return self._get(card_id)

    async def run_read_only(
        self, actor: Principal, operation: str, target: str, params: Mapping[str, Any]
    ) -> ExecutionResult:
        """Run a read operation the policy allows, now, without a card."""
        op = self.catalog.get(operation)
        if op.is_write:
            raise Denied(f"{operation} changes state: propose it and wait for approval",
                         status=409, code="needs_approval")  # fmt: skip
        proposed = await asyncio.to_thread(self.propose_operation, actor, operation, target, params)
        decision = proposed.decision
        if decision.verdict is not Verdict.ALLOW:
            return ExecutionResult(
                id="",
                operation=operation,
                target=target,
                status="refused",
                reason=" ".join(decision.reasons),
                decision=decision.to_json(),
            )
        _, _, checked, plan = self._prepare(operation, target, params)
        exec_id = f"x_{_random.token_hex(8)}"

        def start(conn: Connection) -> None:
            record = self._record(exec_id, plan, who(actor), None)
            now = self.control.clock()
            record.update(status="running", owner=self.owner, started_at=now, heartbeat_at=now)
            _records.insert(conn, record)
            self.control.record(
                EventType.EXECUTION_STARTED,
                actor,
                target=plan.target,
                action={"kind": operation, "input": {"params": checked}},
                result={"execution": exec_id, "executor": self.owner, "plan": plan.to_json()},
            )

        await asyncio.to_thread(self.control.write, start)
        await self._execute(exec_id, operation, plan.target, checked, actor)
        found = self._get(exec_id)
        assert found is not None
        return found

    def _endpoint(self, target: InventoryTarget) -> Endpoint:
        refs = _plan.credential_refs(target)
        with self.control.store.read() as conn:
            sealed = {key: self.secrets.fetch(conn, name) for key, name in refs.items()}
        # Opened outside the transaction: a helper command may take seconds.
        creds = {key: self.secrets.open(s) for key, s in sealed.items()}
        return Endpoint(target.name, target.kind, _plan.settings_of(target), creds)

    def _redactor(self) -> OutputRedactor:
        """Every stored secret is masked in every run's output, not only the ones
        this run was given: a command can print any of them (``env``, a config)."""
        with self.control.store.read() as conn:
            return OutputRedactor(s.reveal() for s in self.secrets.reveal_all(conn))

    async def _execute(
        self,
        exec_id: str,
        operation: str,
        target_name: str,
        params: Mapping[str, str],
        actor: Principal | None,
    ) -> None:
        try:
            redactor = await asyncio.to_thread(self._redactor)
        except Exception:  # an undecryptable store still gets pattern redaction
            redactor = OutputRedactor()
        out = Output(redactor, self._listener(exec_id))
        self.live[exec_id] = out
        beat = asyncio.get_running_loop().create_task(self._heartbeat(exec_id, out))
        try:
            outcome = await self._attempt(exec_id, operation, target_name, params, out, actor)
        except Exception as exc:  # fail closed: any surprise is a failed run, recorded
            outcome = Outcome(status="failed", exit_status=None)
            outcome.reason = failure_reason(exc, redactor)
            out.note(f"error: {outcome.reason}")
        finally:
            beat.cancel()
        try:
            await asyncio.to_thread(self._finish, exec_id, operation, target_name, outcome, out)
        finally:
            self.live.pop(exec_id, None)

    async def _attempt(
        self,
        exec_id: str,
        operation: str,
        target_name: str,
        params: Mapping[str, str],
        out: Output,
        actor: Principal | None,
    ) -> Outcome:
        op = self.catalog.get(operation)
        target = self._target(target_name)
        runner = self._runner(_plan.runner_for(target))
        endpoint = await asyncio.to_thread(self._endpoint, target)
        env = await asyncio.to_thread(self._env, op, target, params)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.control.clock()))
        backup_file = f"{target.name}-{stamp}-{exec_id}.tar.gz"

        async def before_write(outcome: Outcome) -> None:
            if not outcome.captured and outcome.backup_file is None:
                return  # the plan's rollback is already in execution.started
            await asyncio.to_thread(
                self._record_rollback, exec_id, target, outcome, actor, out.redactor
            )

        return await execute(
            op=op,
            catalog=self.catalog,
            endpoint=endpoint,
            runner=runner,
            params=params,
            env=env,
            target=target,
            backup_file=backup_file,
            out=out,
            before_write=before_write,
        )

    def _env(
        self, op: Operation, target: InventoryTarget, params: Mapping[str, str]
    ) -> dict[str, SecretValue | str]:
        """The command's environment: a secret the operation's template names
        (``_plan.env_secret``) is revealed here, at run time, if the parameter may
        take it on this target; anything else is rendered as text."""
        _plan.check_secrets(op, target, params)  # the catalog may have changed since
        values = _plan.values_for(target, params)
        named = {key: _plan.env_secret(op, template, params) for key, template in op.env.items()}
        with self.control.store.read() as conn:
            sealed = {key: self.secrets.fetch(conn, name) for key, name in named.items() if name}
        env: dict[str, SecretValue | str] = {
            key: self.secrets.open(sealed[key]) if key in sealed else render(template, values)
            for key, template in op.env.items()
        }
        return env

    def _record_rollback(
        self,
        exec_id: str,
        target: InventoryTarget,
        outcome: Outcome,
        actor: Principal | None,
        redactor: OutputRedactor,
    ) -> None:
        """Before the write: the resolved rollback plan, durable in the record and the
        audit trail (a failure here stops the run before anything changed)."""
        captured = {k: redactor.text(v) for k, v in outcome.captured.items()}
        rollback = {
            "description": redactor.text(outcome.rollback.get("description", "")),
            "operation": outcome.rollback.get("operation"),
            "params": {k: redactor.text(v) for k, v in outcome.rollback.get("params", {}).items()},
        }
        record = {"values": captured, "backup_file": outcome.backup_file, "rollback": rollback}

        def step(conn: Connection) -> None:
            _records.set_captured(conn, exec_id, record)
            self.control.record(
                EventType.ROLLBACK_RECORDED,
                actor,
                target=target.name,
                environment=target.environment.label,
                result={"card": exec_id, "before_write": True, **record},
            )

        self.control.write(step)

    def _finish(
        self, exec_id: str, operation: str, target: str, outcome: Outcome, out: Output
    ) -> None:
        output = out.text()
        values = {
            "status": outcome.status,
            "exit_status": outcome.exit_status,
            "duration": round(outcome.duration, 6),
            "output": output,
            "reason": outcome.reason,
        }

        def step(conn: Connection) -> None:
            if not _records.finish(conn, exec_id, self.owner, self.control.clock(), values):
                return  # the sweep already failed it as interrupted
            name = (EventType.EXECUTION_COMPLETED if outcome.status == "completed"
                    else EventType.EXECUTION_FAILED)  # fmt: skip
            self.control.record(
                name,
                None,
                target=target,
                action={"kind": operation},
                result={"card": exec_id, "status": outcome.status,
                        "exit_status": outcome.exit_status, "duration": values["duration"],
                        "reason": outcome.reason, "output_tail": output[-2000:]},
            )  # fmt: skip

        self.control.write(step)

    async def _heartbeat(self, exec_id: str, out: Output) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            text = out.text()

            def step(conn: Connection, text: str = text) -> None:
                _records.heartbeat(conn, exec_id, self.owner, self.control.clock(), text)

            try:
                await asyncio.to_thread(self._store_write, step)
            except Exception:  # noqa: S112 — a missed beat is retried; the lease covers it
                continue

    def _store_write(self, step: Callable[[Connection], None]) -> None:
        """A write with no audit entry (heartbeats: liveness, not history)."""
        with self.control.store.write() as conn:
            step(conn)

    def _listener(self, exec_id: str) -> Callable[[str], None] | None:
        listener = self.on_output
        if listener is None:
            return None
        return lambda text: listener(exec_id, text)

    # --- recovery ----------------------------------------------------------------------------

    def recover(self, stale_after: float | None = None) -> list[str]:
        """Fail every run whose executor stopped beating (crashed, killed) as
        "interrupted; outcome unknown — verify before retrying".  Never re-runs."""
        wait = self.lease_seconds if stale_after is None else stale_after
        now = self.control.clock()
        with self.control.store.read() as conn:
            found = _records.stale(conn, now - wait)
        failed: list[str] = []
        for row in found:
            if row["owner"] == self.owner and row["card_id"] in self.live:
                continue  # ours and still running in this process

            def step(conn: Connection, row: dict[str, Any] = row) -> bool:
                values = {"status": "failed", "reason": _records.INTERRUPTED,
                          "output": row["output"] or ""}  # fmt: skip
                if not _records.finish(conn, row["card_id"], None, self.control.clock(), values):
                    return False
                self.control.record(
                    EventType.EXECUTION_FAILED,
                    None,
                    target=row["target"],
                    action={"kind": row["operation"]},
                    result={"card": row["card_id"], "status": "interrupted",
                            "reason": _records.INTERRUPTED, "executor": row["owner"]},
                )  # fmt: skip
                return True

            if self.control.write(step):
                failed.append(row["card_id"])
        return failed


def failure_reason(exc: BaseException, redactor: OutputRedactor) -> str:
    """Why a run failed, redacted.  opsgate's own errors read as their message (a
    class name like ``SecretError: secret …`` reads as a key and its value, and its
    word was masked); a secret's name and the detail are redacted apart, so a name
    like ``api_token`` does not mask the words after it.  Known values are masked in
    both parts, whatever they hold."""
    if isinstance(exc, SecretError) and exc.secret is not None:
        return f"{redactor.text(f'secret {exc.secret!r}')}: {redactor.text(exc.detail)}"
    if isinstance(exc, OpsgateError):
        return redactor.text(exc.message)
    return redactor.text(f"{type(exc).__name__}: {exc}")
