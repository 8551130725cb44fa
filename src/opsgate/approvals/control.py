"""The control plane: ``open_control_plane(...)`` implements ``service.ControlPlane``
over the store and the audit log.

Each method is one transaction that applies the rules of ``model`` and audits what
it did before it commits: if the audit entry cannot be written the transaction
rolls back and ``AuditWriteError`` propagates (fail closed).  Decisions on a card
are conditional updates, so concurrent deciders, threads or replicas, produce
exactly one outcome; the loser gets ``Denied(status=409)``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from opsgate.approvals import _describe, _lifecycle
from opsgate.approvals._batch import Keyed
from opsgate.approvals._binding import Binding, binding_of
from opsgate.approvals._control_accounts import AccountsMixin
from opsgate.approvals._control_base import ControlBase, actor_json, who
from opsgate.approvals._control_lockdown import LockdownMixin
from opsgate.approvals._control_org import OrgMixin
from opsgate.approvals._control_people import PeopleMixin
from opsgate.approvals._control_rejudge import RejudgeMixin
from opsgate.approvals._rejudge import basis_of
from opsgate.approvals._undo import known_rollback
from opsgate.approvals.model import (
    Approval,
    Card,
    CardState,
    Denied,
    Grant,
    Role,
    User,
    action_hash,
    approvers_needed,
    can_approve,
    check_confirmation,
)
from opsgate.approvals.service import (
    CardFilter,
    ControlPlane,
    Offload,
    Page,
    Principal,
    ProposeResult,
)
from opsgate.audit import EventType, open_log
from opsgate.audit.log import data_dir_from
from opsgate.classify import GivenFiles
from opsgate.guard import evaluate
from opsgate.models import Action, Decision, Verdict
from opsgate.policy._lockdown import lockdown_decision
from opsgate.policy.model import Policy
from opsgate.store import Stale, Unread, open_store
from opsgate.store import _cards as db
from opsgate.store import _lifecycle as lifecycle_db
from opsgate.store import _org as org
from opsgate.store import _people as people

__all__ = ["SqlControlPlane", "open_control_plane"]

T = TypeVar("T")

_RETRIES = 3  # a decision that lost a race is re-read and re-checked this many times
MAX_PAGE = 200


def open_control_plane(
    data_dir: Path | None = None, database_url: str | None = None
) -> ControlPlane:
    """Open (creating and migrating on first use) the store and the audit log.

    An explicit ``database_url`` or ``data_dir`` wins over ``OPSGATE_DATABASE_URL``,
    which wins over ``OPSGATE_HOME``, then ``~/.opsgate``: the same resolution as
    ``audit.open_log``, so state and audit always live side by side.
    """
    home = data_dir_from(data_dir)
    store = open_store(data_dir, database_url)
    try:
        audit = open_log(data_dir, database_url)
    except BaseException:
        store.close()
        raise
    return SqlControlPlane(store, audit, data_dir=home)


class _Lost(Exception):
    """A conditional update matched no row: someone else decided first."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Cancelled:
    """An approval found the card can no longer be honoured: it was cancelled instead."""

    card: Card


