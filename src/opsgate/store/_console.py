"""Account links, Slack messages and one-time values (schema v5).

Plain functions over a ``Connection``, like the rest of the store: the service
(``approvals._control_accounts``) and the Slack integration compose them inside
their own transactions.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsgate.store._schema import account_links, one_time, sessions, slack_messages

__all__ = [
    "delete_link",
    "delete_sessions",
    "get_slack_message",
    "link_of",
    "linked_user",
    "links",
    "put_link",
    "put_once",
    "put_slack_message",
    "take_once",
]


# --- account links -------------------------------------------------------------------------


def linked_user(conn: Connection, provider: str, external_id: str) -> str | None:
    query = sa.select(account_links.c.user_id).where(
        account_links.c.provider == provider, account_links.c.external_id == external_id
    )
    return conn.execute(query).scalar()


def links(conn: Connection, provider: str) -> dict[str, str]:
    """user id → external id, for every link at ``provider``."""
    query = sa.select(account_links.c.user_id, account_links.c.external_id).where(
        account_links.c.provider == provider
    )
    return {str(r.user_id): str(r.external_id) for r in conn.execute(query)}


def link_of(conn: Connection, provider: str, user_id: str) -> str | None:
    """The external id ``user_id`` is linked to at ``provider`` (one per provider)."""
    query = sa.select(account_links.c.external_id).where(
        account_links.c.provider == provider, account_links.c.user_id == user_id
    )
    return conn.execute(query).scalar()


def put_link(conn: Connection, provider: str, external_id: str, user_id: str, now: float) -> None:
    """Link ``external_id`` to ``user_id``, replacing whatever either was linked to."""
    conn.execute(
        sa.delete(account_links).where(
            account_links.c.provider == provider,
            sa.or_(account_links.c.external_id == external_id, account_links.c.user_id == user_id),
        )
    )
    conn.execute(
        sa.insert(account_links).values(
            provider=provider, external_id=external_id, user_id=user_id, created_at=now
        )
    )


def delete_link(conn: Connection, provider: str, user_id: str) -> str | None:
    """Remove ``user_id``'s link at ``provider``; the external id it had, if any."""
    found = link_of(conn, provider, user_id)
    if found is not None:
        conn.execute(
            sa.delete(account_links).where(
                account_links.c.provider == provider, account_links.c.user_id == user_id
            )
        )
    return found


def delete_sessions(conn: Connection, user_id: str) -> int:
    """End every session of ``user_id`` (disabled, or a new password)."""
    return int(conn.execute(sa.delete(sessions).where(sessions.c.user_id == user_id)).rowcount)


# --- Slack messages ----------------------------------------------------------------------------


def get_slack_message(conn: Connection, card_id: str) -> tuple[str, str] | None:
    row = conn.execute(
        sa.select(slack_messages.c.channel, slack_messages.c.ts).where(
            slack_messages.c.card_id == card_id
        )
    ).first()
    return None if row is None else (str(row.channel), str(row.ts))


def put_slack_message(conn: Connection, card_id: str, channel: str, ts: str, now: float) -> None:
    conn.execute(sa.delete(slack_messages).where(slack_messages.c.card_id == card_id))
    conn.execute(
        sa.insert(slack_messages).values(card_id=card_id, channel=channel, ts=ts, posted_at=now)
    )


# --- one-time values ---------------------------------------------------------------------------


def put_once(
    conn: Connection,
    key: str,
    kind: str,
    payload: str,
    expires_at: float,
    now: float,
    owner: str | None = None,
) -> bool:
    """Store a single-use value; False if ``key`` is already there (and unexpired):
    the caller has seen it before (a replay).  Expired values are swept here."""
    conn.execute(sa.delete(one_time).where(one_time.c.expires_at <= now))
    taken = conn.execute(sa.select(one_time.c.key).where(one_time.c.key == key)).first()
    if taken is not None:
        return False
    conn.execute(
        sa.insert(one_time).values(
            key=key, kind=kind, owner=owner, payload=payload, expires_at=expires_at
        )
    )
    return True


def take_once(
    conn: Connection, key: str, kind: str, now: float, owner: str | None = None
) -> str | None:
    """The value stored under ``key`` (of this kind and owner, unexpired), deleted as
    it is read: nobody gets it twice."""
    query = sa.delete(one_time).where(
        one_time.c.key == key, one_time.c.kind == kind, one_time.c.expires_at > now
    )
    if owner is not None:
        query = query.where(one_time.c.owner == owner)
    row = conn.execute(query.returning(one_time.c.payload)).first()
    return None if row is None else str(row.payload)
