"""Shared plumbing of the control plane: the store, the audit log, the clock, who
the caller is right now, and the policy the engine decides with."""

from __future__ import annotations

import contextvars
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection

from opsgate.approvals._batch import Capture, Keyed, LoopWriter, WriteBatcher
from opsgate.approvals.model import Card, Denied, Role, Settings, User
from opsgate.approvals.service import Principal
from opsgate.audit import AuditLog, EventType
from opsgate.environments import Inventory
from opsgate.policy import model as policy_model
from opsgate.store import Store, Unread
from opsgate.store import _lockdown as lockdown_store
from opsgate.store import _org as org
from opsgate.store import _people as people

if TYPE_CHECKING:
    from opsgate.approvals._batch_pg import PostgresWriter

__all__ = ["ControlBase", "event", "pinned_over", "secret_hash", "who"]

T = TypeVar("T")

# Advisory lock keys for check-then-write transactions (PostgreSQL only).
LOCK_USERS = 0x6F70736761746532


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def who(actor: Principal) -> str:
    """The identity a request, an approval and a grant are bound to: the person behind
    a session or a user-scoped token, else the (agent) token itself."""
    return actor.user.id if actor.user is not None else actor.id


def event(name: str, fallback: EventType) -> EventType:
    """``name`` if the audit vocabulary has it, else ``fallback`` (the exact change is
    then named in the entry's result)."""
    try:
        return EventType(name)
    except ValueError:
        return fallback


def pinned_over(stored: Settings, file_policy: policy_model.Policy) -> Settings:
    """The stored settings with the ones the policy file sets itself in their place."""
    if not file_policy.pinned:
        return stored
    import dataclasses

    file_settings = file_policy.settings
    return dataclasses.replace(stored, **{k: getattr(file_settings, k) for k in file_policy.pinned})


def _configured_policy() -> str | None:
    """The ``policy`` setting (OPSGATE_POLICY, the config file), resolved once."""
    from opsgate.config import current

    path = current().path("policy")
    return str(path) if path is not None else None


def actor_json(actor: Principal | None) -> dict[str, Any]:
    if actor is None:
        return {"type": "system", "name": "opsgate"}
    out = {"type": actor.kind, "id": actor.id, "name": actor.name, "role": actor.role.value}
    if actor.user is not None and actor.user.id != actor.id:
        out["user"] = actor.user.id
    return out


@dataclass(slots=True)
class _Decided:
    documents: list[dict[str, Any]] = field(default_factory=list)
    later: list[Callable[[Connection], Any]] = field(default_factory=list)
    revision: int | None = None  # PostgreSQL: the organisation's revision decided at


