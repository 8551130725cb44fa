"""People, sessions and API tokens (SPEC §6).

Passwords: argon2id (argon2-cffi defaults).  Session and token secrets come from
``secrets.token_urlsafe`` and are stored only as SHA-256 hashes: a stolen database
holds nothing that logs in.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from opsgate.approvals._control_base import LOCK_USERS, event, secret_hash
from opsgate.approvals._control_rejudge import RejudgeMixin
from opsgate.approvals.model import Denied, Role, User
from opsgate.approvals.service import Principal, TokenInfo
from opsgate.audit import EventType
from opsgate.store import _org as org
from opsgate.store import _people as people
from opsgate.store import serialize

__all__ = ["PeopleMixin"]

SESSION_SECONDS = 12 * 3600
TOKEN_TOUCH_SECONDS = 60.0  # last_used_at is refreshed at most once a minute per token
TOKEN_CACHE_SIZE = 4096  # token hash → principal entries kept (cleared when full)
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return bool(_HASHER.verify(stored_hash, password))
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise Denied(
            f"a {what} name is 1–64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            status=422,
            code="invalid_name",
        )


class PeopleMixin(RejudgeMixin):
    def create_user(self, actor: Principal | None, name: str, password: str, role: Role) -> User:
        _check_name(name, "user")
        if len(password) < MIN_PASSWORD:
            raise Denied(
                f"a password has at least {MIN_PASSWORD} characters",
                status=422,
                code="weak_password",
            )
        if role is Role.AGENT:
            raise Denied("agents use API tokens, not user accounts", status=422, code="bad_role")
        password_hash = _HASHER.hash(password)  # slow on purpose: outside the transaction
        user = User(id=f"u_{secrets.token_hex(8)}", name=name, role=role)
        try:
            with self.store.write() as conn:
                serialize(conn, LOCK_USERS)
                if actor is None:
                    if people.count_users(conn):
                        raise Denied(
                            "the first owner exists already; an admin or owner adds users",
                            status=401,
                            code="unauthenticated",
                        )
                    if role is not Role.OWNER:
                        raise Denied("the first user is the owner", status=422, code="bad_role")
                else:
                    actor = self._fresh(conn, actor)
                    self._require(actor, Role.ADMIN, "adding users", person=True)
                    if role.rank > actor.role.rank:
                        raise Denied(f"an {actor.role.value} cannot create an {role.value}")
                people.insert_user(conn, user, password_hash, self.clock())
                self._append(
                    event("user.created", EventType.ROLE_CHANGED),
                    actor,
                    target=name,
                    result={
                        "change": "user.created",
                        "user": user.id,
                        "name": name,
                        "role": role.value,
                    },
                )
        except sa_exc.IntegrityError as exc:
            raise Denied(
                f"a user named {name!r} exists already", status=409, code="exists"
            ) from exc
        return user

    def login(self, name: str, password: str) -> tuple[User, str]:
        with self.store.read() as conn:
            found = people.user_by_name(conn, name)
        ok = False
        try:
            # The dummy hash keeps an unknown name as slow as a wrong password.
            ok = _HASHER.verify(found[1] if found else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            ok = False
        user = found[0] if found else None
        failure = None if ok and user else "wrong name or password"
        if user is not None and user.disabled:
            failure = "account disabled"
        if failure is not None or user is None:
            self._append(
                EventType.USER_LOGIN,
                None,
                target=name,
                result={"outcome": "failure", "name": name, "reason": failure},
            )
            raise Denied("wrong name or password", status=401, code="invalid_credentials")
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store.write() as conn:
            if found and _HASHER.check_needs_rehash(found[1]):
                people.set_password_hash(conn, user.id, _HASHER.hash(password))
            people.insert_session(conn, secret_hash(secret), user.id, now, now + SESSION_SECONDS)
            principal = Principal(id=user.id, name=user.name, role=user.role, user=user)
            self._append(
                EventType.USER_LOGIN,
                principal,
                target=name,
                result={"outcome": "success", "user": user.id},
            )
        return user, secret

    def session(self, secret: str) -> Principal | None:
        with self.store.read() as conn:
            user = people.session_user(conn, secret_hash(secret), self.clock())
        if user is None or user.disabled:
            return None
        return Principal(id=user.id, name=user.name, role=user.role, kind="user", user=user)

    def logout(self, secret: str) -> None:
        with self.store.write() as conn:
            user_id = people.delete_session(conn, secret_hash(secret))
            if user_id is not None:
                user = people.get_user(conn, user_id)
                principal = (
                    Principal(id=user.id, name=user.name, role=user.role, user=user)
                    if user
                    else None
                )
                self._append(EventType.USER_LOGOUT, principal, result={"user": user_id})

    def list_users(self, actor: Principal) -> list[User]:
        with self.store.read() as conn:
            actor = self._fresh(conn, actor)
            self._require(actor, Role.VIEWER, "listing users")
            return people.list_users(conn)

    def set_role(self, actor: Principal, user_id: str, role: Role) -> User:
        if role is Role.AGENT:
            raise Denied("agents use API tokens, not user accounts", status=422, code="bad_role")
        with self.store.write() as conn:
            serialize(conn, LOCK_USERS)
            actor = self._fresh(conn, actor)
            self._require(actor, Role.OWNER, "changing roles", person=True)
            user = people.get_user(conn, user_id)
            if user is None:
                raise Denied(f"no user {user_id!r}", status=404, code="not_found")
            if (
                user.role is Role.OWNER
                and role is not Role.OWNER
                and people.count_owners(conn) <= 1
            ):
                raise Denied(
                    "the organisation must keep at least one owner; make another owner first",
                    status=409,
                    code="last_owner",
                )
            people.set_role(conn, user_id, role)
            self._append(
                EventType.ROLE_CHANGED,
                actor,
                target=user.name,
                result={"user": user_id, "old": user.role.value, "new": role.value},
            )
        return User(id=user.id, name=user.name, role=role, disabled=user.disabled)

    def create_token(self, actor: Principal, name: str, role: Role) -> tuple[TokenInfo, str]:
        _check_name(name, "token")
        secret = "og_" + secrets.token_urlsafe(32)
        with self.store.write() as conn:
            serialize(conn, LOCK_USERS)
            actor = self._fresh(conn, actor)
            self._require(actor, Role.MEMBER, "creating API tokens", person=True)
            # One live token per name and creator: two rows told apart only by their
            # first characters invite revoking the wrong one.
            if any(
                t.name == name and not t.revoked
                for t in people.list_tokens(conn, created_by=actor.id)
            ):
                raise Denied(
                    f"you already have a token named {name!r}; revoke it first or choose "
                    "another name",
                    status=409,
                    code="exists",
                )
            if role is not Role.AGENT and (
                actor.role.rank < Role.ADMIN.rank or role.rank > actor.role.rank
            ):
                raise Denied(
                    f"a {role.value} token needs an admin or owner with at least that "
                    f"role; you are {actor.role.value}"
                )
            info = TokenInfo(
                id=f"t_{secrets.token_hex(8)}",
                name=name,
                role=role,
                created_by=actor.id,
                created_at=self.clock(),
                prefix=secret[:10],
            )
            people.insert_token(conn, info, secret_hash(secret))
            self._append(
                event("token.created", EventType.ROLE_CHANGED),
                actor,
                target=name,
                result={
                    "change": "token.created",
                    "token": info.id,
                    "name": name,
                    "role": role.value,
                    "prefix": info.prefix,
                },
            )
        return info, secret

    def token(self, secret: str) -> Principal | None:
        digest = secret_hash(secret)
        now = self.clock()
        known = self.store.known_revision()  # deciding on PostgreSQL's event loop
        cached = self._token_cache.get(digest)
        found: tuple[int, Principal | None, float | None] = (
            cached
            if known is not None and cached is not None and cached[0] == known
            else self._token_read(digest)
        )
        revision, principal, last_used = found
        if principal is None:
            return None
        if (last_used or 0.0) < now - TOKEN_TOUCH_SECONDS:
            # Touching bumps the revision (and so refreshes this cache entry); until it
            # lands, the entry says "just used", so concurrent requests touch once.
            self._token_cache[digest] = (revision, principal, now)
            token_id = principal.id

            def touch(conn: Connection) -> None:
                people.touch_token(conn, token_id, now)

            later = self._held.later
            if later is not None:  # deciding on the event loop: never wait for a write here
                later.append(touch)
            else:
                with self.store.write() as conn:
                    touch(conn)
        return principal

    def _token_read(self, digest: str) -> tuple[int, Principal | None, float | None]:
        """(revision, principal or None, last used) for a token's hash, as stored now."""
        with self.store.read() as conn:
            # Revoking a token, or changing its creator, bumps the organisation's
            # revision (triggers), so a cached answer seen under the same revision in
            # this transaction is still exact: one small read instead of two lookups.
            revision = org.revision(conn)
            cached = self._token_cache.get(digest)
            if cached is not None and cached[0] == revision:
                return cached
            info = people.token_by_hash(conn, digest)
            if info is None or info.revoked:
                return revision, None, None
            found = self._token_principal(conn, info.id, info.name, info.role, info.created_by)
            if found is None:
                return revision, None, None
            if len(self._token_cache) >= TOKEN_CACHE_SIZE:
                self._token_cache.clear()
            self._token_cache[digest] = (revision, found, info.last_used_at)
            return revision, found, info.last_used_at

    def list_tokens(self, actor: Principal) -> list[TokenInfo]:
        with self.store.read() as conn:
            actor = self._fresh(conn, actor)
            self._require(actor, Role.MEMBER, "listing API tokens", person=True)
            if actor.role.rank >= Role.ADMIN.rank:
                return people.list_tokens(conn)
            return people.list_tokens(conn, created_by=actor.id)

    def revoke_token(self, actor: Principal, token_id: str) -> TokenInfo:
        with self.store.write() as conn:
            actor = self._fresh(conn, actor)
            self._require(actor, Role.MEMBER, "revoking API tokens", person=True)
            info = people.get_token(conn, token_id)
            if info is None or (actor.role.rank < Role.ADMIN.rank and info.created_by != actor.id):
                raise Denied(f"no token {token_id!r}", status=404, code="not_found")
            if info.revoked:
                return info
            people.revoke_token(conn, token_id, actor.id, self.clock())
            self._append(
                event("token.revoked", EventType.ROLE_CHANGED),
                actor,
                target=info.name,
                result={
                    "change": "token.revoked",
                    "token": info.id,
                    "name": info.name,
                    "role": info.role.value,
                },
            )
            cancelled = self._rejudge(conn, actor)  # the cards it asked for
        self._tell("card.cancelled", cancelled)
        return dataclasses.replace(info, revoked=True)
