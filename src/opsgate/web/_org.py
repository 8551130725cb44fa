"""Login and logout, and the inventory.

Who may change the inventory is the service's rule (SPEC §6); the page shows
controls only to roles that may use them, and the server refuses anyway when
someone posts without the right.  Removing a target is confirmed first; every
change redirects after its POST.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsgate.approvals.model import Denied, Role
from opsgate.approvals.service import Principal
from opsgate.environments import InventoryTarget
from opsgate.models import Environment
from opsgate.server._login import Throttled
from opsgate.server.auth import SESSION_COOKIE, in_thread
from opsgate.server.routes_people import client_address
from opsgate.web._flash import redirect_with, take_flash
from opsgate.web._forms import confirm_page, confirmed
from opsgate.web._render import control, login_redirect, render, viewer
from opsgate.web._security import (
    LOGIN_COOKIE,
    BadForm,
    check_csrf,
    check_login_csrf,
    new_login_token,
    page_headers,
    read_form,
    safe_next,
    set_cookie,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Opt = Annotated[str | None, Query(max_length=500)]


# --- login / logout -------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Opt = None, changed: Opt = None) -> Response:
    token = new_login_token()
    notice = "Your password is changed: log in with the new one." if changed else None
    response = render(
        request, "login.html", None, login_csrf=token, next=safe_next(next), notice=notice
    )
    set_cookie(request, response, LOGIN_COOKIE, token)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    try:
        form = await read_form(request)
        check_login_csrf(request, form)
    except BadForm as exc:
        return render(request, "error.html", None, status=exc.status, message=exc.message)
    name, password = form.get("name", "").strip(), form.get("password", "")
    target = safe_next(form.get("next"))
    try:
        _, secret = await request.app.state.og.logins.login(name, password, client_address(request))
    except (Denied, Throttled) as exc:
        token = new_login_token()
        refused = render(
            request,
            "login.html",
            None,
            status=exc.status if isinstance(exc, Denied) else 429,
            error=exc.reason if isinstance(exc, Denied) else exc.message,
            login_csrf=token,
            next=target,
            name=name,
        )
        if isinstance(exc, Throttled):  # as the API's 429 does: when to try again
            refused.headers["Retry-After"] = str(exc.retry_after)
        set_cookie(request, refused, LOGIN_COOKIE, token)
        return refused
    response = page_headers(RedirectResponse(target, status_code=303))
    set_cookie(request, response, SESSION_COOKIE, secret)
    response.delete_cookie(LOGIN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    me = await viewer(request)
    try:
        form = await read_form(request)
        if me is not None:
            check_csrf(request, form)
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        plane = control(request)
        await in_thread(lambda: plane.logout(secret))
    response = page_headers(RedirectResponse("/login", status_code=303))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- inventory -----------------------------------------------------------------------------


def _may_edit_inventory(me: Principal) -> bool:
    return me.role.rank >= Role.ADMIN.rank and me.role is not Role.AGENT


async def _inventory(request: Request, me: Principal, status: int = 200, **extra: Any) -> Response:
    plane = control(request)
    targets = await in_thread(lambda: plane.list_targets(me))
    return render(
        request,
        "inventory.html",
        me,
        status=status,
        targets=targets,
        may_edit=_may_edit_inventory(me),
        **extra,
    )


@router.get("/inventory", response_class=HTMLResponse)
async def inventory_page(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    return await _inventory(request, me, **await take_flash(request))


@router.post("/inventory", response_class=HTMLResponse)
async def inventory_change(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    plane = control(request)
    try:
        form = await read_form(request)
        check_csrf(request, form)
        name = form.get("name", "").strip()
        if form.get("delete"):
            if not confirmed(form):
                return confirm_page(
                    request,
                    me,
                    form,
                    question=f"Remove {name} from the inventory? Agents' actions on it are "
                    "then judged as on an unknown target (production), and its access "
                    "level and connection settings are gone.",
                    verb=f"Remove {name}",
                    back="/inventory",
                )
            await in_thread(lambda: plane.delete_target(me, name))
            note = f"Removed {name}."
        else:
            target = _target(form, name)

            def save() -> None:
                # The page edits environment, access and matches: the executor's
                # connection settings (not shown here) are kept as they are.
                kept = {t.name: t.connection for t in plane.list_targets(me)}
                plane.put_target(me, dataclasses.replace(target, connection=kept.get(name, ())))

            await in_thread(save)
            note = f"Saved {name}."
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        return await _inventory(request, me, status=exc.status, error=exc.reason)
    return await redirect_with(request, "/inventory", notice=note)


def _target(form: dict[str, str], name: str) -> InventoryTarget:
    try:
        environment = Environment.parse(form.get("environment", ""))
    except Exception as exc:
        raise Denied("choose an environment", status=422, code="invalid_target") from exc
    patterns = [p.strip() for p in form.get("match", "").split(",") if p.strip()]
    return InventoryTarget(
        name=name,
        kind=form.get("kind", "server").strip() or "server",
        environment=environment,
        access=form.get("access", ""),
        match=tuple(patterns or [name]),
    )
