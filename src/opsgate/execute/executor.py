"""The executor: governed operations proposed, decided, approved and run once.

See the package docstring for the API.  Blocking calls (store, audit) are plain
methods; ``run`` and ``run_read_only`` are coroutines (the runners are async)
that push their blocking parts to worker threads.  The parts: ``_core`` (settings,
catalog, proposal), ``_running`` (claim, run, recovery), ``result`` (what a caller
sees); here, what a caller asks for besides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from opsgate.approvals._control_base import who
from opsgate.approvals.model import Card, Denied, Role
from opsgate.approvals.service import Principal, ProposeResult
from opsgate.audit import EventType
from opsgate.execute import _records
from opsgate.execute._core import OutputListener
from opsgate.execute._running import Running
from opsgate.execute.result import ExecutionResult
from opsgate.execute.secrets import SecretInfo

__all__ = ["ExecutionResult", "Executor", "OutputListener"]


class Executor(Running):
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

    # --- secrets -----------------------------------------------------------------------------

    def list_secrets(self, actor: Principal) -> list[SecretInfo]:
        """Names and dates only — anyone signed in, agents included (SPEC §4.2.1)."""
        with self.control.store.read() as conn:
            self.control.caller(conn, actor)
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
                by = who(self.control.caller(conn, actor, Role.ADMIN, "changing secrets"))
            done = change(conn, by)
            self.control.record(
                EventType.SECRET_CHANGED, actor, result={"secret": name, "change": verb}
            )
            return done

        return self.control.write(step)
