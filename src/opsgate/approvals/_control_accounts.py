"""Managing people's accounts (SPEC §6): disable and enable, passwords, and links
to accounts elsewhere (Slack), for the console, the API and the CLI alike.

Who may manage whom: an owner manages anyone; an admin manages members and
viewers (never another admin or an owner: that would be taking over an equal).
Nobody disables themselves, and the organisation keeps at least one active
owner.  Disabling a person or giving them a new password ends their sessions at
once; a disabled person cannot log in, and their tokens stop acting for them.

Links are explicit and proven on both sides: a person logged in here names their
account elsewhere (``start_link``), and only that account, in a request signed by
the provider, completes the link (``finish_link``) with the single-use code.  A
display name never links anything.
"""

from __future__ import annotations

import hashlib
import json
import secrets

from sqlalchemy import exc as sa_exc

from opsgate.approvals._control_base import LOCK_USERS, ControlBase
from opsgate.approvals.model import Denied, Role, User
from opsgate.approvals.service import Principal
from opsgate.audit import EventType
from opsgate.store import _console as console
from opsgate.store import _people as people
from opsgate.store import serialize

__all__ = ["LINK_SECONDS", "AccountsMixin"]

LINK_SECONDS = 600.0  # a pending link's code lives this long
_PROVIDERS = frozenset({"slack"})


def _code_key(code: str) -> str:
    """Codes are stored hashed: the database alone completes no link."""
    return "link:" + hashlib.sha256(code.encode("utf-8")).hexdigest()[:58]


def _check_provider(provider: str) -> None:
    if provider not in _PROVIDERS:
        raise Denied(f"unknown account provider {provider!r}", status=422, code="bad_provider")


