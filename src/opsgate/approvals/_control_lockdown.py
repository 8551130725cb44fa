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

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from opsgate.approvals._control_base import ControlBase, who
from opsgate.approvals.model import Card, Denied, Role
from opsgate.approvals.service import LockdownReport, Principal
from opsgate.audit import EventType
from opsgate.policy._lockdown import lockdown_reason
from opsgate.policy.model import Lockdown
from opsgate.store import _lockdown as store
from opsgate.store._cards import notify

__all__ = ["LOCK_LOCKDOWN", "LockdownMixin"]

# PostgreSQL advisory lock key of the lockdown gate ("opsgate" + 3, as LOCK_USERS).
LOCK_LOCKDOWN = 0x6F70736761746533
MAX_REASON = 500


def _reason(reason: str, redact: Callable[[str], str]) -> str:
    """One line, bounded, redacted: it is shown to every agent refused and in every
    channel, so a credential pasted into it must not travel with it."""
    return redact(re.sub(r"\s+", " ", reason or "").strip()[:MAX_REASON])


class LockdownMixin(ControlBase):
    # Provided by ``SqlControlPlane``: audit entry + outbox row for a card change.
    def _card_event(
        self, conn: Connection, name: EventType, actor: Principal | None, card: Card, **result: Any
    ) -> None:
        raise NotImplementedError

    def lockdown_status(self) -> Lockdown | None:
        with self.store.read() as conn:
            return self._policy(conn).lockdown

    def lock_down(
        self, actor: Principal, reason: str, *, revoke_tokens: bool = False
    ) -> LockdownReport:
        why = _reason(reason, self.audit.redactor.text)

        def step(conn: Connection) -> LockdownReport:
            self._gate(conn, exclusive=True)
            fresh = self._fresh(conn, actor)
            self._require(fresh, Role.ADMIN, "locking opsgate down")
            now = self.clock()
            current = store.load(conn)
            state = current or Lockdown(fresh.name, fresh.role.value, why, now)
            if current is None:
                store.save(conn, state, who(fresh), now)
            report = self._sweep(conn, fresh, state, why, now, revoke_tokens=revoke_tokens)
            self._audit_lockdown(conn, EventType.LOCKDOWN_STARTED, fresh, why, report, now)
            self._audit_sweep(conn, fresh, report)
            return report

        return self._write(step)

    def _sweep(
        self,
        conn: Connection,
        actor: Principal,
        state: Lockdown,
        why: str,
        now: float,
        *,
        revoke_tokens: bool,
    ) -> LockdownReport:
        """Cancel and revoke everything that could still let a write through."""
        said = f"cancelled by the lockdown ({actor.name}: {why or 'no reason given'})"
        cards = store.cancel_cards(conn, now, said, who(actor))
        grants = store.revoke_grants(conn, now)
        tokens = store.revoke_agent_tokens(conn) if revoke_tokens else []
        return LockdownReport(
            lockdown=state,
            cards=tuple(cards),
            grants=tuple(grants),
            tokens=tuple(tokens),
            renewed=state.since != now,
        )

    def _audit_sweep(self, conn: Connection, actor: Principal, report: LockdownReport) -> None:
        """One entry per thing swept, after the lockdown's own (cards also notify)."""
        for card in report.cards:
            self._card_event(
                conn, EventType.CARD_CANCELLED, actor, card, reason=card.reason, lockdown=True
            )
        for grant in report.grants:
            swept = {"grant": grant.id, "card": grant.card_id, "lockdown": True}
            self._append(EventType.GRANT_REVOKED, actor, result=swept)
        for token in report.tokens:
            revoked = {"change": "token.revoked", "token": token.id, "name": token.name,
                       "lockdown": True}  # fmt: skip
            self._append(EventType.TOKEN_REVOKED, actor, target=token.name, result=revoked)

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
            report = LockdownReport(lockdown=None)
            self._audit_lockdown(
                conn, EventType.LOCKDOWN_LIFTED, fresh, why, report, self.clock(), lifted=current
            )
            return report

        return self._write(step)

    # --- the gate the write steps pass -----------------------------------------------------------

    def _gate(self, conn: Connection, *, exclusive: bool = False) -> None:
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

    def _audit_lockdown(
        self,
        conn: Connection,
        name: EventType,
        actor: Principal,
        why: str,
        report: LockdownReport,
        now: float,
        lifted: Lockdown | None = None,
    ) -> None:
        result: dict[str, Any] = {
            "reason": why,
            "cancelled_cards": [c.id for c in report.cards],
            "revoked_grants": [g.id for g in report.grants],
            "revoked_tokens": [t.id for t in report.tokens],
        }
        if report.renewed:
            result["renewed"] = True
        if lifted is not None:
            result["locked_by"] = lifted.by
            result["locked_since"] = lifted.since
            result["locked_for_seconds"] = round(max(0.0, now - lifted.since), 3)
        result["outcome"] = "locked_down" if lifted is None else "lifted"
        self._append(name, actor, rule="lockdown", result=result)
        payload = {"by": actor.name, "role": actor.role.value, **result}
        if report.lockdown is not None:
            payload["since"] = report.lockdown.since
            payload["locked_by"] = report.lockdown.by
        notify(conn, name.value, payload, now)
