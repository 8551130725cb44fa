"""The console's lockdown control: a separate block of Agent Controls.

Shown to everyone; the buttons only to admins and owners (lifting: logged in as a
person, which the console always is).  Each form needs its confirmation box ticked
— the browser requires it and the server checks it again.  The rules themselves
are the service's (``lock_down`` / ``lift_lockdown``), so a forged post from a
member, a viewer or anything else is refused there whatever this page shows.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsgate.approvals.model import Denied, Role
from opsgate.approvals.service import Principal
from opsgate.server.auth import in_thread
from opsgate.server.routes_lockdown import announce
from opsgate.web._render import control, render, viewer
from opsgate.web._security import BadForm, check_csrf, read_form

__all__ = ["lockdown_context", "lockdown_sse", "router"]

router = APIRouter(include_in_schema=False)


async def lockdown_context(request: Request, me: Principal) -> dict[str, Any]:
    plane = control(request)
    status = await in_thread(plane.lockdown_status)
    return {
        "lockdown": status,
        "may_lockdown": me.role is not Role.AGENT and me.role.rank >= Role.ADMIN.rank,
        "lockdown_person": me.kind == "user",
    }


@router.post("/settings/lockdown", response_class=HTMLResponse)
async def lockdown_change(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    from opsgate.web._settings import settings_page_for

    try:
        form = await read_form(request)
        check_csrf(request, form)
        notice = await _apply(request, me, form)
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        return await settings_page_for(request, me, status=exc.status, lockdown_error=exc.reason)
    return await settings_page_for(request, me, lockdown_notice=notice)


async def _apply(request: Request, me: Principal, form: dict[str, str]) -> str:
    action = form.get("action", "")
    if action not in ("on", "off"):
        raise Denied("choose to lock down or to lift the lockdown", status=422, code="invalid")
    if form.get("confirm") != "yes":
        raise Denied("tick the confirmation box first", status=422, code="confirmation_required")
    plane, og = control(request), request.app.state.og
    reason = form.get("reason", "")
    if action == "on":
        revoke = form.get("revoke_tokens") == "yes"
        report = await in_thread(lambda: plane.lock_down(me, reason, revoke_tokens=revoke))
        announce(og, "lockdown.started", report.lockdown, report)
        swept = f"{len(report.cards)} pending card(s) cancelled, {len(report.grants)} grant(s)"
        tokens = f" and {len(report.tokens)} agent token(s)" if revoke else ""
        return f"Locked down: every agent write is refused. {swept}{tokens} revoked."
    report = await in_thread(lambda: plane.lift_lockdown(me, reason))
    announce(og, "lockdown.lifted", None, report)
    return "Lockdown lifted: agents may propose writes again."


def lockdown_sse(event: dict[str, Any]) -> str:
    """The live stream's ``lockdown`` event: app.js shows it as a banner."""
    if event.get("locked"):
        text = (
            f"opsgate is locked down by {event.get('by')}: "
            f"{event.get('reason') or 'no reason given'} — every agent write is refused."
        )
    else:
        text = "The lockdown was lifted: agents may propose writes again."
    body = {"event": event.get("event"), "locked": bool(event.get("locked")), "text": text}
    return f"event: lockdown\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
