"""The id of the HTTP request being served, for the audit entries it makes.

Set by the server for each request (``server._requests``) and read when an entry's
document is made (``AuditLog.document``), so a decision's entry names the request
that asked for it — the same id the server logs and returns in ``X-Request-Id``.
Unset (None) outside a request: the hook, the CLI.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["REQUEST_ID"]

REQUEST_ID: ContextVar[str | None] = ContextVar("opsgate_request_id", default=None)
