"""A lean path for the hot routes (evaluate, propose, grants/check, grants/consume).

FastAPI's per-request machinery — its middleware stack (error, exception,
telemetry, body-limit and exit-stack layers, each wrapping ``send``), routing,
dependency solving — costs more CPU than the decision itself.  So the hot routes
are answered in front of all of it: a small ASGI layer, placed outermost in the
app's middleware stack, recognises ``POST`` to a hot path, parses and validates the
body with the route's own Pydantic model, checks credentials with the same
``presented`` and calls the same endpoint function, so the answer is the same.
An exception is answered by the app's own exception handlers (the same JSON
envelope).  Anything unusual — no body, a body over the limit, not JSON, a body
the model rejects — is handed to the full stack (the body replayed), so errors
keep their exact shape and order.  The FastAPI routes stay registered: they
document the API (OpenAPI lists only them) and answer the unusual requests.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate.server.auth import Credentials, presented

__all__ = ["MAX_BODY", "Endpoint", "Gate", "Observe", "RawEndpoint", "install_fast_routes"]

Endpoint = Callable[[Any, Credentials, Request], Awaitable[Response]]
RawEndpoint = Callable[[Request], Awaitable[Response]]
# A gate sees a POST's body first and answers it (a refusal) or lets it through (None).
Gate = Callable[[Request, bytes], Response | None]
Observe = Callable[[str, float], None]


def _is_json(content_type: str | None) -> bool:
    """FastAPI parses the body as JSON when the header is absent or names
    ``application/json`` or ``application/*+json``; anything else goes the slow way."""
    if content_type is None:
        return True
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


MAX_BODY = 1024 * 1024  # larger bodies go the slow way (and meet its limit)


class _Front:
    """The outermost layer of the app's middleware stack: hot routes here, the rest
    to ``inner`` (the stack FastAPI built)."""

    def __init__(
        self,
        inner: ASGIApp,
        app: FastAPI,
        hot: dict[str, tuple[Endpoint, type[BaseModel]]],
        raw: dict[str, RawEndpoint],
        gates: dict[str, Gate],
        observe: Observe | None = None,
    ) -> None:
        self.inner = inner
        self.app = app
        self.hot = hot
        self.raw = raw
        self.gates = gates
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["method"] == "POST":
            route = self.hot.get(scope["path"])
            if route is None and scope["path"] in self.raw:
                # A raw endpoint reads its own body and answers every error itself.
                started = time.perf_counter()
                response = await self.raw[scope["path"]](Request(scope, receive))
                await response(scope, receive, send)
                self._answered(scope, started)
                return
            gate = self.gates.get(scope["path"]) if route is None else None
            if gate is not None:
                body, complete = await _read(receive)
                refusal = gate(Request(scope, receive), body) if complete else None
                if refusal is not None:
                    await refusal(scope, receive, send)
                    return
                await self.inner(scope, _replay(body, complete, receive), send)
                return
        if route is None:
            await self.inner(scope, receive, send)
            return
        endpoint, model = route
        started = time.perf_counter()
        body, complete = await _read(receive)
        request = Request(scope, receive)
        parsed = None
        if complete and _is_json(request.headers.get("content-type")):
            parsed = _parse(model, body)
        if parsed is None:
            await self.inner(scope, _replay(body, complete, receive), send)
            return
        try:
            credentials = await presented(request)
            response = await endpoint(parsed, credentials, request)
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)
        self._answered(scope, started)

    def _answered(self, scope: Scope, started: float) -> None:
        if self.observe is not None:
            self.observe(scope["path"], time.perf_counter() - started)

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The app's own answer to ``exc`` (its registered exception handlers)."""
        handlers = self.app.exception_handlers
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                answer = handler(request, exc)
                response: Response = await answer if inspect.isawaitable(answer) else answer
                return response
        raise exc


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether it is all there (False: over ``MAX_BODY``)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _parse(model: type[BaseModel], body: bytes) -> BaseModel | None:
    if not body:
        return None
    try:
        return model.model_validate(json.loads(body))
    except (ValueError, ValidationError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        return None


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` with the body already read put back in front."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay


def install_fast_routes(
    app: FastAPI,
    prefix: str,
    router: APIRouter,
    hot: dict[str, tuple[Endpoint, type[BaseModel]]],
    raw: dict[str, RawEndpoint] | None = None,
    gates: dict[str, Gate] | None = None,
    observe: Observe | None = None,
) -> None:
    """Answer POST ``prefix + path`` for each ``hot`` entry in front of the app's
    middleware stack; each must be a documented endpoint of ``router`` (included in
    ``app`` under ``prefix``).  ``raw`` maps full paths to endpoints that take the
    bare request and never raise (they are also declared on the app, for OpenAPI).
    ``gates`` map full paths to checks that may refuse a POST before the full stack
    (a flood of refusals must not queue other requests behind FastAPI's machinery).
    ``observe(path, seconds)`` is told how long each lean answer took (metrics)."""
    declared = {
        (route.path, route.endpoint)
        for route in router.routes
        if isinstance(route, APIRoute) and route.methods == {"POST"}
    }
    for path, (endpoint, _model) in hot.items():
        if (path, endpoint) not in declared:
            raise RuntimeError(f"the lean route {path} does not serve a documented endpoint")
    table = {prefix + path: entry for path, entry in hot.items()}
    build = app.build_middleware_stack

    def build_with_front() -> ASGIApp:
        return _Front(build(), app, table, dict(raw or {}), dict(gates or {}), observe)

    app.build_middleware_stack = build_with_front  # type: ignore[method-assign]
