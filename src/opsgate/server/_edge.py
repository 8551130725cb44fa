"""The server's edge: limits every request meets before any route reads it.

* **Body size.**  A declared ``Content-Length`` over ``max_body`` is refused before
  a byte of the body is read; a chunked body is counted as it arrives and refused
  when it passes the limit.  (One unauthenticated 200 MB POST used to cost 600 MB.)
* **Slow bodies.**  The whole body must arrive within ``body_timeout`` seconds of
  the request's start; a client dripping it is answered 408 and dropped.
* **Slow headers** are the HTTP protocol's business, below ASGI: see
  ``server._protocol``, which ``opsgate serve`` gives uvicorn.

Refusals use the API's JSON error envelope, with ``Connection: close`` (the unread
rest of the body must not be taken for the next request).  Routes that must never
answer an error status (Claude Code's http hook runs the tool on one) name their
own refusal in ``refusals``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate.server.errors import envelope

__all__ = ["HEADER_TIMEOUT", "EdgeLimits", "Refusal", "edge"]

Refusal = Callable[[str], Response]
HEADER_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    # The largest legitimate body is a hook's tool input (1 MiB, the hook's own
    # limit) inside a request's JSON, where escaping can double it.
    max_body: int = 2 * 1024 * 1024
    body_timeout: float = 30.0  # seconds for the whole body to arrive
    header_timeout: float = HEADER_TIMEOUT  # seconds for a request's headers (_protocol)


class _TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class _TooSlow(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s")


_CODES = {413: "too_large", 408: "request_timeout"}


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length header's value; None when absent; -1 when malformed."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


def _has_body(scope: Scope, declared: int | None) -> bool:
    if declared is not None:
        return declared != 0
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


class _Edge:
    def __init__(self, app: ASGIApp, limits: EdgeLimits, refusals: dict[str, Refusal]) -> None:
        self.app = app
        self.limits = limits
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if not _has_body(scope, declared):
            await self.app(scope, receive, send)  # nothing to count or wait for
            return
        if declared is not None and declared > self.limits.max_body:
            await self._refuse(scope, send, _TooLarge(self.limits.max_body))
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self._bounded(receive), tracked)
        except (_TooLarge, _TooSlow) as exc:
            if started:
                raise
            await self._refuse(scope, send, exc)

    def _bounded(self, receive: Receive) -> Receive:
        limit = self.limits.max_body
        deadline = asyncio.get_running_loop().time() + self.limits.body_timeout
        size = 0
        complete = False

        async def bounded() -> Message:
            nonlocal size, complete
            if complete:  # after the body: waits for a disconnect, unbounded
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _TooSlow(self.limits.body_timeout) from None
            if message["type"] != "http.request":
                complete = True
                return message
            size += len(message.get("body", b""))
            if size > limit:
                raise _TooLarge(limit)
            complete = not message.get("more_body", False)
            return message

        return bounded

    async def _refuse(self, scope: Scope, send: Send, exc: HTTPException) -> None:
        refusal = self.refusals.get(scope["path"])
        if refusal is not None:
            response = refusal(exc.detail)
        else:
            response = envelope(exc.status_code, _CODES[exc.status_code], exc.detail)
        response.headers["connection"] = "close"

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


def edge(app: ASGIApp, limits: EdgeLimits, refusals: dict[str, Refusal] | None = None) -> ASGIApp:
    """``app`` behind the edge's limits."""
    return _Edge(app, limits, dict(refusals or {}))
