"""Who is calling the MCP server: always an agent token, checked on every call.

stdio: the token comes from the environment (``OPSGATE_TOKEN``) of the process
the agent's client spawned; it is resolved again on each tool call, so revoking
it stops the server at once.  HTTP: ``BearerAuth`` wraps the SDK's ASGI app and
answers 401 before the MCP layer runs unless the request carries
``Authorization: Bearer <agent token>``; the principal rides in the ASGI scope to
the tool.  Only tokens with the ``agent`` role are accepted (``_identity``).
"""

from __future__ import annotations

import json
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context
from starlette.types import ASGIApp, Receive, Scope, Send

from opsgate.approvals.service import ControlPlane, Principal
from opsgate.mcp._identity import NotAuthenticated, agent_principal

__all__ = ["SCOPE_KEY", "BearerAuth", "ScopeAuth", "TokenAuth"]

SCOPE_KEY = "opsgate.principal"


class TokenAuth:
    """stdio: one token for the process, re-checked on every call."""

    def __init__(self, control: ControlPlane, secret: str) -> None:
        self._control = control
        self._secret = secret

    def __call__(self, ctx: Context) -> Principal:
        return agent_principal(self._control, self._secret)


class ScopeAuth:
    """HTTP: the principal ``BearerAuth`` put on this very request."""

    def __call__(self, ctx: Context) -> Principal:
        request = ctx.request_context.request
        scope = getattr(request, "scope", None)
        principal = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
        if not isinstance(principal, Principal):
            raise NotAuthenticated("the request carried no agent token")
        return principal


class BearerAuth:
    """ASGI middleware: 401 for a missing, malformed or invalid agent token."""

    def __init__(self, app: ASGIApp, control: ControlPlane) -> None:
        self.app = app
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the SDK's session manager starts here
            await self.app(scope, receive, send)
            return
        secret = _bearer(scope)
        try:
            if secret is None:
                raise NotAuthenticated("send 'Authorization: Bearer <agent token>'")
            principal = await anyio.to_thread.run_sync(agent_principal, self.control, secret)
        except NotAuthenticated as exc:
            await _unauthorized(send, str(exc))
            return
        scope[SCOPE_KEY] = principal
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            header: str = bytes(value).decode("latin-1")
            scheme, _, secret = header.partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
            return None
    return None


async def _unauthorized(send: Send, message: str) -> None:
    body = json.dumps({"error": {"code": "unauthenticated", "message": message}}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="opsgate"'),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": 401, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