class AccountsMixin(ControlBase):
    def _manageable(self, actor: Principal, user: User, what: str) -> None:
        self._require(actor, Role.ADMIN, what, person=True)
        if actor.role is not Role.OWNER and user.role.rank >= Role.ADMIN.rank:
            raise Denied(f"{what} for an {user.role.value} needs an owner")

    def set_disabled(self, actor: Principal, user_id: str, disabled: bool) -> User:
        """Disable (ending every session) or enable a person."""
        what = "disabling people" if disabled else "enabling people"
        with self.store.write() as conn:
            serialize(conn, LOCK_USERS)
            actor = self._fresh(conn, actor)
            user = people.get_user(conn, user_id)
            if user is None:
                raise Denied(f"no user {user_id!r}", status=404, code="not_found")
            self._manageable(actor, user, what)
            if disabled and user.id == actor.id:
                raise Denied("nobody disables themselves; ask another admin or owner")
            if user.disabled == disabled:
                return user
            if disabled and user.role is Role.OWNER and people.count_owners(conn) <= 1:
                raise Denied(
                    "the organisation must keep at least one active owner",
                    status=409,
                    code="last_owner",
                )
            people.set_disabled(conn, user.id, disabled)
            ended = console.delete_sessions(conn, user.id) if disabled else 0
            self._append(
                EventType.USER_DISABLED if disabled else EventType.USER_ENABLED,
                actor,
                target=user.name,
                result={"user": user.id, "sessions_ended": ended},
            )
        return User(id=user.id, name=user.name, role=user.role, disabled=disabled)

    def set_password(
        self, actor: Principal, user_id: str, password: str, *, current: str | None = None
    ) -> User:
        """A new password, ending the person's sessions.  For yourself, ``current``
        must be your password now; for someone else, the management rule applies."""
        from opsgate.approvals._control_people import MIN_PASSWORD, hash_password, verify_password

        if len(password) < MIN_PASSWORD:
            raise Denied(
                f"a password has at least {MIN_PASSWORD} characters",
                status=422,
                code="weak_password",
            )
        new_hash = hash_password(password)  # slow on purpose: outside the transaction
        with self.store.write() as conn:
            serialize(conn, LOCK_USERS)
            actor = self._fresh(conn, actor)
            user = people.get_user(conn, user_id)
            if user is None:
                raise Denied(f"no user {user_id!r}", status=404, code="not_found")
            if user.id == actor.id and actor.kind == "user":
                found = people.user_by_name(conn, user.name)
                if current is None or found is None or not verify_password(found[1], current):
                    raise Denied("your current password is wrong", status=422, code="bad_password")
            else:
                self._manageable(actor, user, "setting passwords")
            people.set_password_hash(conn, user.id, new_hash)
            ended = console.delete_sessions(conn, user.id)
            self._append(
                EventType.PASSWORD_CHANGED,
                actor,
                target=user.name,
                result={"user": user.id, "sessions_ended": ended},
            )
        return user

    # --- links to accounts elsewhere ------------------------------------------------------------

    def start_link(self, actor: Principal, provider: str, claimed: str) -> str:
        """A single-use code for linking ``actor`` to ``claimed`` (an id at the
        provider); only that account, in a request the provider signs, uses it."""
        _check_provider(provider)
        code = secrets.token_urlsafe(24)
        payload = json.dumps({"provider": provider, "claimed": claimed, "user": actor.id})
        with self.store.write() as conn:
            actor = self._fresh(conn, actor)
            self._require(actor, Role.VIEWER, "linking accounts", person=True)
            now = self.clock()
            console.put_once(
                conn, _code_key(code), "link", payload, now + LINK_SECONDS, now, owner=actor.id
            )
        return code

    def finish_link(self, provider: str, code: str, external_id: str, seen_as: str) -> User:
        """Complete a link: ``seen_as`` is the account that signed the request (it
        must be the one claimed); ``external_id`` is what the link is stored as."""
        _check_provider(provider)
        with self.store.write() as conn:
            now = self.clock()
            stored = console.take_once(conn, _code_key(code), "link", now)
            if stored is None:
                raise Denied(
                    "this link has expired or was used; start again", status=410, code="gone"
                )
            pending = json.loads(stored)
            if pending.get("provider") != provider or pending.get("claimed") != seen_as:
                raise Denied("this link was made for another account", code="wrong_account")
            user = people.get_user(conn, str(pending.get("user")))
            if user is None or user.disabled:
                raise Denied("the person who asked for this link is disabled")
            console.put_link(conn, provider, external_id, user.id, now)
            principal = Principal(id=user.id, name=user.name, role=user.role, user=user)
            self._append(
                EventType.ACCOUNT_LINKED,
                principal,
                target=user.name,
                result={"user": user.id, "provider": provider, "account": external_id},
            )
        return user

    def cancel_link(self, code: str) -> None:
        """Drop a pending link (its account said "not me")."""
        with self.store.write() as conn:
            console.take_once(conn, _code_key(code), "link", self.clock())

    def unlink_account(self, actor: Principal, provider: str, user_id: str) -> str | None:
        """Remove a person's link (their own, or anyone's for admins and owners)."""
        _check_provider(provider)
        with self.store.write() as conn:
            actor = self._fresh(conn, actor)
            if user_id != actor.id:
                self._require(actor, Role.ADMIN, "unlinking someone else's account", person=True)
            user = people.get_user(conn, user_id)
            if user is None:
                raise Denied(f"no user {user_id!r}", status=404, code="not_found")
            removed = console.delete_link(conn, provider, user_id)
            if removed is not None:
                self._append(
                    EventType.ACCOUNT_UNLINKED,
                    actor,
                    target=user.name,
                    result={"user": user.id, "provider": provider, "account": removed},
                )
        return removed

    def account_links(self, actor: Principal, provider: str) -> dict[str, str]:
        """user id → linked account, for everyone signed in (the People page)."""
        _check_provider(provider)
        with self.store.read() as conn:
            actor = self._fresh(conn, actor)
            self._require(actor, Role.VIEWER, "listing linked accounts")
            return console.links(conn, provider)

    def linked_principal(self, provider: str, external_id: str) -> Principal | None:
        """The active person linked to ``external_id``, as a principal: they act with
        their own role, through the same service calls as in the console."""
        _check_provider(provider)
        with self.store.read() as conn:
            user_id = console.linked_user(conn, provider, external_id)
            user = people.get_user(conn, user_id) if user_id else None
        if user is None or user.disabled:
            return None
        return Principal(id=user.id, name=user.name, role=user.role, kind="user", user=user)

    # --- single-use values and Slack messages (the console and the Slack integration) ----

    def keep_once(
        self, kind: str, key: str, payload: str, seconds: float, owner: str | None = None
    ) -> bool:
        """Keep ``payload`` under ``key`` for ``seconds``, for one ``take_once``;
        False if the key is already kept (a replay, for a guard that only records)."""
        try:
            with self.store.write() as conn:
                now = self.clock()
                return console.put_once(conn, key, kind, payload, now + seconds, now, owner=owner)
        except sa_exc.IntegrityError:
            return False  # a concurrent transaction kept the same key first

    def take_once(self, kind: str, key: str, owner: str | None = None) -> str | None:
        with self.store.write() as conn:
            return console.take_once(conn, key, kind, self.clock(), owner=owner)

    def slack_message(self, card_id: str) -> tuple[str, str] | None:
        """(channel, ts) of the Slack message that shows ``card_id``."""
        with self.store.read() as conn:
            return console.get_slack_message(conn, card_id)

    def remember_slack_message(self, card_id: str, channel: str, ts: str) -> None:
        with self.store.write() as conn:
            console.put_slack_message(conn, card_id, channel, ts, self.clock())
