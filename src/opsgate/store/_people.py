"""Users, sessions and API tokens.  Secrets are never stored: sessions and tokens
by SHA-256 of the secret, passwords by their argon2 hash (made by the service)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsgate.approvals.model import Role, User
from opsgate.approvals.service import TokenInfo
from opsgate.store._schema import api_tokens, sessions, users

__all__ = [
    "count_owners",
    "count_users",
    "delete_session",
    "get_token",
    "get_user",
    "insert_session",
    "insert_token",
    "insert_user",
    "list_tokens",
    "list_users",
    "revoke_token",
    "session_user",
    "set_disabled",
    "set_password_hash",
    "set_role",
    "token_by_hash",
    "touch_token",
    "user_by_name",
]


def _user(row: Any) -> User:
    return User(id=row.id, name=row.name, role=Role(row.role), disabled=bool(row.disabled))


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked=bool(row.revoked),
        prefix=row.prefix,
    )


def insert_user(conn: Connection, user: User, password_hash: str, now: float) -> None:
    conn.execute(
        sa.insert(users).values(
            id=user.id,
            name=user.name,
            role=user.role.value,
            password_hash=password_hash,
            disabled=user.disabled,
            created_at=now,
        )
    )


def count_users(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def count_owners(conn: Connection) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(users)
        .where(users.c.role == Role.OWNER.value, users.c.disabled.is_(False))
    )
    return int(conn.execute(query).scalar_one())


def user_by_name(conn: Connection, name: str) -> tuple[User, str] | None:
    row = conn.execute(sa.select(users).where(users.c.name == name)).first()
    return None if row is None else (_user(row), row.password_hash)


def get_user(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.created_at))]


def set_role(conn: Connection, user_id: str, role: Role) -> None:
    conn.execute(sa.update(users).where(users.c.id == user_id).values(role=role.value))


def set_disabled(conn: Connection, user_id: str, disabled: bool) -> None:
    conn.execute(sa.update(users).where(users.c.id == user_id).values(disabled=disabled))


def set_password_hash(conn: Connection, user_id: str, password_hash: str) -> None:
    conn.execute(sa.update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def insert_session(
    conn: Connection, secret_hash: str, user_id: str, now: float, expires_at: float
) -> None:
    conn.execute(
        sa.insert(sessions).values(
            secret_hash=secret_hash, user_id=user_id, created_at=now, expires_at=expires_at
        )
    )
    # Sweep this user's expired sessions while we hold the write transaction anyway.
    conn.execute(
        sa.delete(sessions).where(sessions.c.user_id == user_id, sessions.c.expires_at <= now)
    )


def session_user(conn: Connection, secret_hash: str, now: float) -> User | None:
    query = (
        sa.select(users)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.secret_hash == secret_hash, sessions.c.expires_at > now)
    )
    row = conn.execute(query).first()
    return None if row is None else _user(row)


def delete_session(conn: Connection, secret_hash: str) -> str | None:
    """Delete a session; return its user id (None if there was none)."""
    query = sa.delete(sessions).where(sessions.c.secret_hash == secret_hash)
    row = conn.execute(query.returning(sessions.c.user_id)).first()
    return None if row is None else str(row.user_id)


def insert_token(conn: Connection, info: TokenInfo, secret_hash: str) -> None:
    conn.execute(
        sa.insert(api_tokens).values(
            id=info.id,
            name=info.name,
            role=info.role.value,
            secret_hash=secret_hash,
            prefix=info.prefix,
            created_by=info.created_by,
            created_at=info.created_at,
            last_used_at=None,
            revoked=False,
        )
    )


# Every authenticated API call runs this: one constant statement, compiled once.
_TOKEN_BY_HASH = sa.select(api_tokens).where(api_tokens.c.secret_hash == sa.bindparam("digest"))


def token_by_hash(conn: Connection, secret_hash: str) -> TokenInfo | None:
    row = conn.execute(_TOKEN_BY_HASH, {"digest": secret_hash}).first()
    return None if row is None else _token(row)


def get_token(conn: Connection, token_id: str) -> TokenInfo | None:
    row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).first()
    return None if row is None else _token(row)


def list_tokens(conn: Connection, created_by: str | None = None) -> list[TokenInfo]:
    query = sa.select(api_tokens).order_by(api_tokens.c.created_at)
    if created_by is not None:
        query = query.where(api_tokens.c.created_by == created_by)
    return [_token(r) for r in conn.execute(query)]


def revoke_token(
    conn: Connection, token_id: str, by: str | None = None, at: float | None = None
) -> None:
    conn.execute(
        sa.update(api_tokens)
        .where(api_tokens.c.id == token_id)
        .values(revoked=True, revoked_by=by, revoked_at=at)
    )


def touch_token(conn: Connection, token_id: str, now: float) -> None:
    conn.execute(sa.update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))
