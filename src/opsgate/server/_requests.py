"""A request id for every request, and the access log line that names it.

The outermost layer of the app.  Every request gets an id of opsgate's own, bound
to the request's context (``audit._request``): the audit entries of the decisions
it made carry it as ``request``, so an id names one request.  The caller's
``X-Request-Id``, when well formed (1-64 letters, digits and ``._:-``, what proxies
and tracing headers use), is kept as the trace id — a load balancer's id then
follows the request through: it is returned in the ``X-Request-Id`` response header
(else opsgate's own id is), is the ``request_id`` of every log line written while
serving it, and the entries' ``caller_request`` — never their ``request``: any
caller can send any value, an agent the id of a person's request.  With the access log on
(JSON logs), each request ends with one ``opsgate.access`` line: method, path,
status, duration and request id (never the query string: it may hold a token).
"""

from __future__ import annotations

import logging
import os
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate.audit._request import CALLER_REQUEST_ID, REQUEST_ID

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
        own = os.urandom(8).hex()
        caller = _incoming(scope)
        request_id = caller or own  # the trace id: returned, and on every log line
        token = REQUEST_ID.set(own)
        caller_token = CALLER_REQUEST_ID.set(caller)
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
            CALLER_REQUEST_ID.reset(caller_token)
            REQUEST_ID.reset(token)

    return app
