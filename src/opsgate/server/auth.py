"""Who is calling: a person by session cookie, an agent or automation by bearer token.

The API authenticates; the service authorises.  A request that names neither a
valid session nor a valid token stops here with 401, before any route runs.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

import anyio.to_thread
from fastapi import Depends, Request

from opsgate.approvals.model import Role
from opsgate.approvals.service import ControlPlane, Principal
from opsgate.server.errors import Forbidden, Unauthenticated

__all__ = [
    "SESSION_COOKIE",
    "Caller",
    "Credentials",
    "Presented",
    "control_of",
    "current_principal",
    "in_thread",
    "presented",
    "require_reader",
    "resolve",
]

T = TypeVar("T")

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


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the request presented, not yet checked against the store."""

    kind: Literal["token", "session"]
    secret: str


async def presented(request: Request) -> Credentials:
    """The request's credentials, without touching the store: the hot routes check
    them with ``resolve`` in the same worker thread as the service call (one thread
    hop per request instead of two).  A request presenting none stops here."""
    secret = _bearer(request)
    if secret is not None:
        return Credentials("token", secret)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        _same_origin(request)
        return Credentials("session", cookie)
    raise Unauthenticated("log in (POST /api/v1/session) or send 'Authorization: Bearer <token>'")


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OWN_SITE = frozenset({"same-origin", "none"})  # "none": typed in, a bookmark


def _same_origin(request: Request) -> None:
    """A session cookie is an ambient credential: the browser adds it to a form that
    another page posts here.  SameSite=Strict stops other sites, not a sibling site
    (another port or subdomain of the same site), and body-less routes (cancel)
    need no JSON to forge.  So a state-changing API call made with the cookie must
    come from this origin: a browser says where it comes from (``Sec-Fetch-Site``,
    ``Origin``); clients that are not browsers send neither and are not at risk."""
    if request.method in _SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in _OWN_SITE:
        raise Forbidden(f"a {site} request may not use the session cookie; "
                        "send 'Authorization: Bearer <token>' instead")  # fmt: skip
    origin = request.headers.get("origin")
    if origin is None:
        return
    from urllib.parse import urlsplit

    own = {request.headers.get("host", "")}
    config = getattr(getattr(request.app.state, "og", None), "config", None)
    if config is not None:
        own.add(urlsplit(config.public_url).netloc)
    parts = urlsplit(origin)
    if (
        not parts.scheme
        or not parts.netloc
        or parts.netloc.lower() not in {o.lower() for o in own if o}
    ):
        raise Forbidden("a request from another origin may not use the session cookie")


def resolve(control: ControlPlane, credentials: Credentials) -> Principal:
    """Who presented ``credentials``, as of now (blocking: call from a worker thread)."""
    if credentials.kind == "token":
        found = control.token(credentials.secret)
        if found is None:
            raise Unauthenticated("the API token is unknown or revoked")
        return found
    found = control.session(credentials.secret)
    if found is None:
        raise Unauthenticated("the session has ended; log in again")
    return found


async def in_thread(work: Callable[[], T]) -> T:
    """Run blocking work (store, audit fsync) off the event loop, in the decision
    pool (see ``set_decision_threads``)."""
    return await anyio.to_thread.run_sync(work, limiter=_pool())


# How many requests' blocking work runs at once.  Each decision is mostly Python
# (holding the GIL) plus a short wait for the audit commit; with dozens of threads
# contending for the GIL, the thread whose commit has returned waits behind the
# others (a convoy), which stretched the p99 at 32 clients to twice the median.  A
# few threads keep the commit leader moving and still fill each group commit;
# requests beyond them wait their turn on the event loop, in order.
DEFAULT_DECISION_THREADS = {"sqlite": 4, "postgresql": 8}
_size = [DEFAULT_DECISION_THREADS["sqlite"]]
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def set_decision_threads(count: int) -> None:
    """The pool's size for event loops that have not used it yet."""
    if count < 1:
        raise ValueError("the decision pool needs at least one thread")
    _size[0] = count


def _pool() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(_size[0])
    return limiter


async def current_principal(request: Request) -> Principal:
    credentials = await presented(request)
    control = control_of(request)
    return await anyio.to_thread.run_sync(resolve, control, credentials)


Caller = Annotated[Principal, Depends(current_principal)]
Presented = Annotated[Credentials, Depends(presented)]


def require_reader(principal: Principal) -> None:
    """Reading the organisation's audit trail: people (viewer and up) and non-agent
    tokens.  An agent token sees its own cards, never everyone's history."""
    if principal.role is Role.AGENT:
        raise Forbidden("agent tokens cannot read the audit trail")
