"""The control plane's service contract: what the HTTP API, the CLI, the MCP server
and the hook's connected mode call.  One implementation (``open_control_plane``)
backs it with the store and the audit log; every method is one transaction and
audits what it did.

Principals: a person (``User``, authenticated by password → session) or a token
(``Principal`` with ``kind="token"``; an agent token has role ``agent``: it may
evaluate, propose, read and cancel its own cards, consume its own grants — never
approve, never change settings).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from opsgate.approvals.model import Card, CardState, Grant, Role, Settings, User
from opsgate.environments import Inventory, InventoryTarget
from opsgate.models import Action, Decision
from opsgate.policy.model import Lockdown

__all__ = [
    "ControlPlane",
    "LockdownReport",
    "Offload",
    "Page",
    "Principal",
    "ProposeResult",
    "TokenInfo",
]

T = TypeVar("T")


class Offload(Protocol):
    """Runs blocking work off the event loop: ``asyncio.to_thread``, or the server's pool."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (through a session) or an API token."""

    id: str  # user id, or token id
    name: str
    role: Role
    kind: str = "user"  # "user" | "token"
    user: User | None = None  # the person behind a session (or a user-scoped token)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    role: Role
    created_by: str
    created_at: float
    last_used_at: float | None = None
    revoked: bool = False
    prefix: str = ""  # the first characters of the secret, to recognise it


@dataclass(frozen=True, slots=True)
class ProposeResult:
    decision: Decision
    card: Card | None = None  # created when the decision needs an opsgate card
    grant: Grant | None = None  # consumed when an identical approved action is retried
    # The decision needs a card, but the caller left out its context (it sends it
    # only when a card is due): propose again with it; no card was made.
    context_required: bool = False


