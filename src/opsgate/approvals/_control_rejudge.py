"""Judging open cards again whenever what they rest on changes (SPEC §6).

Every change of settings, inventory or tokens made through the control plane judges
every open card (pending, or approved and not yet used) in the change's own
transaction (``_rejudge``): a card that can no longer be honoured is cancelled with
the reason, its grant revoked, ``card.cancelled`` audited and the notification
queued, all committed with the change or not at all.  Whoever listens in this
process (the server's live stream and notifier) is told once it committed.

Other writers and other replicas are caught by the organisation's revision (bumped
by triggers on every change to users, tokens, settings and inventory): each card
records the revision it was judged at, and ``rejudge_due`` — run every second by
each server — judges any open card judged before the current revision (a card
whose decision was made just before a change committed on another replica), and
every open card when this process's policy file changed.  Approving judges the
card once more in the approval's transaction, so a card is never approved on
grounds that no longer hold.  None of this runs on a decision: it runs on changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from sqlalchemy.engine import Connection

from opsgate.approvals import _describe
from opsgate.approvals._control_base import ControlBase, actor_json, who
from opsgate.approvals._rejudge import Changed, Closure, Requester, judge
from opsgate.approvals.model import Card, CardState, Role
from opsgate.approvals.service import Principal
from opsgate.audit import EventType
from opsgate.policy import model as policy_model
from opsgate.store import _lifecycle as lifecycle
from opsgate.store import _org as org
from opsgate.store import _people as people

__all__ = ["CardListener", "RejudgeMixin"]

CardListener = Callable[[str, Card], None]


class RejudgeMixin(ControlBase):
    # Set per instance by ``add_card_listener`` / ``rejudge_due``.
    _card_listeners: ClassVar[tuple[CardListener, ...]] = ()
    _judged_file: object = None  # the policy file the last full judgement used

    def add_card_listener(self, listener: CardListener) -> None:
        """``listener(event, card)`` after a change this process committed closed a
        card (``card.cancelled``) — the server's live stream and notifier."""
        self._card_listeners = (*self._card_listeners, listener)  # type: ignore[misc]  # per instance

    def _tell(self, event: str, found: Iterable[Card]) -> None:
        for card in found:
            for listener in self._card_listeners:
                listener(event, card)

    # --- the sweep: what another writer or replica changed ------------------------------------

    def rejudge_due(self) -> list[Card]:
        """Judge the open cards judged before the organisation's current revision (and
        all of them if this process's policy file changed); the cards cancelled.  A
        read and nothing more when nothing changed."""
        base = self._file_policy()
        everything = base is not self._judged_file
        if not everything:
            with self.store.read() as conn:
                revision = org.revision(conn)
                if not lifecycle.live(conn, self.clock(), judged_below=revision):
                    return []
        cancelled = self._write(
            lambda conn: self._rejudge(conn, None, judged_below=None if everything else -1)
        )
        self._judged_file = base
        self._tell("card.cancelled", cancelled)
        return cancelled

    # --- the judgement, inside the caller's transaction -------------------------------------

    def _rejudge(
        self,
        conn: Connection,
        actor: Principal | None,
        *,
        ids: Iterable[str] = (),
        judged_below: int | None = None,
    ) -> list[Card]:
        """Judge open cards (those in ``ids``; or, with ``judged_below`` -1, those judged
        before the current revision; else all) against the policy as ``conn`` sees it;
        cancel those that can no longer be honoured; the cancelled cards."""
        now = self.clock()
        revision = org.revision(conn)
        below = revision if judged_below == -1 else judged_below
        found = lifecycle.live(conn, now, judged_below=below, ids=ids)
        if not found:
            return []
        policy = self._uncached_policy(conn)
        requesters = self._requesters(conn, {c.requested_by for c, _ in found})
        changes = self._changes(conn)
        closing: list[tuple[Card, int, Closure]] = []
        keep: list[str] = []
        for card, version in found:
            closure = judge(card, policy, requesters.get(card.requested_by, Requester()), changes)
            if closure is None:
                keep.append(card.id)
            else:
                closing.append((card, version, closure))
        cancelled = self._cancel(conn, actor, now, closing) if closing else []
        lifecycle.judged(conn, keep, revision)
        return cancelled

    def _uncached_policy(self, conn: Connection) -> policy_model.Policy:
        """The policy as ``conn``'s transaction sees it, without caching it: a change's
        own transaction sees a revision that is not committed yet, and may roll back
        (the cache is keyed by revision alone)."""
        saved = self._policy_cache
        try:
            return self._policy(conn)
        finally:
            self._policy_cache = saved

    def _cancel(
        self,
        conn: Connection,
        actor: Principal | None,
        now: float,
        closing: list[tuple[Card, int, Closure]],
    ) -> list[Card]:
        # Grants first, then cards: the order a retry takes them in (store._lifecycle).
        lifecycle.revoke_grants(
            conn, [c.id for c, _, _ in closing if c.state is CardState.APPROVED]
        )
        by = who(actor) if actor is not None else None
        cancelled: list[Card] = []
        documents: list[dict[str, Any]] = []
        for card, version, closure in closing:
            outcome = {**card.outcome, "cancelled": {**closure.to_json(), "at": now,
                                                     "was": card.state.value}}  # fmt: skip
            values = {"decided_by": by, "decided_at": now, "reason": closure.reason,
                      "outcome": outcome}  # fmt: skip
            if not lifecycle.cancel(conn, card, version, now, values):
                continue  # decided, used or cancelled meanwhile: that stands
            closed = _closed(card, by, now, closure, outcome)
            cancelled.append(closed)
            documents.append(self._cancelled_entry(actor, closed, closure))
        self._append_many(documents)
        lifecycle.notify_all(conn, [("card.cancelled", _describe.notification(c))
                                    for c in cancelled], now)  # fmt: skip
        return cancelled

    def _cancelled_entry(
        self, actor: Principal | None, card: Card, closure: Closure
    ) -> dict[str, Any]:
        return self.audit.document(
            EventType.CARD_CANCELLED,
            actor=actor_json(actor),
            target=card.target,
            environment=card.environment.label,
            action={"kind": card.action_kind, "input": card.action},
            classification={"impact": card.impact.label},
            decision=card.state.value,
            rule=closure.rule,
            approver=None
            if actor is None
            else {"id": who(actor), "name": actor.name, "role": actor.role.value},
            result={
                "card": card.id,
                "reason": closure.reason,
                "rejudged": True,
                "was": card.outcome.get("cancelled", {}).get("was"),
            },
        )

    def _append_many(self, documents: list[dict[str, Any]]) -> None:
        """Audit several entries in one commit (held with a batch's, inside one)."""
        if not documents:
            return
        held = self._held.documents
        if held is not None:
            held.extend(documents)
        else:
            self.audit.append_documents(documents)

    # --- what the reasons say --------------------------------------------------------------------

    def _requesters(self, conn: Connection, ids: set[str]) -> dict[str, Requester]:
        """Whether each requester can still ask: a revoked token, a disabled or removed
        person, a token whose creator is disabled cannot."""
        out: dict[str, Requester] = {}
        tokens = lifecycle.tokens(conn, ids)
        namer = lifecycle.names(conn, {str(t.revoked_by) for t in tokens.values() if t.revoked_by})
        for token_id, row in tokens.items():
            if row.revoked:
                changed = Changed(namer.get(row.revoked_by or ""), row.revoked_at)
                out[token_id] = Requester(f"the API token {row.name} that asked for it was "
                                          "revoked", changed)  # fmt: skip
            elif Role(row.role) is not Role.AGENT:
                creator = people.get_user(conn, row.created_by)
                if creator is None or creator.disabled:
                    out[token_id] = Requester(f"the person who created the API token {row.name} "
                                              "that asked for it is disabled")  # fmt: skip
        for person_id in ids - set(tokens):
            user = people.get_user(conn, person_id)
            if user is None or user.disabled:
                name = user.name if user is not None else person_id
                out[person_id] = Requester(f"{name}, who asked for it, is disabled or removed")
        return out

    def _changes(self, conn: Connection) -> dict[str, Changed]:
        settings = lifecycle.setting_changes(conn)
        targets = lifecycle.target_changes(conn)
        by = {b for b, _ in (*settings.values(), *targets.values()) if b}
        names = lifecycle.names(conn, by)
        out = {
            f"setting.{k}": Changed(names.get(b or "", b), at) for k, (b, at) in settings.items()
        }
        out.update(
            {f"target.{k}": Changed(names.get(b or "", None), at) for k, (b, at) in targets.items()}
        )
        return out


def _closed(
    card: Card, by: str | None, now: float, closure: Closure, outcome: dict[str, Any]
) -> Card:
    return dataclasses.replace(card, state=CardState.CANCELLED, decided_by=by, decided_at=now,
                               reason=closure.reason, outcome=outcome)  # fmt: skip