class ControlBase:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        *,
        data_dir: Path,
        clock: Callable[[], float] = time.time,
        policy_file: str | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        self.data_dir = data_dir
        self.clock = clock
        self._policy_file = policy_file or _configured_policy()
        self._policy_candidate = data_dir / "policy.yaml"
        self._held = Capture()
        # SQLite: write steps of concurrent callers share a transaction and its
        # commits (see _batch); PostgreSQL runs them as concurrent transactions.
        self._batcher = (
            WriteBatcher(store, audit, self._held) if store.dialect == "sqlite" else None
        )
        # SQLite: the hot HTTP routes decide on the event loop and leave the durable
        # writes to this thread (``_deciding``, ``_durably``).  PostgreSQL reads are
        # network round trips, so there they run in worker threads.
        self._loop_writer = (
            LoopWriter(store, audit, self._held) if store.dialect == "sqlite" else None
        )
        # PostgreSQL: the hot routes decide on the event loop from caches (no reads)
        # and this thread writes their steps and audit entries in shared
        # transactions, when the audit log lives in the same database.
        self._pg_writer: PostgresWriter | None = None
        if store.dialect == "postgresql":  # psycopg is there (the postgres extra)
            from opsgate.approvals._batch_pg import PostgresWriter, shares_database

            if shares_database(store, audit):
                self._pg_writer = PostgresWriter(store, audit, self._held)
        # (revision, policy file, policy): reused while the organisation's revision
        # (``org.revision``) and the policy file are unchanged.
        self._policy_cache: tuple[int, policy_model.Policy, policy_model.Policy] | None = None
        # token hash → (revision, principal, last used): see ``PeopleMixin.token``.
        self._token_cache: dict[str, tuple[int, Principal, float | None]] = {}

    def close(self) -> None:
        if self._loop_writer is not None:
            self._loop_writer.close()
        if self._pg_writer is not None:
            self._pg_writer.close()
        self.store.close()
        self.audit.close()

    def snapshot(self) -> AbstractContextManager[None]:
        return self.store.snapshot()

    # --- who is calling, as of now ---------------------------------------------------------

    def caller(
        self, conn: Connection, actor: Principal, needs: Role | None = None, what: str = ""
    ) -> Principal:
        """``actor`` as stored now, in ``conn``'s transaction, and (with ``needs``)
        refused unless a person or token of at least that role: for services built on
        the control plane (the executor's secrets) that check callers the same way."""
        fresh = self._fresh(conn, actor)
        if needs is not None:
            self._require(fresh, needs, what)
        return fresh

    def _fresh(self, conn: Connection, actor: Principal) -> Principal:
        """Re-read the caller inside the transaction: a role changed, a user disabled
        or a token revoked a moment ago counts now."""
        if actor.kind == "user":
            user = people.get_user(conn, actor.id)
            if user is None or user.disabled:
                raise Denied(
                    "this account no longer exists or is disabled",
                    status=401,
                    code="unauthenticated",
                )
            return Principal(id=user.id, name=user.name, role=user.role, kind="user", user=user)
        info = people.get_token(conn, actor.id)
        if info is None or info.revoked:
            raise Denied("this API token is revoked or unknown", status=401, code="unauthenticated")
        principal = self._token_principal(conn, info.id, info.name, info.role, info.created_by)
        if principal is None:
            raise Denied(
                "the person who created this token is disabled", status=401, code="unauthenticated"
            )
        return principal

    def _token_principal(
        self, conn: Connection, token_id: str, name: str, role: Role, created_by: str
    ) -> Principal | None:
        """An agent token stands for itself; any other token acts for its creator,
        with the lower of its own role and the creator's current one."""
        if role is Role.AGENT:
            return Principal(id=token_id, name=name, role=role, kind="token")
        creator = people.get_user(conn, created_by)
        if creator is None or creator.disabled:
            return None
        capped = role if role.rank <= creator.role.rank else creator.role
        user = User(id=creator.id, name=creator.name, role=capped)
        return Principal(id=token_id, name=name, role=capped, kind="token", user=user)

    @staticmethod
    def _require(actor: Principal, minimum: Role, what: str, *, person: bool = False) -> None:
        if actor.role is Role.AGENT or actor.role.rank < minimum.rank:
            raise Denied(f"{what} needs the {minimum.value} role; you are {actor.role.value}")
        if person and actor.kind != "user":
            raise Denied(f"{what} needs a person logged in, not an API token")

    # --- the policy the engine decides with --------------------------------------------------

    def _policy(self, conn: Connection) -> policy_model.Policy:
        """Stored settings and inventory, plus the rules (and inventory) of the policy
        file if one is configured.  The settings the file sets itself win over the
        stored ones (``pinned_over``), so the file decides here as in ``check``."""
        # The organisation's revision is read in this transaction on every decision,
        # and any change to settings or inventory — here or on another replica —
        # bumps it (database triggers), so a change counts at once; while it and the
        # policy file are unchanged (the file compared by identity, since
        # ``load_configured_policy`` caches it by path, size and mtime), the policy
        # assembled last time is exact.
        revision = org.revision(conn)
        base = self._file_policy()
        cached = self._policy_cache
        if cached is not None and cached[0] == revision and cached[1] is base:
            return cached[2]
        stored = pinned_over(org.load_settings(conn), base)
        targets = tuple(org.list_targets(conn))
        policy = policy_model.Policy(
            settings=stored,
            rules=base.rules,
            inventory=Inventory.of((*targets, *base.inventory.targets)),
            source=f"control plane + {base.source}",
            lockdown=lockdown_store.load(conn),  # a settings row: same revision as the rest
            pinned=base.pinned,
        )
        self._policy_cache = (revision, base, policy)
        return policy

    def _known_policy(self) -> policy_model.Policy | None:
        """Deciding on PostgreSQL's event loop (``Store.known``): the policy cached at
        the known revision, if it is that one and the policy file is unchanged; else
        None (the caller's read then raises ``Unread``)."""
        known = self.store.known_revision()
        if known is None:
            return None
        cached = self._policy_cache
        if cached is None or cached[0] != known or cached[1] is not self._file_policy():
            return None
        return cached[2]

    def _settings(self, conn: Connection) -> Settings:
        """The stored settings as of ``conn``'s transaction: the cached policy's while
        the organisation's revision is the one it was assembled at."""
        cached = self._policy_cache
        if cached is not None and cached[0] == self._revision_in(conn):
            return cached[2].settings
        return pinned_over(org.load_settings(conn), self._file_policy())

    def _lockdown_now(self, conn: Connection) -> policy_model.Lockdown | None:
        """The lockdown as of ``conn``'s transaction (the cached policy's while the
        organisation's revision is unchanged)."""
        cached = self._policy_cache
        if cached is not None and cached[0] == self._revision_in(conn):
            return cached[2].lockdown
        return lockdown_store.load(conn)

    def _revision_in(self, conn: Connection) -> int:
        """The organisation's revision as of ``conn``'s transaction: a PostgreSQL
        batch's, read once in its transaction, else read now."""
        revision = self._held.revision
        return org.revision(conn) if revision is None else revision

    def _file_policy(self) -> policy_model.Policy:
        from opsgate.guard import load_configured_policy

        path = self._policy_file
        if not path:
            # Checked on every decision (a file put there counts at once), so with
            # the path built once: joining paths costs more than the stat.
            if not self._policy_candidate.is_file():
                return policy_model.DEFAULT_POLICY
            path = str(self._policy_candidate)
        return load_configured_policy(explicit=path)

    def _append(self, name: EventType, actor: Principal | None, **fields: Any) -> None:
        """Audit; an AuditWriteError propagates so the caller's transaction rolls back.
        Inside a batched write step the entry is held and appended, with the rest
        of the batch, before the batch commits."""
        held = self._held.documents
        if held is not None:
            held.append(self.audit.document(name, actor=actor_json(actor), **fields))
            return
        self.audit.append(name, actor=actor_json(actor), **fields)

    def _append_all(self, documents: list[dict[str, Any]]) -> None:
        """Several entries in one audit commit (``_append``'s rules otherwise)."""
        held = self._held.documents
        if held is not None:
            held.extend(documents)
        elif documents:
            self.audit.append_documents(documents)

    @staticmethod
    def _card_fields(
        name: EventType, actor: Principal | None, card: Card, **result: Any
    ) -> dict[str, Any]:
        """An audit entry's fields for a change of ``card``."""
        return {
            "target": card.target,
            "environment": card.environment.label,
            "action": {"kind": card.action_kind, "input": card.action},
            "classification": {"impact": card.impact.label},
            "decision": card.state.value,
            "approver": None
            if actor is None or name is EventType.CARD_CREATED
            else {"id": who(actor), "name": actor.name, "role": actor.role.value},
            "result": {"card": card.id, **result},
        }

    # --- deciding on the event loop (SQLite) ------------------------------------------------

    @property
    def decides_on_loop(self) -> bool:
        return self._loop_writer is not None or self._pg_writer is not None

    @contextmanager
    def _deciding(self) -> Iterator[_Decided]:
        """Read and decide on the calling (event loop) thread: the audit documents
        made meanwhile are held back, and writes left for later (a token's last use)
        are collected, for ``_durably`` to hand to the writer.  SQLite reads in one
        read snapshot; PostgreSQL does not read at all (``Store.known``: caches at
        the writer's last revision, else ``Unread``)."""
        decided = _Decided()
        pg = self._pg_writer
        if pg is not None:
            if pg.revision is None:
                raise Unread  # no revision seen yet: a worker thread reads one
            decided.revision = pg.revision
        self._held.set(decided.documents)
        self._held.set_later(decided.later)
        try:
            if decided.revision is not None:
                with self.store.known(decided.revision):
                    yield decided
            else:
                with self.store.snapshot(keep=True):
                    yield decided
        finally:
            self._held.set(None)
            self._held.set_later(None)

    async def _durably(
        self, decided: _Decided, step: Callable[[Connection], T] | None = None
    ) -> T | None:
        """Wait, without holding a thread, until what ``decided`` holds (and ``step``,
        with its own audit entries) is durable; ``step``'s result.  PostgreSQL:
        ``Stale`` if the organisation changed since the decision."""
        digests = step.digests if isinstance(step, Keyed) else ()
        if step is not None:
            # The writer thread runs the step in this request's context, so the
            # entries it makes name the request (``audit._request``).
            step = _in_context(contextvars.copy_context(), step)
        pg = self._pg_writer
        if pg is not None:
            for later in decided.later:
                pg.later(later)
            if step is None:
                await pg.audit(decided.documents, decided.revision)
                return None
            return await pg.run(step, decided.documents, decided.revision, digests)
        writer = self._loop_writer
        assert writer is not None, "deciding on the loop needs a writer thread"
        for later in decided.later:
            writer.later(later)
        if step is None:
            await writer.audit(decided.documents)
            return None
        return await writer.run(step, decided.documents)

    def _reread(self, decide: Callable[[], T]) -> T:
        """``decide`` in a worker thread, with fresh reads in one snapshot (after
        ``Unread`` or ``Stale`` on PostgreSQL's event loop); the revision read is
        handed to the writer, so the loop decides at it from now on."""
        with self.store.snapshot():
            result = decide()
            if self._pg_writer is not None:
                with self.store.read() as conn:
                    self._pg_writer.saw(org.revision(conn))
        return result

    def _write(self, step: Callable[[Connection], T]) -> T:
        """Run ``step`` in a write transaction that commits only after its audit
        entries are durable (batched with concurrent callers on SQLite)."""
        if self._held.later is not None:
            # Deciding on the event loop: a write here would stall every request.
            raise RuntimeError("a write while deciding on the event loop; hand it to the writer")
        if self._batcher is not None:
            return self._batcher.run(step)
        with self.store.write() as conn:
            return step(conn)


def _in_context(
    context: contextvars.Context, step: Callable[[Connection], T]
) -> Callable[[Connection], T]:
    def run(conn: Connection) -> T:
        return context.run(step, conn)

    return run
