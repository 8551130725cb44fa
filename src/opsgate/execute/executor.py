"""The executor: governed operations proposed, decided, approved and run once.

See the package docstring for the API.  Blocking calls (store, audit) are plain
methods; ``run`` and ``run_read_only`` are coroutines (the runners are async)
that push their blocking parts to worker threads.  The parts: ``_core`` (settings,
catalog, proposal), ``_running`` (claim, run, recovery), ``result`` (what a caller
sees); here, what a caller asks for besides.
"""

from __future__ import annotations

import dataclasses
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
from opsgate.execute.secrets import COMMAND, HelperSpec, SecretInfo

__all__ = ["ExecutionResult", "Executor", "OutputListener"]

_WHAT = {
    Role.ADMIN: "changing secrets",
    Role.OWNER: "setting a secret from a command, or changing one set so",
}


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
        """Names and dates — anyone signed in, agents included (SPEC §4.2.1); where a
        secret comes from only for admins and owners."""
        with self.control.store.read() as conn:
            fresh = self.control.caller(conn, actor)
            found = self.secrets.names(conn)
        if fresh.role is Role.AGENT or fresh.role.rank < Role.ADMIN.rank:
            return [dataclasses.replace(info, source="") for info in found]
        return found

    def set_secret(self, actor: Principal | None, name: str, value: str) -> None:
        """Admins and owners (``actor`` None: the local CLI, as the data directory's
        owner); replacing a helper-sourced secret takes an owner, as setting one did."""
        self._change_secret(actor, name, lambda conn, by: self.secrets.put(
            conn, name, value, by, self.control.clock()), "set")  # fmt: skip

    def set_secret_command(self, actor: Principal | None, name: str, spec: HelperSpec) -> None:
        """Owners only: the secret is fetched by running ``spec`` (a credential helper)
        on the server each time it is used.  Never run here: a reference is stored."""
        self._change_secret(actor, name, lambda conn, by: self.secrets.put_command(
            conn, name, spec, by, self.control.clock()), "set from a command",
            needs=Role.OWNER, program=spec.program)  # fmt: skip

    def delete_secret(self, actor: Principal | None, name: str) -> bool:
        return bool(
            self._change_secret(
                actor, name, lambda conn, by: self.secrets.delete(conn, name), "deleted"
            )
        )

    def check_secret(self, actor: Principal | None, name: str) -> int:
        """Resolve ``name`` once (a helper runs) and say how long the value is — never
        the value.  For whoever may change it: a configuration check."""
        with self.control.store.read() as conn:
            if actor is not None:
                self.control.caller(conn, actor, Role.ADMIN, "checking a secret")
            sealed = self.secrets.fetch(conn, name)
        return len(self.secrets.open(sealed).reveal().encode("utf-8"))

    def _change_secret(
        self,
        actor: Principal | None,
        name: str,
        change: Callable[[Connection, str | None], Any],
        verb: str,
        *,
        needs: Role = Role.ADMIN,
        **told: str,
    ) -> Any:
        def step(conn: Connection) -> Any:
            by = None
            if actor is not None:
                # An owner's helper command is changed (replaced, deleted) by an owner.
                needs_now = Role.OWNER if self._is_command(conn, name) else needs
                by = who(self.control.caller(conn, actor, needs_now, _WHAT[needs_now]))
            done = change(conn, by)
            self.control.record(
                EventType.SECRET_CHANGED,
                actor,
                target=f"secret:{name}",
                result={"name": name, "change": verb, **told},  # "secret": a value, to the redactor
            )
            return done

        return self.control.write(step)

    def _is_command(self, conn: Connection, name: str) -> bool:
        return any(i.name == name and i.source == COMMAND for i in self.secrets.names(conn))

    def learn_secrets(self) -> int:
        """Give every redactor of this process the stored values (at start, and when
        another replica changed them): an agent that copies one into a command or
        its reasoning finds it masked in the audit trail and on the card."""
        with self.control.store.read() as conn:
            return len(self.secrets.reveal_all(conn))

    def secrets_changed(self) -> bool:
        """Whether the secrets table changed since the last call (cheap: one row)."""
        import sqlalchemy as sa

        from opsgate.store._schema import secrets as table

        query = sa.select(sa.func.count(), sa.func.max(table.c.updated_at))
        with self.control.store.read() as conn:
            mark = tuple(conn.execute(query).one())
        changed, self._secrets_mark = mark != self._secrets_mark, mark
        return changed
