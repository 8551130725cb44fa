"""Lockdown, the red button (SPEC §6): one transaction that turns every agent write
into ``deny`` on every replica, cancels what is pending and revokes what is unused.

How it reaches every replica: the state is a ``settings`` row, and every change to
that table bumps the organisation's revision, which each decision already reads
inside its own transaction (``ControlBase._policy``): the decision after the
lockdown commits, on any replica, is made with it.  No extra query per decision.

How nothing slips between the decision and the write: a decision made just before
the lockdown may still be on its way to creating a card, using a grant or having
one approved.  Those write steps take the lockdown gate in shared mode and read
the lockdown again inside their own transaction; ``lock_down`` takes it exclusively
(PostgreSQL advisory lock; SQLite has one writer at a time anyway).  So each such
step either commits before the lockdown — and is then swept by it — or sees it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from opsgate.approvals._control_base import ControlBase, actor_json, who
from opsgate.approvals._describe import notification
from opsgate.approvals.model import Denied, Role
from opsgate.approvals.service import LockdownReport, Principal
from opsgate.audit import EventType
from opsgate.policy._lockdown import lockdown_reason
from opsgate.policy.model import Lockdown
from opsgate.store import _lockdown as store
from opsgate.store.errors import StoreError

__all__ = ["LOCK_LOCKDOWN", "LockdownMixin"]

# PostgreSQL advisory lock key of the lockdown gate ("opsgate" + 3, as LOCK_USERS).
LOCK_LOCKDOWN = 0x6F70736761746533
MAX_REASON = 500


def _reason(reason: str, redact: Callable[[str], str]) -> str:
    """One line, bounded, redacted: it is shown to every agent refused and in every
    channel, so a credential pasted into it must not travel with it."""
    return redact(re.sub(r"\s+", " ", reason or "").strip()[:MAX_REASON])


class LockdownMixin(ControlBase):
    def lockdown_status(self) -> Lockdown | None:
        with self.store.read() as conn:
            return self._policy(conn).lockdown

    def lock_down(
        self, actor: Principal, reason: str, *, revoke_tokens: bool = False
    ) -> LockdownReport:
        """Two transactions.  The first only records the lockdown: once it commits,
        every decision on every replica refuses writes, and every gated write step
        refuses too, so nothing new can be made pending or used.  The second sweeps
        what was pending or unused until then; if it fails, the lockdown holds and
        running ``lock_down`` again sweeps (it is idempotent)."""
        why = _reason(reason, self.audit.redactor.text)
        state, renewed = self._write(lambda conn: self._lock(conn, actor, why))
        try:
            report = self._write(lambda conn: self._sweep(conn, actor, state, revoke_tokens))
        except Denied:
            raise
        except Exception as exc:
            raise StoreError(
                f"opsgate IS locked down, but cancelling pending cards and revoking grants "
                f"failed ({type(exc).__name__}); nothing pending can be approved or used "
                "meanwhile",
                hint="run `opsgate lockdown on` again to finish the sweep",
            ) from exc
        return dataclasses.replace(report, renewed=renewed)

    def _lock(self, conn: Connection, actor: Principal, why: str) -> tuple[Lockdown, bool]:
        """Record the lockdown (or find it already on); every press is audited."""
        self._gate(conn, exclusive=True)
        fresh = self._fresh(conn, actor)
        self._require(fresh, Role.ADMIN, "locking opsgate down")
        current = store.load(conn)
        state = current or Lockdown(fresh.name, fresh.role.value, why, self.clock())
        if current is None:
            store.save(conn, state, who(fresh), state.since)
        result = {"reason": why, "since": state.since, "outcome": "locked_down"}
        if current is not None:
            result["renewed"] = True  # already locked down: the state is kept, swept again
        self._append(EventType.LOCKDOWN_STARTED, fresh, rule="lockdown", result=result)
        return state, current is not None

    def _sweep(
        self, conn: Connection, actor: Principal, state: Lockdown, revoke_tokens: bool
    ) -> LockdownReport:
        """Cancel and revoke everything that could still let a write through, and say
        so: one audit commit for every item, one notification for the lockdown (and
        one per cancelled card, to whoever was told about it)."""
        self._gate(conn, exclusive=True)
        fresh = self._fresh(conn, actor)
        if store.load(conn) != state:  # lifted (or replaced) in between: nothing to do
            return LockdownReport(lockdown=store.load(conn))
        now = self.clock()
        said = f"cancelled by the lockdown ({state.by}: {state.reason or 'no reason given'})"
        report = LockdownReport(
            lockdown=state,
            cards=tuple(store.cancel_cards(conn, now, said, who(fresh))),
            grants=tuple(store.revoke_grants(conn, now)),
            tokens=tuple(store.revoke_agent_tokens(conn) if revoke_tokens else ()),
        )
        self._append_all(self._sweep_entries(fresh, report))
        announced = {"by": state.by, "role": state.role, "reason": state.reason,
                     "since": state.since, **_swept(report)}  # fmt: skip
        store.notify_all(
            conn,
            [(EventType.LOCKDOWN_STARTED.value, announced)]
            + [("card.cancelled", notification(c)) for c in report.cards],
            now,
        )
        return report

    def _sweep_entries(self, actor: Principal, report: LockdownReport) -> list[dict[str, Any]]:
        docs = []
        for card in report.cards:
            fields = self._card_fields(EventType.CARD_CANCELLED, actor, card,
                                       reason=card.reason, lockdown=True)  # fmt: skip
            docs.append(self._doc(EventType.CARD_CANCELLED, actor, **fields))
        for grant in report.grants:
            swept = {"grant": grant.id, "card": grant.card_id, "lockdown": True}
            docs.append(self._doc(EventType.GRANT_REVOKED, actor, result=swept))
        for token in report.tokens:
            revoked = {"change": "token.revoked", "token": token.id, "name": token.name,
                       "lockdown": True}  # fmt: skip
            docs.append(self._doc(EventType.TOKEN_REVOKED, actor, target=token.name,
                                  result=revoked))  # fmt: skip
        return docs

    def _doc(self, name: EventType, actor: Principal, **fields: Any) -> dict[str, Any]:
        return self.audit.document(name, actor=actor_json(actor), **fields)

    def lift_lockdown(self, actor: Principal, reason: str) -> LockdownReport:
        why = _reason(reason, self.audit.redactor.text)

        def step(conn: Connection) -> LockdownReport:
            self._gate(conn, exclusive=True)
            fresh = self._fresh(conn, actor)
            self._require(fresh, Role.ADMIN, "lifting a lockdown", person=True)
            current = store.load(conn)
            if current is None:
                raise Denied("opsgate is not locked down", status=409, code="not_locked_down")
            store.clear(conn)
            now = self.clock()
            lifted = {"reason": why, "locked_by": current.by, "locked_since": current.since,
                      "locked_for_seconds": round(max(0.0, now - current.since), 3)}  # fmt: skip
            self._append(EventType.LOCKDOWN_LIFTED, fresh, rule="lockdown",
                         result={**lifted, "outcome": "lifted"})  # fmt: skip
            payload = {"by": fresh.name, "role": fresh.role.value, **lifted}
            store.notify_all(conn, [(EventType.LOCKDOWN_LIFTED.value, payload)], now)
            return LockdownReport(lockdown=None)

        return self._write(step)

    # --- the gate the write steps pass -----------------------------------------------------------

    def _gate(self, conn: Connection, *, exclusive: bool = False) -> None:
        if not exclusive and self._held.gated:
            return  # a PostgreSQL write batch took it for its whole transaction
        if conn.dialect.name == "postgresql":
            lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
            conn.execute(text(f"SELECT {lock}(:key)"), {"key": LOCK_LOCKDOWN})

    def _locked(self, conn: Connection) -> Lockdown | None:
        """The lockdown as this write transaction sees it, after taking the gate: a
        decision made a moment ago, before a lockdown, is checked again here."""
        self._gate(conn)
        return self._lockdown_now(conn)

    def _refuse_if_locked(self, conn: Connection, what: str) -> None:
        locked = self._locked(conn)
        if locked is not None:
            raise Denied(
                f"{what} is suspended: {lockdown_reason(locked)}",
                status=409,
                code="locked_down",
            )


def _swept(report: LockdownReport) -> dict[str, Any]:
    return {
        "cancelled_cards": [c.id for c in report.cards],
        "revoked_grants": [g.id for g in report.grants],
        "revoked_tokens": [t.id for t in report.tokens],
    }