@dataclass(frozen=True, slots=True)
class LockdownReport:
    """What ``lock_down`` / ``lift_lockdown`` did: the state after it, and what the
    lockdown's sweep cancelled and revoked (ids)."""

    lockdown: Lockdown | None
    cards: tuple[Card, ...] = ()  # cancelled
    grants: tuple[Grant, ...] = ()  # revoked (used up)
    tokens: tuple[TokenInfo, ...] = ()  # agent tokens revoked
    renewed: bool = False  # it was already locked down: swept again, state kept

    def to_json(self) -> dict[str, Any]:
        lock = self.lockdown
        return {
            "locked": lock is not None,
            "by": lock.by if lock else None,
            "role": lock.role if lock else None,
            "reason": lock.reason if lock else None,
            "since": lock.since if lock else None,
            "cancelled_cards": [c.id for c in self.cards],
            "revoked_grants": [g.id for g in self.grants],
            "revoked_tokens": [t.id for t in self.tokens],
            "renewed": self.renewed,
        }


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[Any, ...]
    next_cursor: str | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class CardFilter:
    states: tuple[CardState, ...] = ()
    environment: str | None = None
    impact: str | None = None
    requested_by: str | None = None
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ControlPlane(Protocol):
    # --- people, sessions, tokens -----------------------------------------------------------
    def create_user(self, actor: Principal | None, name: str, password: str, role: Role) -> User:
        """``actor`` None only for the first owner (``opsgate init`` / first start)."""
        ...

    def login(self, name: str, password: str) -> tuple[User, str]:
        """(user, session secret); audits ``user.login`` (success and failure)."""
        ...

    def session(self, secret: str) -> Principal | None: ...

    def logout(self, secret: str) -> None: ...

    def list_users(self, actor: Principal) -> list[User]: ...

    def set_role(self, actor: Principal, user_id: str, role: Role) -> User:
        """Owners only (SPEC §6); an organisation always keeps at least one owner."""
        ...

    def create_token(self, actor: Principal, name: str, role: Role) -> tuple[TokenInfo, str]:
        """(info, secret).  The secret is shown once and stored only as a hash."""
        ...

    def token(self, secret: str) -> Principal | None: ...

    def snapshot(self) -> AbstractContextManager[None]:
        """Until exit, the calling thread's reads share one read transaction: a
        request's credential check and its decision inputs in one round trip set.
        Writes are unaffected (and not seen by later reads in the snapshot)."""
        ...

    def list_tokens(self, actor: Principal) -> list[TokenInfo]: ...

    def revoke_token(self, actor: Principal, token_id: str) -> TokenInfo: ...

    # --- managing accounts (``_control_accounts``) --------------------------------------------
    def set_disabled(self, actor: Principal, user_id: str, disabled: bool) -> User:
        """Owners manage anyone, admins members and viewers; ends the sessions."""
        ...

    def set_password(
        self, actor: Principal, user_id: str, password: str, *, current: str | None = None
    ) -> User:
        """Your own (with ``current``), or someone you manage; ends their sessions."""
        ...

    def start_link(self, actor: Principal, provider: str, claimed: str) -> str:
        """A single-use code that only ``claimed``, signed by the provider, redeems."""
        ...

    def finish_link(self, provider: str, code: str, external_id: str, seen_as: str) -> User: ...

    def cancel_link(self, code: str) -> None: ...

    def unlink_account(self, actor: Principal, provider: str, user_id: str) -> str | None: ...

    def account_links(self, actor: Principal, provider: str) -> dict[str, str]: ...

    def linked_principal(self, provider: str, external_id: str) -> Principal | None: ...

    def keep_once(
        self, kind: str, key: str, payload: str, seconds: float, owner: str | None = None
    ) -> bool:
        """A single-use value for ``seconds``; False if ``key`` is kept already."""
        ...

    def take_once(self, kind: str, key: str, owner: str | None = None) -> str | None:
        """The value kept under ``key``, removed as it is read."""
        ...

    def slack_message(self, card_id: str) -> tuple[str, str] | None: ...

    def remember_slack_message(self, card_id: str, channel: str, ts: str) -> None: ...

    # --- settings and inventory ---------------------------------------------------------------
    def settings(self) -> Settings: ...

    def change_settings(self, actor: Principal, changes: dict[str, Any]) -> Settings:
        """Role-checked (``model.can_change_settings``), effective at once, audited."""
        ...

    def list_targets(self, actor: Principal) -> list[InventoryTarget]: ...

    def put_target(self, actor: Principal, target: InventoryTarget) -> InventoryTarget: ...

    def delete_target(self, actor: Principal, name: str) -> None: ...

    def inventory(self) -> Inventory: ...

    # --- decisions, cards, grants ---------------------------------------------------------------
    def evaluate(self, actor: Principal, action: Action) -> Decision:
        """A dry run: the decision with the organisation's settings and inventory."""
        ...

    def propose(
        self, actor: Principal, action: Action, *, reasoning: str = "", rollback: str = ""
    ) -> ProposeResult:
        """Decide; consume a matching grant if one exists; otherwise create a card when
        the decision needs one.  Audits ``decision.made`` and ``card.created``."""
        ...

    # The hot HTTP routes call these on the event loop: SQLite decides there and waits,
    # holding no thread, for a writer thread to make the audit entries (and card)
    # durable; PostgreSQL decides in ``offload`` (a worker thread).
    async def evaluate_on_loop(
        self,
        identify: Callable[[], Principal],
        action: Callable[[str], Action],
        *,
        offload: Offload = ...,
    ) -> Decision:
        """``evaluate`` for the caller ``identify()`` names, of ``action(name)``."""
        ...

    async def propose_on_loop(
        self,
        identify: Callable[[], Principal],
        action: Callable[[str], Action],
        *,
        reasoning: str = "",
        rollback: str = "",
        offload: Offload = ...,
    ) -> ProposeResult:
        """``propose`` for the caller ``identify()`` names, of ``action(name)``."""
        ...

    def list_cards(
        self, actor: Principal, filters: CardFilter, *, limit: int = 50, cursor: str | None = None
    ) -> Page: ...

    def get_card(self, actor: Principal, card_id: str) -> Card: ...

    def approve(self, actor: Principal, card_id: str, confirmation: str | None) -> Card:
        """Rules from ``model``; exactly one outcome under concurrent deciders; creates
        the grant when the last required approval is in."""
        ...

    def deny(self, actor: Principal, card_id: str, reason: str) -> Card: ...

    def cancel(self, actor: Principal, card_id: str) -> Card: ...

    def expire_due(self) -> list[Card]:
        """Move every pending card past its expiry to ``expired`` (audited)."""
        ...

    def check_grant(self, actor: Principal, action: Action) -> Grant | None: ...

    def consume_grant(self, actor: Principal, action: Action) -> Grant | None:
        """Use a matching grant once (atomic); audits ``grant.used``."""
        ...

    # --- lockdown (SPEC §6) ----------------------------------------------------------------------
    def lockdown_status(self) -> Lockdown | None:
        """The lockdown in force, or None."""
        ...

    def lock_down(
        self, actor: Principal, reason: str, *, revoke_tokens: bool = False
    ) -> LockdownReport:
        """Admins and owners (people or non-agent tokens): every agent write denied from
        the next decision on, on every replica; pending cards cancelled, unused grants
        revoked, optionally every agent token.  Audited; announced through the outbox."""
        ...

    def lift_lockdown(self, actor: Principal, reason: str) -> LockdownReport:
        """Admins and owners, as a person (never a token): writes go back to the normal
        pipeline.  Nothing the lockdown revoked comes back."""
        ...
