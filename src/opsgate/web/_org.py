"""Login and logout, the audit log, the inventory and Settings → Agent Controls.

The audit pages call the API's own route functions (same filters, same cursor,
same verification), so the console and ``GET /api/v1/audit`` cannot disagree.
Who may change the inventory and which setting is the service's rule (SPEC §6);
the pages show controls only to roles that may use them, and the server refuses
anyway when someone posts without the right.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsgate.approvals.model import SETTING_ROLES, Denied, Role
from opsgate.approvals.service import Principal
from opsgate.environments import InventoryTarget
from opsgate.models import Environment
from opsgate.server import routes_audit
from opsgate.server._login import Throttled
from opsgate.server.auth import SESSION_COOKIE, in_thread
from opsgate.server.errors import ApiError
from opsgate.server.routes_people import client_address
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
TOGGLES = (
    (
        "write_actions",
        "Write Actions",
        "Let agents propose changes at all. Off: every write is refused, no card.",
    ),
    (
        "production_protection",
        "Production Protection",
        "Keep agents' hands off production: writes to production targets are refused, "
        "no card; reads still work.",
    ),
)


# --- login / logout -------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Opt = None) -> Response:
    token = new_login_token()
    response = render(request, "login.html", None, login_csrf=token, next=safe_next(next))
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


# --- audit -----------------------------------------------------------------------------------

_AUDIT_FILTERS = ("event", "actor", "target", "environment", "decision", "outcome", "since")


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    event: Opt = None,
    actor: Opt = None,
    target: Opt = None,
    environment: Opt = None,
    decision: Opt = None,
    outcome: Opt = None,
    since: Opt = None,
    cursor: Opt = None,
) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    given = dict(
        zip(
            _AUDIT_FILTERS,
            (event, actor, target, environment, decision, outcome, since),
            strict=True,
        )
    )
    chosen = {k: v.strip() for k, v in given.items() if v and v.strip()}
    try:
        page = await in_thread(
            lambda: routes_audit.query(me, request, limit=50, cursor=cursor or None, **chosen)
        )
    except (ApiError, Denied) as exc:
        message = exc.message if isinstance(exc, ApiError) else exc.reason
        return render(
            request,
            "audit.html",
            me,
            status=422 if isinstance(exc, ApiError) else 403,
            error=message,
            entries=[],
            chosen=chosen,
            next_cursor=None,
        )
    from urllib.parse import urlencode

    more = urlencode({**chosen, "cursor": page.next_cursor}) if page.next_cursor else None
    return render(
        request,
        "audit.html",
        me,
        entries=[_summary(e) for e in page.items],
        chosen=chosen,
        next_query=more,
    )


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    actor = entry.get("actor") or {}
    approver = entry.get("approver") or {}
    result = entry.get("result") or {}
    return {
        "seq": entry.get("seq"),
        "time": entry.get("time", ""),
        "event": entry.get("event", ""),
        "actor": actor.get("name") or actor.get("id") or actor.get("type", ""),
        "target": entry.get("target") or "",
        "environment": entry.get("environment") or "",
        "decision": entry.get("decision") or "",
        "approver": approver.get("name", ""),
        "card": result.get("card", "") if isinstance(result, dict) else "",
    }


@router.get("/audit/verify", response_class=HTMLResponse)
async def audit_verify(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    try:
        report = await in_thread(lambda: routes_audit.verify_chain(me, request))
    except (ApiError, Denied) as exc:
        message = exc.message if isinstance(exc, ApiError) else exc.reason
        return render(request, "error.html", me, status=503, message=message)
    return render(request, "audit_verify.html", me, report=report)


@router.get("/audit/{seq}", response_class=HTMLResponse)
async def audit_entry(seq: int, request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    try:
        page = await in_thread(
            lambda: routes_audit.query(me, request, limit=1, cursor=str(seq + 1))
        )
    except (ApiError, Denied) as exc:
        message = exc.message if isinstance(exc, ApiError) else exc.reason
        return render(request, "error.html", me, status=503, message=message)
    found = [e for e in page.items if e.get("seq") == seq]
    if not found:
        return render(request, "error.html", me, status=404, message=f"no audit entry {seq}")
    entry = found[0]
    body = json.dumps(entry, indent=2, ensure_ascii=False, sort_keys=True)
    return render(request, "audit_entry.html", me, entry=_summary(entry), body=body)


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
    return await _inventory(request, me)


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
            await in_thread(lambda: plane.delete_target(me, name))
            note = f"Removed {name}."
        else:
            target = _target(form, name)
            await in_thread(lambda: plane.put_target(me, target))
            note = f"Saved {name}."
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        return await _inventory(request, me, status=exc.status, error=exc.reason)
    return await _inventory(request, me, notice=note)


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


# --- settings → agent controls ---------------------------------------------------------------


async def _settings(request: Request, me: Principal, status: int = 200, **extra: Any) -> Response:
    plane = control(request)
    current = await in_thread(plane.settings)
    toggles = [
        {
            "name": name,
            "label": label,
            "help": help_text,
            "on": bool(getattr(current, name)),
            "needs": SETTING_ROLES[name].value,
            "may": me.role is not Role.AGENT and me.role.rank >= SETTING_ROLES[name].rank,
        }
        for name, label, help_text in TOGGLES
    ]
    template = "_toggles.html" if request.headers.get("x-opsgate-fragment") else "settings.html"
    if template == "settings.html":
        from opsgate.web._lockdown import lockdown_context

        extra = {**await lockdown_context(request, me), **extra}
    return render(
        request,
        template,
        me,
        status=status,
        toggles=toggles,
        ttl=current.approval_ttl_seconds,
        **extra,
    )


settings_page_for = _settings  # the lockdown block (web/_lockdown.py) answers with this page


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    return await _settings(request, me)


@router.post("/settings", response_class=HTMLResponse)
async def settings_change(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    plane = control(request)
    try:
        form = await read_form(request)
        check_csrf(request, form)
        name = form.get("setting", "")
        if name not in dict((t[0], t) for t in TOGGLES):
            raise Denied(f"unknown setting {name!r}", status=422, code="unknown_setting")
        value = form.get("value") == "on"
        await in_thread(lambda: plane.change_settings(me, {name: value}))
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        return await _settings(request, me, status=exc.status, error=exc.reason)
    label = dict((t[0], t[1]) for t in TOGGLES)[name]
    return await _settings(request, me, notice=f"{label} {'enabled' if value else 'disabled'}.")