class SqlControlPlane(
    PeopleMixin, AccountsMixin, OrgMixin, RejudgeMixin, LockdownMixin, ControlBase
):
    # --- decisions ---------------------------------------------------------------------------

    def _decide(self, action: Action) -> Decision:
        """Decide with the files and facts the action carries (what the connected hook
        read on the agent's machine); never with this host's disk (SPEC §4
        safeguard 7: an API caller must not learn what files here hold)."""
        policy = self._known_policy()
        if policy is None:
            with self.store.read() as conn:
                policy = self._policy(conn)
        return evaluate(action, policy, files=lambda: GivenFiles.of(action.files, action.context))

    def _decide_at(self, action: Action) -> tuple[Decision, int]:
        """``_decide``, and an organisation revision the decision is no older than: the
        cached policy's, read before deciding (-1 before there is one).  A card made
        from it is judged again once the revision moves past it (``rejudge_due``);
        an older number only costs a judgement, never a missed one."""
        cached = self._policy_cache
        revision = cached[0] if cached is not None else -1
        return self._decide(action), revision

    def _audit_decision(
        self, actor: Principal, action: Action, decision: Decision, **result: Any
    ) -> None:
        self._append(
            EventType.DECISION_MADE,
            actor,
            target=_describe.target_of(decision, action),
            environment=decision.environment.label,
            action=_describe.action_json(action),
            classification=_describe.classification_json(decision),
            decision=decision.verdict.value,
            rule=decision.decided_by,
            result=result or None,
            evidence=_describe.evidence_json(decision),
        )

    def evaluate(self, actor: Principal, action: Action) -> Decision:
        decision = self._decide(action)
        self._audit_decision(actor, action, decision, dry_run=True)
        return decision

    def propose(
        self, actor: Principal, action: Action, *, reasoning: str = "", rollback: str = ""
    ) -> ProposeResult:
        decision, revision = self._decide_at(action)
        outcome = self._proposal(actor, action, decision, reasoning, rollback, revision=revision)
        return outcome if isinstance(outcome, ProposeResult) else self._write(outcome)

    def propose_decided(
        self,
        actor: Principal,
        action: Action,
        decision: Decision,
        *,
        reasoning: str = "",
        rollback: str = "",
        use_grant: bool = True,
        on_card: Callable[[Connection, Card], None] | None = None,
    ) -> ProposeResult:
        """``propose`` with a decision made by the caller: the executor decides a
        governed operation from its catalog entry (``current_policy`` + the engine);
        its ``rollback`` is the catalog's, opsgate's own plan.
        ``use_grant=False``: an operation card is its own execution, so an identical
        retry must not ride the grant its approval made.  ``on_card`` runs in the
        card's transaction (the executor records the plan there, atomically)."""
        outcome = self._proposal(
            actor, action, decision, reasoning, rollback, use_grant=use_grant, on_card=on_card,
            undo=rollback,
        )  # fmt: skip
        return outcome if isinstance(outcome, ProposeResult) else self._write(outcome)

    def _proposal(
        self,
        actor: Principal,
        action: Action,
        decision: Decision,
        reasoning: str,
        rollback: str,
        *,
        use_grant: bool = True,
        on_card: Callable[[Connection, Card], None] | None = None,
        revision: int | None = None,
        undo: str | None = None,
    ) -> ProposeResult | Callable[[Connection], ProposeResult]:
        """The answer, when the decision needs no card (its audit entry made); else
        the write step that uses a grant or creates the card.  ``revision``: the
        organisation revision the decision was made at (None: the write step's)."""
        if decision.verdict is not Verdict.REQUIRE_APPROVAL:
            # An allow needs no grant; a deny is never lifted by one (Production
            # Protection turned on after an approval still wins).  No card either way.
            self._audit_decision(actor, action, decision)
            return ProposeResult(decision=decision)
        if not action.context_complete:
            # The grant and the card bind to the context: ask for it before either.
            self._audit_decision(actor, action, decision, context_required=True)
            return ProposeResult(decision=decision, context_required=True)
        binding = binding_of(action, decision.classification)
        digest = self._digest(actor, action, decision, binding)
        return Keyed(lambda conn: self._propose(
            conn, actor, action, decision, (digest, binding), reasoning, rollback, use_grant,
            on_card, revision, undo,
        ), (digest,))  # fmt: skip

    # --- the hot routes: called on the event loop -----------------------------------------

    async def evaluate_on_loop(
        self,
        identify: Callable[[], Principal],
        action: Callable[[str], Action],
        *,
        offload: Offload = asyncio.to_thread,
    ) -> Decision:
        """``evaluate`` by the caller ``identify`` names, of the ``action`` built for
        that caller's name; returns once the decision's audit entry is durable.  On
        SQLite it is decided on the loop's own thread (``_deciding``); PostgreSQL's
        reads are network round trips, so there it is decided in ``offload``."""

        def decide() -> Decision:
            actor = identify()
            return self.evaluate(actor, action(actor.name))

        if not self.decides_on_loop:
            return await offload(lambda: self._in_snapshot(decide))
        try:
            with self._deciding() as decided:
                decision = decide()
            await self._durably(decided)
        except (Unread, Stale):  # PostgreSQL: not cached, or changed since: read
            return await offload(lambda: self._reread(decide))
        return decision

    async def propose_on_loop(
        self,
        identify: Callable[[], Principal],
        action: Callable[[str], Action],
        *,
        reasoning: str = "",
        rollback: str = "",
        offload: Offload = asyncio.to_thread,
    ) -> ProposeResult:
        """``propose``, decided as ``evaluate_on_loop`` decides; a card (or a grant's
        use) is written by the writer thread on SQLite, by ``offload`` on PostgreSQL.
        Returns once everything is durable."""

        def decide() -> ProposeResult | Callable[[Connection], ProposeResult]:
            actor = identify()
            proposed = action(actor.name)
            decision, revision = self._decide_at(proposed)
            return self._proposal(actor, proposed, decision, reasoning, rollback, revision=revision)

        def work(reread: bool) -> ProposeResult:
            outcome = self._reread(decide) if reread else self._in_snapshot(decide)
            return outcome if isinstance(outcome, ProposeResult) else self._write(outcome)

        if not self.decides_on_loop:
            return await offload(lambda: work(False))
        try:
            with self._deciding() as decided:
                outcome = decide()
            if isinstance(outcome, ProposeResult):
                await self._durably(decided)
                return outcome
            result = await self._durably(decided, outcome)
        except (Unread, Stale):  # PostgreSQL: not cached, or changed since: read
            return await offload(lambda: work(True))
        assert result is not None
        return result

    def _in_snapshot(self, read: Callable[[], T]) -> T:
        with self.store.snapshot():
            return read()

    def current_policy(self) -> Policy:
        """The policy decisions are made with now: stored settings and inventory,
        plus the configured policy file's rules."""
        with self.store.read() as conn:
            return self._policy(conn)

    def record(self, name: EventType, actor: Principal | None, **fields: Any) -> None:
        """Append an audit entry (inside ``write`` steps: with that transaction)."""
        self._append(name, actor, **fields)

    def write(self, step: Callable[[Connection], T]) -> T:
        """One write transaction that commits only after its audit entries are durable."""
        return self._write(step)

    def _propose(
        self,
        conn: Connection,
        actor: Principal,
        action: Action,
        decision: Decision,
        bound: tuple[str, Binding],
        reasoning: str,
        rollback: str,
        use_grant: bool = True,
        on_card: Callable[[Connection, Card], None] | None = None,
        revision: int | None = None,
        undo: str | None = None,
    ) -> ProposeResult:
        """``undo``: opsgate's own rollback plan when the caller has one (an operation's
        catalog entry); else the one opsgate knows for the action (``_undo``)."""
        digest, binding = bound
        refused = self._refused_by_lockdown(conn, actor, action, decision)
        if refused is not None:
            return refused
        now = self.clock()
        grant = self._use_grant(conn, actor, digest, now, decision) if use_grant else None
        if isinstance(grant, Grant):
            allowed = _describe.allowed_by_grant(decision, grant)
            self._audit_decision(actor, action, allowed, card=grant.card_id)
            return ProposeResult(decision=allowed, grant=grant)
        if grant is not None:  # a grant for this action, approved for less than this
            decision = dataclasses.replace(decision, reasons=(grant, *decision.reasons))
        settings = self._settings(conn)
        # The identical retry of what a person denied within a card's lifetime gets
        # their answer and reason, not a new card asking them again.
        since = now - settings.approval_ttl_seconds
        denial = db.recent_denial(conn, digest, who(actor), since, now)
        if denial is not None:
            denied = _describe.denied_by_card(decision, denial)
            self._audit_decision(actor, action, denied, card=denial.id)
            return ProposeResult(decision=denied)
        card = Card(
            id=f"c_{secrets.token_hex(8)}",
            state=CardState.PENDING,
            created_at=now,
            expires_at=now + settings.approval_ttl_seconds,
            description=_describe.describe(decision, action),
            target=_describe.target_of(decision, action),
            environment=decision.environment,
            impact=decision.impact,
            action_kind=action.kind,
            action=dict(action.input),
            action_hash=digest,
            requested_by=who(actor),
            requested_by_name=actor.name,
            reasoning=reasoning,
            rollback=rollback,
            undo=known_rollback(decision, action) if undo is None else undo,
            confirm=decision.confirm,
            approvers_needed=approvers_needed(decision.impact, decision.environment, settings),
            binding=binding.to_json(),
            basis=basis_of(action, decision),
        )
        db.insert_card(conn, card, org.revision(conn) if revision is None else revision)
        if on_card is not None:
            on_card(conn, card)
        self._audit_decision(actor, action, decision, card=card.id)
        # What the approver reads, in the signed trail (incident artifacts cite it).
        self._card_event(conn, EventType.CARD_CREATED, actor, card, **_told(card))
        return ProposeResult(decision=decision, card=card)

    def _append_linked(
        self,
        conn: Connection,
        link: Callable[[Connection, int], None],
        name: EventType,
        actor: Principal | None,
        **fields: Any,
    ) -> None:
        """``_append``, then ``link(conn, seq)`` with the entry's sequence number in the
        same transaction: at once, or (inside a batch) once the batch's entries are
        appended, before it commits."""
        held, links = self._held.documents, self._held.links
        if held is None:
            entry = self.audit.append(name, actor=actor_json(actor), **fields)
            link(conn, entry.seq)
            return
        document = self.audit.document(name, actor=actor_json(actor), **fields)
        held.append(document)
        if links is not None:
            links.append((document, link))

    def _refused_by_lockdown(
        self, conn: Connection, actor: Principal, action: Action, decision: Decision
    ) -> ProposeResult | None:
        """Decided before a lockdown that has committed since: no card, no grant (and
        during a lockdown nobody approves, so nothing gets a card at all)."""
        locked = self._locked(conn)
        refused = lockdown_decision(decision.classification, locked, needs_person=True)
        if refused is None:
            return None
        self._audit_decision(actor, action, refused)
        return ProposeResult(decision=refused)

    def _digest(
        self, actor: Principal, action: Action, decision: Decision, binding: Binding | None = None
    ) -> str:
        target = _describe.target_of(decision, action)
        bound = binding or binding_of(action, decision.classification)
        return action_hash(action.kind, dict(action.input), target, who(actor), bound.digest)

    # --- cards ---------------------------------------------------------------------------------

    def list_cards(
        self, actor: Principal, filters: CardFilter, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        limit = max(1, min(limit, MAX_PAGE))
        after = _describe.parse_cursor(cursor)
        now = self.clock()
        with self.store.read() as conn:
            actor = self._fresh(conn, actor)
            if actor.role is Role.AGENT:  # an agent sees only its own cards
                filters = dataclasses.replace(filters, requested_by=who(actor))
            items = db.list_cards(conn, filters, now, limit + 1, after)
            total = db.count_cards(conn, filters, now) if cursor is None else None
        more = len(items) > limit
        items = items[:limit]
        next_cursor = _describe.make_cursor(items[-1]) if more else None
        return Page(items=tuple(items), next_cursor=next_cursor, total=total)

    def get_card(self, actor: Principal, card_id: str) -> Card:
        with self.store.read() as conn:
            actor = self._fresh(conn, actor)
            return self._visible(conn, actor, card_id, self.clock())[0]

    def _visible(
        self, conn: Connection, actor: Principal, card_id: str, now: float
    ) -> tuple[Card, int]:
        found = db.get_card(conn, card_id, now)
        # An agent sees only its own cards; anyone else's is "not found", not "forbidden".
        if found is None or (actor.role is Role.AGENT and found[0].requested_by != who(actor)):
            raise Denied(f"no card {card_id!r}", status=404, code="not_found")
        return found

    def approve(self, actor: Principal, card_id: str, confirmation: str | None) -> Card:
        outcome = self._race(
            lambda conn, now: self._approve(conn, now, actor, card_id, confirmation)
        )
        if isinstance(outcome, _Cancelled):
            # Committed: the card is closed for everyone, and this approval refused.
            self._tell("card.cancelled", [outcome.card])
            raise Denied(
                f"this card can no longer be approved: {outcome.card.reason}",
                status=409,
                code="cancelled",
            )
        return outcome

    def _approve(
        self, conn: Connection, now: float, actor: Principal, card_id: str, typed: str | None
    ) -> Card | _Cancelled:
        fresh = self._fresh(conn, actor)
        card, version = self._visible(conn, fresh, card_id, now)
        user = _as_user(fresh)
        token = people.get_token(conn, card.requested_by)
        can_approve(user, card, now=now, requester_creator=token.created_by if token else None)
        _refuse_unless_a_person(fresh, "approves")
        self._refuse_if_locked(conn, "approving")
        # Judged again here: a card is never approved on grounds that no longer hold.
        cancelled = self._rejudge(conn, fresh, ids=[card.id])
        if cancelled:
            return _Cancelled(cancelled[0])
        check_confirmation(card, typed)
        approvals = (*card.approvals, user.id)
        approved_by = (*card.approved_by, Approval(user.id, user.name, now, user.role.value))
        values: dict[str, Any] = {
            "approvals": list(approvals),
            "approved_by": [a.to_json() for a in approved_by],
        }
        final = len(approvals) >= card.approvers_needed
        if final:
            values.update(state=CardState.APPROVED.value, decided_by=user.id, decided_at=now)
        if not db.update_pending(conn, card_id, version, now, values):
            raise _Lost
        card = dataclasses.replace(card, approvals=approvals, approved_by=approved_by)
        if final:
            card = dataclasses.replace(
                card, state=CardState.APPROVED, decided_by=user.id, decided_at=now
            )
        self._card_event(
            conn,
            EventType.CARD_APPROVED,
            fresh,
            card,
            approvals=len(approvals),
            needed=card.approvers_needed,
            final=final,
            approved_by=[a.name for a in approved_by],
        )
        if final:
            settings = org.load_settings(conn)
            grant = Grant(
                id=f"g_{secrets.token_hex(8)}",
                card_id=card.id,
                action_hash=card.action_hash,
                created_at=now,
                expires_at=now + settings.approval_ttl_seconds,
                impact=card.impact,
                environment=card.environment,
            )
            db.insert_grant(conn, grant)
            self._append(
                EventType.GRANT_CREATED,
                fresh,
                target=card.target,
                environment=card.environment.label,
                result={
                    "grant": grant.id,
                    "card": card.id,
                    "uses": grant.uses_left,
                    "expires_at": grant.expires_at,
                },
            )
        return card

    def deny(self, actor: Principal, card_id: str, reason: str) -> Card:
        def deny(conn: Connection, now: float) -> Card:
            fresh = self._fresh(conn, actor)
            card, version = self._visible(conn, fresh, card_id, now)
            # Whoever may approve may deny, including a first approver changing their mind.
            can_approve(_as_user(fresh), dataclasses.replace(card, approvals=()), now=now)
            _refuse_unless_a_person(fresh, "denies")
            return self._close(conn, now, fresh, card, version, CardState.DENIED, reason)

        return self._race(deny)

    def cancel(self, actor: Principal, card_id: str) -> Card:
        def cancel(conn: Connection, now: float) -> Card:
            fresh = self._fresh(conn, actor)
            card, version = self._visible(conn, fresh, card_id, now)
            own = card.requested_by == who(fresh)
            if not own and (fresh.role is Role.AGENT or fresh.role.rank < Role.ADMIN.rank):
                raise Denied("only the requester, an admin or an owner cancels a card")
            if card.state is not CardState.PENDING:
                raise Denied(f"the card is {card.state.value}", status=409, code="not_pending")
            return self._close(
                conn,
                now,
                fresh,
                card,
                version,
                CardState.CANCELLED,
                "cancelled by the requester" if own else f"cancelled by {fresh.name}",
            )

        return self._race(cancel)

    def _close(
        self,
        conn: Connection,
        now: float,
        actor: Principal,
        card: Card,
        version: int,
        state: CardState,
        reason: str,
    ) -> Card:
        decided_by = who(actor)
        values = {
            "state": state.value,
            "decided_by": decided_by,
            "decided_at": now,
            "reason": reason,
        }
        if not db.update_pending(conn, card.id, version, now, values):
            raise _Lost
        card = dataclasses.replace(
            card, state=state, decided_by=decided_by, decided_at=now, reason=reason
        )
        name = EventType.CARD_DENIED if state is CardState.DENIED else EventType.CARD_CANCELLED
        self._card_event(conn, name, actor, card, reason=reason)
        return card

    def _race(self, step: Callable[[Connection, float], T]) -> T:
        for _ in range(_RETRIES):
            try:
                return self._write(lambda conn: step(conn, self.clock()))
            except _Lost:
                continue  # re-read: the rules decide again against what won
        raise Denied(
            "someone else decided this card at the same moment; reload it",
            status=409,
            code="conflict",
        )

    def expire_due(self) -> list[Card]:
        """Pending cards past their expiry, and approved cards whose grant ran out with
        no use taken (``expired`` unused), each audited ``card.expired``."""
        with self.store.write() as conn:
            now = self.clock()
            expired = db.expire_due(conn, now)
            for card in expired:
                self._card_event(conn, EventType.CARD_EXPIRED, None, card)
            unused = lifecycle_db.expire_unused(conn, now)
            for card in unused:
                self._card_event(conn, EventType.CARD_EXPIRED, None, card, unused=True,
                                 **card.outcome.get("expired_unused", {}))  # fmt: skip
        return [*expired, *unused]

    def _card_event(
        self, conn: Connection, name: EventType, actor: Principal | None, card: Card, **result: Any
    ) -> None:
        self._append(name, actor, **self._card_fields(name, actor, card, **result))
        db.notify(conn, name.value, _describe.notification(card), self.clock())

    # --- the notification outbox (filled in the same transaction as each card change) ---

    def claim_notifications(self, limit: int = 20, lease_seconds: float = 60.0) -> list[Any]:
        """Due notifications, each leased to this caller (no other replica gets it
        until ``lease_seconds`` pass); rows with id, event, payload, attempts."""
        with self.store.write() as conn:
            return db.claim_notifications(
                conn, self.clock(), limit=limit, lease_seconds=lease_seconds
            )

    def notification_done(
        self, notification_id: int, *, error: str | None = None, retry_at: float | None = None
    ) -> None:
        """Delivered (no ``error``), or failed: retried at ``retry_at``, or never if None."""
        with self.store.write() as conn:
            db.notification_done(
                conn, notification_id, self.clock(), error=error, retry_at=retry_at
            )

    # --- grants --------------------------------------------------------------------------------

    def _use_grant(
        self, conn: Connection, actor: Principal, digest: str, now: float, decision: Decision
    ) -> Grant | str | None:
        """Use a live grant for ``digest`` once; a grant approved for a lower impact
        or environment than ``decision`` is never used (the answer is then why, for
        the new card's reasons)."""
        refused = None
        for candidate in db.find_grants(conn, digest, now):
            if not candidate.within(decision.impact, decision.environment):
                refused = _above(candidate, decision)
                continue
            grant = db.consume_grant(conn, candidate.id, now)
            if grant is not None:
                used = _lifecycle.used(actor, grant, now)
                card = lifecycle_db.mark_used(conn, grant.card_id, now, used)
                self._append_linked(
                    conn,
                    _link_used(grant.card_id, used),
                    EventType.GRANT_USED,
                    actor,
                    result={"grant": grant.id, "card": grant.card_id, "uses_left": grant.uses_left},
                )
                if card is not None:
                    db.notify(conn, "card.used", _describe.notification(card), now)
                return grant
        return refused

    def check_grant(self, actor: Principal, action: Action) -> Grant | None:
        decision = self._decide(action)
        if decision.verdict is Verdict.DENY:
            return None
        now = self.clock()
        with self.store.read() as conn:
            found = db.find_grants(conn, self._digest(actor, action, decision), now)
        found = [g for g in found if g.within(decision.impact, decision.environment)]
        return found[0] if found else None

    def consume_grant(self, actor: Principal, action: Action) -> Grant | None:
        decision = self._decide(action)
        if decision.verdict is Verdict.DENY:
            return None  # a grant never lifts a deny decided now
        digest = self._digest(actor, action, decision)
        with self.store.write() as conn:
            if self._locked(conn) is not None:
                return None
            grant = self._use_grant(conn, actor, digest, self.clock(), decision)
        return grant if isinstance(grant, Grant) else None


def _link_used(card_id: str, used: dict[str, Any]) -> Callable[[Connection, int], None]:
    """What a used card records once the retry's ``grant.used`` entry has its number."""

    def link(conn: Connection, seq: int) -> None:
        lifecycle_db.set_outcome(conn, card_id, _lifecycle.linked(used, seq))

    return link


def _above(grant: Grant, decision: Decision) -> str:
    approved = (
        f"{grant.impact.label} in {grant.environment.label}"
        if grant.impact is not None and grant.environment is not None
        else "an earlier version of opsgate"
    )
    return (
        f"Card {grant.card_id} approved this action for {approved}; it is now "
        f"{decision.impact.label} in {decision.environment.label}, so it needs a new approval."
    )


def _told(card: Card) -> dict[str, Any]:
    """The card's own words: its description, the agent's reasoning and rollback plan."""
    limit = 4000  # an agent's essay is kept on the card; the trail keeps enough to cite
    return {
        "description": card.description,
        "reasoning": card.reasoning[:limit],
        "rollback": card.rollback[:limit],
        "undo": card.undo[:limit],
        "approvers_needed": card.approvers_needed,
    }


def _refuse_unless_a_person(actor: Principal, verb: str) -> None:
    """A card is decided by a person present (SPEC §4 safeguards 2 and 4): a session —
    the console, ``opsgate login``, ``--user``, a linked Slack account — never an API
    token, whatever its role.  A token is held by a script (CI, a cron job, an agent
    that found it): one that approves is an auto-approve mode with no human, and a
    denial names a person as the one who decided.  Lifting a lockdown is the same."""
    if actor.kind != "user":
        raise Denied(
            f"an API token never {verb} a card, whatever its role: a person decides, logged "
            "in (the console, `opsgate login`, or `opsgate approve --user NAME`)",
            code="person_required",
        )


def _as_user(actor: Principal) -> User:
    if actor.user is not None:
        return actor.user
    return User(id=actor.id, name=actor.name, role=actor.role)
