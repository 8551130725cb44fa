"""The control plane's tables, as SQLAlchemy Core metadata: the current shape.

Times are epoch seconds (double precision), as in the value types.  JSON columns
hold the exact action input and lists; ``cards.version`` is bumped by every
update so a decision can be a conditional ``UPDATE … WHERE version = ?``.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "account_links",
    "api_tokens",
    "cards",
    "executions",
    "grants",
    "inventory_targets",
    "metadata",
    "notifications",
    "one_time",
    "schema_version",
    "secrets",
    "sessions",
    "settings",
    "slack_messages",
    "users",
]

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.Double, nullable=False),
)

# One row, bumped by triggers (migration 3) on every change to users, API tokens,
# settings and inventory: a reader that sees the same revision inside its
# transaction may reuse what it derived from those tables (see ``revision``).
org_revision = sa.Table(
    "org_revision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rev", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("secret_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(40), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("last_used_at", sa.Double, nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    # v7: when and by whom (a card it requested is cancelled saying so)
    sa.Column("revoked_at", sa.Double, nullable=True),
    sa.Column("revoked_by", sa.String(40), nullable=True),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("updated_by", sa.String(40), nullable=True),
)

inventory_targets = sa.Table(
    "inventory_targets",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("environment", sa.String(16), nullable=False),
    sa.Column("access", sa.String(16), nullable=False),
    sa.Column("match", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("connection", sa.JSON, nullable=True),  # v2: how the executor reaches it
    sa.Column("updated_by", sa.String(40), nullable=True),  # v7: who changed it last
)

cards = sa.Table(
    "cards",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("environment", sa.String(16), nullable=False),
    sa.Column("impact", sa.String(16), nullable=False),
    sa.Column("action_kind", sa.String(64), nullable=False),
    sa.Column("action", sa.JSON, nullable=False),
    sa.Column("action_hash", sa.String(64), nullable=False),
    sa.Column("requested_by", sa.String(40), nullable=False),
    sa.Column("requested_by_name", sa.String(64), nullable=False),
    sa.Column("reasoning", sa.Text, nullable=False, default=""),
    sa.Column("rollback", sa.Text, nullable=False, default=""),
    sa.Column("confirm", sa.Text, nullable=True),
    sa.Column("approvers_needed", sa.Integer, nullable=False, default=1),
    sa.Column("approvals", sa.JSON, nullable=False),
    sa.Column("decided_by", sa.String(40), nullable=True),
    sa.Column("decided_at", sa.Double, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("result", sa.JSON, nullable=False),
    # v4: what the approval also covers (cwd, file hashes, context): approvals._binding
    sa.Column("binding", sa.JSON, nullable=True),
    # v7: the card's lifecycle past approval (approvals._lifecycle): who approved, what
    # happened next, the facts its decision rested
    # on (to decide it again after a change) and the organisation revision it was
    # last judged at (a card judged before the latest change is judged again).
    sa.Column("approved_by", sa.JSON, nullable=True),
    sa.Column("outcome", sa.JSON, nullable=True),
    sa.Column("basis", sa.JSON, nullable=True),
    sa.Column("judged_rev", sa.BigInteger, nullable=True),
    # v8: the rollback plan opsgate knows for the action (approvals._undo).
    sa.Column("undo", sa.Text, nullable=True),
    sa.Index("ix_cards_state_expires", "state", "expires_at"),
    sa.Index("ix_cards_created", "created_at", "id"),
    sa.Index("ix_cards_requested_by", "requested_by"),
    # v9: a proposal looks up the denied retries of its very action (``recent_denial``);
    # by requester alone that read grew with every card the requester ever made.
    sa.Index("ix_cards_action_hash", "action_hash"),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("card_id", sa.String(40), sa.ForeignKey("cards.id"), nullable=False),
    sa.Column("action_hash", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Column("uses_left", sa.Integer, nullable=False),
    # v4: the approved impact and environment; a retry classified above is not covered
    sa.Column("impact", sa.String(16), nullable=True),
    sa.Column("environment", sa.String(16), nullable=True),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Double, nullable=False),
    sa.Column("delivered_at", sa.Double, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_notifications_due", "delivered_at", "next_attempt_at"),
)

# v2: governed execution (opsgate.execute).
secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("nonce", sa.String(32), nullable=False),  # base64, 12 bytes
    sa.Column("ciphertext", sa.Text, nullable=False),  # base64 AES-GCM, AAD = name
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("updated_by", sa.String(40), nullable=True),
    # v5: where the value comes from: NULL (a stored value) or "command" (the
    # ciphertext then seals an owner's credential-helper command, not a value)
    sa.Column("source", sa.String(16), nullable=True),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("card_id", sa.String(40), primary_key=True),  # the card, or x_… for reads
    sa.Column("operation", sa.String(128), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),  # secret references, never values
    sa.Column("plan", sa.JSON, nullable=False),  # rendered steps and the rollback plan
    sa.Column("requested_by", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # planned running completed failed
    sa.Column("owner", sa.String(128), nullable=True),  # which executor claimed it
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("started_at", sa.Double, nullable=True),
    sa.Column("heartbeat_at", sa.Double, nullable=True),
    sa.Column("finished_at", sa.Double, nullable=True),
    sa.Column("exit_status", sa.Integer, nullable=True),
    sa.Column("duration", sa.Double, nullable=True),
    sa.Column("output", sa.Text, nullable=False, default=""),  # redacted
    sa.Column("reason", sa.Text, nullable=True),  # why it failed
    sa.Column("captured", sa.JSON, nullable=False),  # values captured before the write
    sa.Column("undo_of", sa.String(40), nullable=True),
    sa.Index("ix_executions_status", "status", "heartbeat_at"),
)

# v5: the console and Slack (opsgate.web, opsgate.server.slack).

# A person's account elsewhere, linked explicitly (``provider`` "slack": the external
# id is "<team id>:<user id>", learned from Slack's own signed request).
account_links = sa.Table(
    "account_links",
    metadata,
    sa.Column("provider", sa.String(16), primary_key=True),
    sa.Column("external_id", sa.String(128), primary_key=True),
    sa.Column("user_id", sa.String(40), sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("created_at", sa.Double, nullable=False),
)

# The Slack message that shows a card, to update it when the card is decided.
slack_messages = sa.Table(
    "slack_messages",
    metadata,
    sa.Column("card_id", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("ts", sa.String(32), nullable=False),
    sa.Column("posted_at", sa.Double, nullable=False),
)

# Short-lived, single-use values shared by every replica: a form's answer shown once
# after its redirect (encrypted under the session's secret), a Slack request already
# seen (replay protection), a pending account link's code (hashed).
one_time = sa.Table(
    "one_time",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("payload", sa.Text, nullable=False, default=""),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Index("ix_one_time_expires", "expires_at"),
)
