"""Who is calling: a person by session cookie, an agent or automation by bearer token.

The API authenticates; the service authorises.  A request that names neither a
valid session nor a valid token stops here with 401, before any route runs.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request

from opsgate.approvals.model import Role
from opsgate.approvals.service import ControlPlane, Principal
from opsgate.server.errors import Forbidden, Unauthenticated

__all__ = ["SESSION_COOKIE", "Caller", "control_of", "current_principal", "require_reader"]

SESSION_COOKIE = "opsgate_session"


def control_of(request: Request) -> ControlPlane:
    control: ControlPlane = request.app.state.control
    return control


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return secret.strip()


async def current_principal(request: Request) -> Principal:
    control = control_of(request)
    secret = _bearer(request)
    if secret is not None:
        found = await anyio.to_thread.run_sync(control.token, secret)
        if found is None:
            raise Unauthenticated("the API token is unknown or revoked")
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = await anyio.to_thread.run_sync(control.session, cookie)
        if found is None:
            raise Unauthenticated("the session has ended; log in again")
        return found
    raise Unauthenticated("log in (POST /api/v1/session) or send 'Authorization: Bearer <token>'")


Caller = Annotated[Principal, Depends(current_principal)]


def require_reader(principal: Principal) -> None:
    """Reading the organisation's audit trail: people (viewer and up) and non-agent
    tokens.  An agent token sees its own cards, never everyone's history."""
    if principal.role is Role.AGENT:
        raise Forbidden("agent tokens cannot read the audit trail")
