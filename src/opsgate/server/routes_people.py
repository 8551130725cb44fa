"""Sessions (people), users and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from opsgate.approvals.model import Role
from opsgate.server._login import Throttled
from opsgate.server.auth import SESSION_COOKIE, Caller, in_thread
from opsgate.server.errors import TooManyRequests, envelope
from opsgate.server.schemas import (
    LoginIn,
    PasswordIn,
    PrincipalOut,
    RoleIn,
    SessionOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    token_out,
    user_out,
)

__all__ = ["router"]

router = APIRouter(tags=["people"])


def client_address(request: Request) -> str:
    """The peer's address, for the login throttle."""
    return request.client.host if request.client else "unknown"


def login_gate(request: Request, body: bytes) -> Response | None:
    """POST /api/v1/session refused in front of the app when the login would be
    throttled anyway (same answer as the route's); anything else goes through."""
    import json

    try:
        name = json.loads(body).get("name")
    except (ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(name, str):
        return None
    try:
        request.app.state.og.logins.refuse_early(name, client_address(request))
    except Throttled as exc:
        return envelope(
            429, "login_throttled", exc.message, headers={"Retry-After": str(exc.retry_after)}
        )
    return None


def _session_out(caller: Caller) -> SessionOut:
    return SessionOut(
        user=user_out(caller.user) if caller.user is not None else None,
        principal=PrincipalOut(
            id=caller.id, name=caller.name, role=Role(caller.role).value, kind=caller.kind
        ),
    )


@router.post("/session", response_model=SessionOut, summary="Log in (people)")
async def login(body: LoginIn, request: Request, response: Response) -> SessionOut:
    """Password login; sets a Secure, HttpOnly, SameSite=Strict session cookie.
    Throttled per account and per address (429 with Retry-After)."""
    og = request.app.state.og
    control = og.control
    try:
        user, secret = await og.logins.login(body.name, body.password, client_address(request))
    except Throttled as exc:
        raise TooManyRequests(exc.message, exc.retry_after, code="login_throttled") from None
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.app.state.og.config.cookie_secure,
    )
    principal = await in_thread(lambda: control.session(secret))
    return SessionOut(
        user=user_out(user),
        principal=PrincipalOut(
            id=principal.id if principal else user.id,
            name=user.name,
            role=Role(user.role).value,
            kind="user",
        ),
    )


@router.get("/session", response_model=SessionOut, summary="Who am I")
def whoami(caller: Caller) -> SessionOut:
    return _session_out(caller)


@router.delete("/session", status_code=204, summary="Log out")
def logout(caller: Caller, request: Request, response: Response) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and caller.kind == "user":
        request.app.state.og.control.logout(secret)
    out = Response(status_code=204)
    out.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.app.state.og.config.cookie_secure,
    )
    return out


@router.get("/users", response_model=list[UserOut])
def list_users(caller: Caller, request: Request) -> list[UserOut]:
    return [user_out(u) for u in request.app.state.og.control.list_users(caller)]


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, caller: Caller, request: Request) -> UserOut:
    control = request.app.state.og.control
    return user_out(control.create_user(caller, body.name, body.password, Role(body.role)))


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change a user's role")
def set_role(user_id: str, body: RoleIn, caller: Caller, request: Request) -> UserOut:
    return user_out(request.app.state.og.control.set_role(caller, user_id, Role(body.role)))


@router.post("/users/{user_id}/disable", response_model=UserOut, summary="Disable a user")
def disable_user(user_id: str, caller: Caller, request: Request) -> UserOut:
    """Ends their sessions at once; owners manage anyone, admins members and viewers."""
    return user_out(request.app.state.og.control.set_disabled(caller, user_id, True))


@router.post("/users/{user_id}/enable", response_model=UserOut, summary="Enable a user")
def enable_user(user_id: str, caller: Caller, request: Request) -> UserOut:
    return user_out(request.app.state.og.control.set_disabled(caller, user_id, False))


@router.put("/users/{user_id}/password", response_model=UserOut, summary="Set a password")
def set_password(user_id: str, body: PasswordIn, caller: Caller, request: Request) -> UserOut:
    """Your own needs ``current``; someone else's, the right to manage them.  Ends
    their sessions."""
    control = request.app.state.og.control
    return user_out(control.set_password(caller, user_id, body.password, current=body.current))


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(caller: Caller, request: Request) -> list[TokenOut]:
    return [token_out(t) for t in request.app.state.og.control.list_tokens(caller)]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenIn, caller: Caller, request: Request) -> TokenCreated:
    """The secret is in this response only; opsgate keeps just its hash."""
    info, secret = request.app.state.og.control.create_token(caller, body.name, Role(body.role))
    return TokenCreated(token=token_out(info), secret=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke a token")
def revoke_token(token_id: str, caller: Caller, request: Request) -> TokenOut:
    return token_out(request.app.state.og.control.revoke_token(caller, token_id))
