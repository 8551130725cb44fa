"""A lean path for the hot routes (evaluate, propose, grants/check, grants/consume).

FastAPI's per-request machinery (dependency solving, the request handler, the
route's exception wrapper) costs more CPU than the decision itself.  For each hot
route a plain Starlette route is placed ahead of the FastAPI one: it parses and
validates the body with the same Pydantic model, checks credentials with the same
``presented`` and calls the same endpoint function, so the answer is the same.
Anything unusual — no body, not JSON, a body the model rejects — is handed to the
FastAPI route itself (the body replayed), so errors keep their exact shape and
order.  The FastAPI routes stay registered: they document the API (OpenAPI lists
only them) and answer the unusual requests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate.server.auth import Credentials, presented

__all__ = ["Endpoint", "install_fast_routes"]

Endpoint = Callable[[Any, Credentials, Request], Awaitable[Response]]


def _is_json(content_type: str | None) -> bool:
    """FastAPI parses the body as JSON when the header is absent or names
    ``application/json`` or ``application/*+json``; anything else goes the slow way."""
    if content_type is None:
        return True
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


_SLOW = "opsgate.slow"  # scope key: route this request past the lean routes


class _Hot:
    """The ASGI app of one hot route."""

    def __init__(self, endpoint: Endpoint, model: type[BaseModel], router: ASGIApp) -> None:
        self.endpoint = endpoint
        self.model = model
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        parsed = self._parse(body) if _is_json(request.headers.get("content-type")) else None
        if parsed is None:
            await self._slow(scope, body, receive, send)
            return
        credentials = await presented(request)
        response = await self.endpoint(parsed, credentials, request)
        await response(scope, receive, send)

    def _parse(self, body: bytes) -> BaseModel | None:
        if not body:
            return None
        try:
            return self.model.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # JSONDecodeError, UnicodeDecodeError too
            return None

    async def _slow(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """Route the request again, past the lean routes, so the FastAPI route
        answers it; the body already read is replayed."""
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.router({**scope, _SLOW: True}, replay, send)


class _LeanRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get(_SLOW):
            return Match.NONE, {}
        return super().matches(scope)


def install_fast_routes(
    app: FastAPI,
    prefix: str,
    router: APIRouter,
    hot: dict[str, tuple[Endpoint, type[BaseModel]]],
) -> None:
    """Serve POST ``prefix + path`` for each ``hot`` entry ahead of its FastAPI route
    (declared on ``router``, included in ``app`` under ``prefix``)."""
    declared = {
        (route.path, route.endpoint)
        for route in router.routes
        if isinstance(route, APIRoute) and route.methods == {"POST"}
    }
    for path, (endpoint, model) in hot.items():
        if (path, endpoint) not in declared:
            raise RuntimeError(f"the lean route {path} does not serve a documented endpoint")
        lean = _LeanRoute(
            prefix + path,
            _Hot(endpoint, model, app.router),
            methods=["POST"],
            include_in_schema=False,
        )
        app.router.routes.insert(0, lean)
