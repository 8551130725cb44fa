"""People and API tokens: who has which role, and the tokens agents and automation
use — above all, revoking a leaked token from the browser.

Every rule is the service's (SPEC §6): anyone signed in sees the people; members
and up see and revoke their own tokens, admins and owners all of them; only owners
change roles; a token's secret is shown once, on the page that created it, and never
again.  The page shows controls only to roles that may use them, and the service
refuses anyway when someone posts without the right.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsgate.approvals.model import Denied, Role
from opsgate.approvals.service import Principal
from opsgate.server.auth import in_thread
from opsgate.web._render import control, login_redirect, render, viewer
from opsgate.web._security import BadForm, check_csrf, read_form

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PEOPLE_ROLES = (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER)


def _token_roles(me: Principal) -> list[Role]:
    """The roles ``me`` may give a new token: agent always; up to their own from admin."""
    if me.role.rank < Role.ADMIN.rank:
        return [Role.AGENT]
    return [Role.AGENT, *(r for r in PEOPLE_ROLES if r.rank <= me.role.rank)]


async def _page(request: Request, me: Principal, status: int = 200, **extra: Any) -> Response:
    plane = control(request)
    users = await in_thread(lambda: plane.list_users(me))
    may_tokens = me.role.rank >= Role.MEMBER.rank  # the console's callers are people
    tokens = await in_thread(lambda: plane.list_tokens(me)) if may_tokens else []
    names = {u.id: u.name for u in users}
    return render(
        request,
        "people.html",
        me,
        status=status,
        users=users,
        tokens=sorted(tokens, key=lambda t: (t.revoked, -t.created_at)),
        creators=names,
        may_tokens=may_tokens,
        may_roles=me.role is Role.OWNER,
        sees_all=me.role.rank >= Role.ADMIN.rank,
        people_roles=[r.value for r in PEOPLE_ROLES],
        token_roles=[r.value for r in _token_roles(me)],
        **extra,
    )


@router.get("/people", response_class=HTMLResponse)
async def people_page(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    return await _page(request, me)


@router.post("/people", response_class=HTMLResponse)
async def people_change(request: Request) -> Response:
    """One form action: ``role`` (owners), ``create`` or ``revoke`` a token."""
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    plane = control(request)
    extra: dict[str, Any] = {}
    try:
        form = await read_form(request)
        check_csrf(request, form)
        action = form.get("action", "")
        if action == "role":
            role = _role(form.get("role", ""))
            user = await in_thread(lambda: plane.set_role(me, form.get("user", ""), role))
            extra["notice"] = f"{user.name} is now {user.role.value}."
        elif action == "create":
            role = _role(form.get("role", ""))
            name = form.get("name", "").strip()
            info, secret = await in_thread(lambda: plane.create_token(me, name, role))
            # Shown on this answer only (no-store); the service keeps just its hash.
            extra.update(notice=f"Created the {info.role.value} token {info.name}.", secret=secret)
        elif action == "revoke":
            info = await in_thread(lambda: plane.revoke_token(me, form.get("token", "")))
            extra["notice"] = f"Revoked {info.name}: it no longer works anywhere."
        else:
            raise BadForm("unknown action", status=400)
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        return await _page(request, me, status=exc.status, error=exc.reason)
    return await _page(request, me, **extra)


def _role(value: str) -> Role:
    """The role named in the form; which roles are allowed where is the service's rule."""
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise Denied(f"choose a role: {names}", status=422, code="bad_role") from None
