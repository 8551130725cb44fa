"""Settings → Agent Controls: the organisation's switches (saved at once), how long
a card waits for a decision, and whether destructive production actions need two
approvers.

Which role changes which setting is the service's rule (``SETTING_ROLES``); a
control a role may not use is shown disabled with the reason, and the server
refuses anyway.  A switch posted by the page's script gets the controls' new HTML
back; a plain form post is redirected (post/redirect/get).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from opsgate.approvals.model import SETTING_ROLES, Denied, Role
from opsgate.approvals.service import Principal
from opsgate.policy.model import MAX_TTL_SECONDS, MIN_TTL_SECONDS
from opsgate.server.auth import in_thread
from opsgate.web._flash import redirect_with, take_flash
from opsgate.web._render import control, login_redirect, render, viewer
from opsgate.web._security import BadForm, check_csrf, read_form

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# name, label, what it does — one switch each, in this order.
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
    (
        "two_approvers_for_destructive_production",
        "Two approvers for destructive production actions",
        "A destructive action on a production target needs two different people to "
        "allow it (cards proposed from now on).",
    ),
)
TTL = "approval_ttl_seconds"
UNITS = {"s": 1, "min": 60, "h": 3600}


def _may(me: Principal, setting: str) -> bool:
    needed = SETTING_ROLES[setting]
    return me.role is not Role.AGENT and me.role.rank >= needed.rank


def _who_may(setting: str) -> str:
    return "an owner" if SETTING_ROLES[setting] is Role.OWNER else "an admin or owner"


def _ttl_parts(seconds: int) -> tuple[int, str]:
    for unit in ("h", "min"):
        if seconds % UNITS[unit] == 0:
            return seconds // UNITS[unit], unit
    return seconds, "s"


async def _settings(request: Request, me: Principal, status: int = 200, **extra: Any) -> Response:
    plane = control(request)
    current = await in_thread(plane.settings)
    toggles = [
        {
            "name": name,
            "label": label,
            "help": help_text,
            "on": bool(getattr(current, name)),
            "needs": _who_may(name),
            "may": _may(me, name),
        }
        for name, label, help_text in TOGGLES
    ]
    amount, unit = _ttl_parts(current.approval_ttl_seconds)
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
        ttl={"amount": amount, "unit": unit, "may": _may(me, TTL), "needs": _who_may(TTL)},
        units=list(UNITS),
        **extra,
    )


settings_page_for = _settings  # the lockdown block (web/_lockdown.py) answers with this page


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    return await _settings(request, me, **await take_flash(request))


def _change(form: dict[str, str]) -> tuple[str, Any, str]:
    """(setting, new value, what to say) from the posted form."""
    name = form.get("setting", "")
    if name == TTL:
        try:
            amount = float(form.get("amount", ""))
            seconds = round(amount * UNITS[form.get("unit", "min")])
        except (ValueError, KeyError):
            raise Denied("the card expiry is a number of seconds, minutes or hours",
                         status=422, code="invalid_setting") from None  # fmt: skip
        if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
            raise Denied(
                f"the card expiry is from {MIN_TTL_SECONDS} s to {MAX_TTL_SECONDS // 86400} days",
                status=422,
                code="invalid_setting",
            )
        amount_shown, unit = _ttl_parts(seconds)
        return name, seconds, f"Cards now expire after {amount_shown} {unit}."
    labels = {t[0]: t[1] for t in TOGGLES}
    if name not in labels:
        raise Denied(f"unknown setting {name!r}", status=422, code="unknown_setting")
    value = form.get("value") == "on"
    return name, value, f"{labels[name]} {'enabled' if value else 'disabled'}."


@router.post("/settings", response_class=HTMLResponse)
async def settings_change(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    plane = control(request)
    try:
        form = await read_form(request)
        check_csrf(request, form)
        name, value, said = _change(form)
        await in_thread(lambda: plane.change_settings(me, {name: value}))
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        return await _settings(request, me, status=exc.status, error=exc.reason)
    if request.headers.get("x-opsgate-fragment"):
        return await _settings(request, me, notice=said)
    return await redirect_with(request, "/settings", notice=said)
