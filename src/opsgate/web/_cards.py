"""The approval inbox, one card, Allow/Deny, and the live stream (``/events``).

Decisions go through the control plane like the API's (the service enforces every
rule: role, own request, typed confirmation, state); the console only renders.
A form posted by the page's script (header ``X-Opsgate-Fragment``) gets the card's
new HTML back; a plain form post is redirected to the card's page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from opsgate.approvals._describe import shown
from opsgate.approvals.model import Card, CardState, Denied
from opsgate.approvals.service import CardFilter, Principal
from opsgate.server.auth import in_thread
from opsgate.web._lockdown import lockdown_sse
from opsgate.web._present import card_view, state_label
from opsgate.web._render import control, login_redirect, render, viewer
from opsgate.web._security import BadForm, check_csrf, page_headers, read_form

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_OUTCOMES = tuple(s for s in CardState if s is not CardState.PENDING)
_OPERATIONS = (CardState.APPROVED, CardState.EXECUTING, CardState.COMPLETED, CardState.FAILED)
STREAM_SECONDS = 300.0  # a stream ends after this; EventSource reconnects (and re-authenticates)
KEEPALIVE_SECONDS = 10.0

Opt = Annotated[str | None, Query(max_length=500)]


def _names(request: Request, principal: Principal) -> dict[str, str]:
    try:
        return {u.id: u.name for u in control(request).list_users(principal)}
    except Denied:
        return {}


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("/")
async def home() -> Response:
    return page_headers(RedirectResponse("/inbox", status_code=303))


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(
    request: Request,
    environment: Opt = None,
    impact: Opt = None,
    agent: Opt = None,
    target: Opt = None,
) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    chosen = {
        "environment": _blank(environment),
        "impact": _blank(impact),
        "agent": _blank(agent),
        "target": _blank(target),
    }
    base = CardFilter(
        environment=chosen["environment"],
        impact=chosen["impact"],
        requested_by=chosen["agent"],
        target=chosen["target"],
    )
    plane = control(request)

    def load() -> dict[str, Any]:
        with plane.snapshot():
            pending = plane.list_cards(me, _with(base, (CardState.PENDING,)), limit=50)
            recent = plane.list_cards(me, _with(base, _OUTCOMES), limit=25)
            everything = plane.list_cards(me, CardFilter(), limit=200).items
            activity = plane.list_cards(me, CardFilter(states=_OPERATIONS), limit=10).items
            names = _names(request, me)
        now = time.time()
        return {
            "pending": [card_view(c, names, now) for c in pending.items],
            "pending_total": pending.total,
            "recent": [card_view(c, names, now) for c in recent.items],
            "activity": [card_view(c, names, now) for c in activity],
            "agents": sorted(
                {(c.requested_by, c.requested_by_name) for c in everything}, key=lambda a: a[1]
            ),
            "targets": sorted({shown(c).target for c in everything}),
        }

    data = await in_thread(load)
    return render(request, "inbox.html", me, chosen=chosen, **data)


def _with(base: CardFilter, states: tuple[CardState, ...]) -> CardFilter:
    return CardFilter(
        states=states,
        environment=base.environment,
        impact=base.impact,
        requested_by=base.requested_by,
        target=base.target,
    )


async def _card_or_error(
    request: Request, me: Principal, card_id: str
) -> tuple[Card, dict[str, str]]:
    plane = control(request)

    def load() -> tuple[Card, dict[str, str]]:
        with plane.snapshot():
            return plane.get_card(me, card_id), _names(request, me)

    return await in_thread(load)


@router.get("/cards/{card_id}", response_class=HTMLResponse)
async def card_page(card_id: str, request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    try:
        card, names = await _card_or_error(request, me, card_id)
    except Denied as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.reason)
    plane = control(request)
    activity = await in_thread(
        lambda: plane.list_cards(me, CardFilter(states=_OPERATIONS), limit=10).items
    )
    return render(
        request,
        "card_page.html",
        me,
        view=card_view(card, names),
        activity=[card_view(c, names) for c in activity],
    )


@router.get("/cards/{card_id}/fragment", response_class=HTMLResponse)
async def card_fragment(card_id: str, request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    try:
        card, names = await _card_or_error(request, me, card_id)
    except Denied as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.reason)
    return render(request, "_card.html", me, view=card_view(card, names))


async def _decide(request: Request, card_id: str, verb: str) -> Response:
    me = await viewer(request)
    fragment = bool(request.headers.get("x-opsgate-fragment"))
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    plane = control(request)
    error: str | None = None
    status = 200
    try:
        form = await read_form(request)
        check_csrf(request, form)
        if verb == "approve":
            card = await in_thread(lambda: plane.approve(me, card_id, form.get("confirmation")))
        else:
            reason = form.get("reason", "").strip()[:1000] or f"denied by {me.name}"
            card = await in_thread(lambda: plane.deny(me, card_id, reason))
        request.app.state.og.announce_decided(card)
    except BadForm as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.message)
    except Denied as exc:
        error, status = exc.reason, exc.status
    if not fragment and error is None:
        return page_headers(RedirectResponse(f"/cards/{card_id}", status_code=303))
    try:
        card, names = await _card_or_error(request, me, card_id)
    except Denied as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.reason)
    template = "_card.html" if fragment else "card_page.html"
    return render(
        request, template, me, status=status, view=card_view(card, names), error=error, activity=[]
    )


@router.post("/cards/{card_id}/approve", response_class=HTMLResponse)
async def approve(card_id: str, request: Request) -> Response:
    return await _decide(request, card_id, "approve")


@router.post("/cards/{card_id}/deny", response_class=HTMLResponse)
async def deny(card_id: str, request: Request) -> Response:
    return await _decide(request, card_id, "deny")


@router.get("/events")
async def events(request: Request) -> Response:
    """Server-sent events: ``card`` events (refresh that card) with a ready-made
    Activity Center line."""
    me = await viewer(request)
    if me is None:
        return Response("log in first", status_code=401, media_type="text/plain")
    bus = request.app.state.og.bus
    names = await in_thread(lambda: _names(request, me))

    async def stream() -> AsyncIterator[str]:
        ends = time.monotonic() + STREAM_SECONDS
        checked = time.monotonic()
        yield "retry: 1000\n\n"
        async with bus.subscribe() as queue:
            while time.monotonic() < ends:
                if time.monotonic() - checked >= KEEPALIVE_SECONDS:
                    # A stream lives for minutes: a logout, an ended session or a
                    # disabled account stops it within one keep-alive interval.
                    if await viewer(request) is None:
                        return
                    checked = time.monotonic()
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event is None:
                    return
                if event.get("kind") == "lockdown":
                    yield lockdown_sse(event)
                    continue
                yield _sse(event, names)

    response = StreamingResponse(stream(), media_type="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    return page_headers(response)


def _sse(event: dict[str, Any], names: dict[str, str]) -> str:
    from opsgate.web._render import templates

    card = event.get("card", {})
    try:
        label = state_label(CardState(card.get("state")), names.get(card.get("decided_by") or ""))
    except ValueError:
        label = str(card.get("state"))
    line = templates.get_template("_activity_item.html").render(
        card=card, label=label, when=time.strftime("%H:%M:%S", time.localtime(event["time"]))
    )
    body = {
        "event": event.get("event"),
        "card": card.get("id"),
        "state": card.get("state"),
        "html": line,
    }
    return f"event: card\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
