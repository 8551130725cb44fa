"""The id of the HTTP request being served, for the audit entries it makes.

Set by the server for each request (``server._requests``) and read when an entry's
document is made (``AuditLog.document``), so a decision's entry names the request
that asked for it.  ``REQUEST_ID`` is opsgate's own, made afresh for every request:
it is the entry's ``request``, so one id is one request.  ``CALLER_REQUEST_ID`` is
the ``X-Request-Id`` the caller sent (a proxy's trace id), kept apart as the
entry's ``caller_request``: any caller can send any value — an agent the id of a
person's request — so it never stands for the request itself.  Both unset (None)
outside a request: the hook, the CLI.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["CALLER_REQUEST_ID", "REQUEST_ID"]

REQUEST_ID: ContextVar[str | None] = ContextVar("opsgate_request_id", default=None)
CALLER_REQUEST_ID: ContextVar[str | None] = ContextVar("opsgate_caller_request_id", default=None)
