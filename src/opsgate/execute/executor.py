"""The executor: governed operations proposed, decided, approved and run once.

See the package docstring for the API.  Blocking calls (store, audit) are plain
methods; ``run`` and ``run_read_only`` are coroutines (the runners are async)
that push their blocking parts to worker threads.
"""

from __future__ import annotations

import asyncio
import os
import secrets as _random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from opsgate.approvals._control_base import who
from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import Card, Denied, Role
from opsgate.approvals.service import Principal, ProposeResult
from opsgate.audit import EventType
from opsgate.environments import InventoryTarget
from opsgate.execute import _plan, _records
from opsgate.execute._run import Outcome, Output, execute
from opsgate.execute.catalog import Catalog, Operation, load_catalog, render
from opsgate.execute.errors import ExecutionError, InvalidParams
from opsgate.execute.redact import OutputRedactor
from opsgate.execute.runner import Endpoint, Runner
from opsgate.execute.secrets import SecretInfo, SecretStore, SecretValue, load_key, parse_ref
from opsgate.models import Verdict
from opsgate.policy.engine import decide

__all__ = ["ExecutionResult", "Executor"]

OutputListener = Callable[[str, str], None]  # (card or execution id, redacted text)


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What a caller may see of an execution: everything but secret values."""

    id: str  # the card id, or x_… for a read-only run
    operation: str
    target: str
    status: str  # planned | running | completed | failed | refused
    exit_status: int | None = None
    duration: float | None = None
    output: str = ""
    reason: str | None = None
    plan: dict[str, Any] = field(default_factory=dict)
    captured: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    decision: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "target": self.target,
            "status": self.status,
            "exit_status": self.exit_status,
            "duration": self.duration,
            "output": self.output,
            "reason": self.reason,
            "plan": self.plan,
            "captured": self.captured,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "decision": self.decision,
        }


def _result(row: Mapping[str, Any]) -> ExecutionResult:
    return ExecutionResult(
        id=row["card_id"],
        operation=row["operation"],
        target=row["target"],
        status=row["status"],
        exit_status=row["exit_status"],
        duration=row["duration"],
        output=row["output"] or "",
        reason=row["reason"],
        plan=dict(row["plan"]),
        captured=dict(row["captured"] or {}),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


class Executor:
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
        self.secrets = SecretStore(secret_key or load_key(control.data_dir))
        if local_runner is None:
            local_runner = os.environ.get("OPSGATE_LOCAL_RUNNER", "") in ("1", "true", "yes")
        self.local_runner = local_runner
        self._runners = dict(runners) if runners is not None else None
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{_random.token_hex(4)}"
        self.lease_seconds = lease_seconds
        self.on_output = on_output
        self.live: dict[str, Output] = {}  # runs in progress in this process

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
        decision = decide(action, _plan.classification_for(op, tgt, shown), policy)
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

    def undo(self, actor: Principal, card_id: str, reasoning: str = "") -> ProposeResult:
        """Propose the recorded rollback of a finished operation as a new card."""
        self.control.get_card(actor, card_id)  # visibility: an agent undoes only its own
        found = self._get(card_id)
        if found is None or found.status not in ("completed", "failed"):
            raise Denied(f"card {card_id} has no finished operation to undo", status=409,
                         code="not_undoable")  # fmt: skip
        rollback = found.captured.get("rollback") or found.plan.get("rollback") or {}
        operation = rollback.get("operation")
        if not operation:
            what = rollback.get("description", "")
            raise Denied(
                f"{found.operation} has no rollback operation: {what}",
                status=409,
                code="not_undoable",
            )
        params = rollback.get("params") or {}
        if any("‹" in str(v) for v in params.values()):
            raise Denied(
                "the rollback needs values captured at run time, and the run did not "
                "capture them; roll back by hand",
                status=409,
                code="not_undoable",
            )
        why = f"undo of {card_id} ({found.operation}): {rollback.get('description', '')}"
        return self.propose_operation(
            actor, operation, found.target, params, f"{why}\n{reasoning}".strip(), undo_of=card_id
        )

    # --- results -----------------------------------------------------------------------------

    def _get(self, exec_id: str) -> ExecutionResult | None:
        with self.control.store.read() as conn:
            row = _records.get(conn, exec_id)
        if row is None:
            return None
        result = _result(row)
        live = self.live.get(exec_id)
        if live is not None and result.status == "running":
            result = _replace_output(result, live.text())
        return result

    def result(self, actor: Principal, card_id: str) -> ExecutionResult | None:
        """The (redacted) outcome of a card's operation or a read-only run; None while
        the card has no execution record.  Agents see only their own."""
        if card_id.startswith("c_"):
            self.control.get_card(actor, card_id)  # 404 for an agent's foreign card
        found = self._get(card_id)
        if found is not None and not card_id.startswith("c_"):
            with self.control.store.read() as conn:
                row = _records.get(conn, card_id)
            if actor.role is Role.AGENT and row is not None and row["requested_by"] != who(actor):
                raise Denied(f"no execution {card_id!r}", status=404, code="not_found")
        return found

    # --- running -----------------------------------------------------------------------------

    def card(self, card_id: str) -> Card | None:
        """The card as stored now (no caller: for the server's own announcements)."""
        from opsgate.store._cards import get_card

        with self.control.store.read() as conn:
            found = get_card(conn, card_id, self.control.clock())
        return found[0] if found is not None else None

    def ready(self, limit: int = 20) -> list[str]:
        with self.control.store.read() as conn:
            return _records.ready(conn, limit)

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
        creds: dict[str, SecretValue] = {}
        with self.control.store.read() as conn:
            for key, name in refs.items():
                creds[key] = self.secrets.reveal(conn, name)
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
            outcome.reason = redactor.text(f"{type(exc).__name__}: {_message(exc)}")
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
        """The command's environment: ``{param}`` of a secret parameter is revealed
        here, at run time; anything else is rendered as text."""
        env: dict[str, SecretValue | str] = {}
        values = _plan.values_for(target, params)
        with self.control.store.read() as conn:
            for key, template in op.env.items():
                name = parse_ref(render(template, values))
                env[key] = self.secrets.reveal(conn, name) if name else render(template, values)
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

    # --- secrets -----------------------------------------------------------------------------

    def list_secrets(self, actor: Principal) -> list[SecretInfo]:
        """Names and dates only — anyone signed in, agents included (SPEC §4.2.1)."""
        with self.control.store.read() as conn:
            self.control._fresh(conn, actor)
            return self.secrets.names(conn)

    def set_secret(self, actor: Principal | None, name: str, value: str) -> None:
        """Admins and owners (``actor`` None: the local CLI, as the data directory's owner)."""
        self._change_secret(actor, name, lambda conn, by: self.secrets.put(
            conn, name, value, by, self.control.clock()), "set")  # fmt: skip

    def delete_secret(self, actor: Principal | None, name: str) -> bool:
        return bool(
            self._change_secret(
                actor, name, lambda conn, by: self.secrets.delete(conn, name), "deleted"
            )
        )

    def _change_secret(
        self,
        actor: Principal | None,
        name: str,
        change: Callable[[Connection, str | None], Any],
        verb: str,
    ) -> Any:
        def step(conn: Connection) -> Any:
            by = None
            if actor is not None:
                fresh = self.control._fresh(conn, actor)
                self.control._require(fresh, Role.ADMIN, "changing secrets")
                by = who(fresh)
            done = change(conn, by)
            self.control.record(
                EventType.SECRET_CHANGED, actor, result={"secret": name, "change": verb}
            )
            return done

        return self.control.write(step)


def _replace_output(result: ExecutionResult, output: str) -> ExecutionResult:
    import dataclasses

    return dataclasses.replace(result, output=output)


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message or exc)
