"""Rendering and the signed-in person: Jinja2 environment, page and fragment
responses, and who is looking (a session cookie resolved against the store)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from opsgate.approvals.model import Denied, Role
from opsgate.approvals.service import ControlPlane, Principal
from opsgate.server.auth import SESSION_COOKIE, in_thread
from opsgate.web._present import ACCESS_LABELS, ENVIRONMENTS, IMPACTS
from opsgate.web._security import csrf_token, page_headers

__all__ = ["control", "login_redirect", "render", "viewer"]

_ROLE_LABELS = {r.value: r.value.title() for r in Role}

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals.update(
    impacts=IMPACTS,
    environments=ENVIRONMENTS,
    access_labels=ACCESS_LABELS,
    role_labels=_ROLE_LABELS,
)


def _clock(stamp: float | None) -> str:
    if not stamp:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


def _when(stamp: float | str | None) -> Markup:
    """A time, in one format everywhere: the page's script shows it in the browser's
    time zone (``YYYY-MM-DD HH:MM:SS``); without the script it reads in UTC."""
    if stamp is None or stamp == "":
        return Markup("")
    if isinstance(stamp, str):
        try:
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return Markup("{}").format(stamp)
        seconds = moment.timestamp()
    else:
        seconds = float(stamp)
    iso = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return Markup('<time datetime="{}" data-local>{}</time>').format(
        iso.replace("+00:00", "Z"), _clock(seconds)
    )


def _wbr(text: str | None) -> Markup:
    """Names and hosts break after their dots, dashes and slashes, never mid-word."""
    parts = re.split(r"(?<=[./:_-])", text or "")
    return Markup("<wbr>").join(escape(part) for part in parts)


templates.filters["clock"] = _clock
templates.filters["wbr"] = _wbr
templates.filters["when"] = _when


def control(request: Request) -> ControlPlane:
    plane: ControlPlane = request.app.state.og.control
    return plane


async def viewer(request: Request) -> Principal | None:
    """The person behind the session cookie, or None (no cookie, ended, disabled).
    API tokens are not accepted here: the console is for people."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    plane = control(request)
    try:
        return await in_thread(lambda: plane.session(secret))
    except Denied:
        return None


def login_redirect(request: Request) -> RedirectResponse:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    response = RedirectResponse(f"/login?next={_quote(path)}", status_code=303)
    page_headers(response)
    return response


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def may_decide(principal: Principal | None) -> bool:
    return principal is not None and principal.role not in (Role.VIEWER, Role.AGENT)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    secret = request.cookies.get(SESSION_COOKIE, "")
    html = templates.get_template(template).render(
        request_path=request.url.path,
        me=principal,
        csrf=csrf_token(secret) if principal is not None and secret else "",
        may_decide=may_decide(principal),
        status=status,
        **context,
    )
    return page_headers(HTMLResponse(html, status_code=status))
