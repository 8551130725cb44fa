"""A request id for every request, and the access log line that names it.

The outermost layer of the app: it takes the caller's ``X-Request-Id`` when it is
well formed (1-64 letters, digits and ``._:-``, what proxies and tracing headers
use) — a load balancer's id then follows the request through — and otherwise makes
one.  The id is returned in the ``X-Request-Id`` response header, bound to the
request's context (``audit._request``: the audit entries of the decisions it made
carry it) and to every log line written while serving it.  With the access log on
(JSON logs), each request ends with one ``opsgate.access`` line: method, path,
status, duration and request id (never the query string: it may hold a token).
"""

from __future__ import annotations

import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate.audit._request import REQUEST_ID

__all__ = ["HEADER", "request_ids"]

HEADER = "x-request-id"
_HEADER = HEADER.encode()
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")

access = logging.getLogger("opsgate.access")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER:
            return value.decode("ascii") if _WELL_FORMED.fullmatch(value) else None
    return None


def request_ids(inner: ASGIApp, *, access_log: bool = False) -> ASGIApp:
    """``inner`` with a request id bound to every HTTP request."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        request_id = _incoming(scope) or os.urandom(8).hex()
        token = REQUEST_ID.set(request_id)
        status = [0]
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), (_HEADER, request_id.encode())]
            await send(message)

        try:
            await inner(scope, receive, send_with_id)
        finally:
            if access_log and access.isEnabledFor(logging.INFO):
                access.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status[0],
                    extra={
                        "http": {
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status[0],
                            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                            "client": (scope.get("client") or ("", 0))[0],
                        }
                    },
                )
            REQUEST_ID.reset(token)

    return app
