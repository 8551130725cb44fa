"""The approval inbox, one card, Allow/Deny, the Activity Center and the live
stream (``/events``).

Decisions go through the control plane like the API's (the service enforces every
rule: role, own request, typed confirmation, state); the console only renders,
and offers a person only the decisions the service would accept (``_offer``).
A form posted by the page's script (header ``X-Opsgate-Fragment``) gets the card's
new HTML back; a plain form post is redirected to the card's page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from opsgate.approvals.model import Card, CardState, Denied
from opsgate.approvals.service import CardFilter, ControlPlane, Principal
from opsgate.server.auth import in_thread
from opsgate.web import _history
from opsgate.web._lockdown import lockdown_sse
from opsgate.web._offer import offer, own_tokens
from opsgate.web._present import CardView, card_view
from opsgate.web._render import control, login_redirect, render, viewer
from opsgate.web._security import BadForm, check_csrf, page_headers, read_form

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_OUTCOMES = tuple(s for s in CardState if s is not CardState.PENDING)
PAGE = 10  # pending cards per inbox page: 44 in full made a 27,000 px phone page
RECENT = 10
STREAM_SECONDS = 300.0  # a stream ends after this; EventSource reconnects (and re-authenticates)
KEEPALIVE_SECONDS = 10.0

Opt = Annotated[str | None, Query(max_length=500)]


class _Context:
    """What rendering cards for one person needs: names, their own tokens, now."""

    def __init__(self, plane: ControlPlane, me: Principal) -> None:
        self.plane = plane
        self.me = me
        self.now = time.time()
        try:
            self.names = {u.id: u.name for u in plane.list_users(me)}
        except Denied:
            self.names = {}
        try:
            self.mine = own_tokens(me, plane.list_tokens(me))
        except Denied:
            self.mine = {}  # viewers hold no tokens (and decide nothing)

    def view(self, card: Card) -> CardView:
        return card_view(card, self.names, self.now, offer(self.me, card, self.mine, self.now))


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _filters(
    environment: str | None, impact: str | None, agent: str | None, target: str | None
) -> dict[str, str | None]:
    return {
        "environment": _blank(environment),
        "impact": _blank(impact),
        "agent": _blank(agent),
        "target": _blank(target),
    }


def _card_filter(chosen: dict[str, str | None], states: tuple[CardState, ...] = ()) -> CardFilter:
    return CardFilter(
        states=states,
        environment=chosen["environment"],
        impact=chosen["impact"],
        requested_by=chosen["agent"],
        target=chosen["target"],
    )


def _history_of(
    plane: ControlPlane,
    chosen: dict[str, str | None],
    names: dict[str, str],
    limit: int = _history.LINES,
) -> Any:
    store = getattr(plane, "store", None)
    if store is None:
        return []
    with store.read() as conn:
        return _history.activity(conn, _card_filter(chosen), names, limit)


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
    after: Opt = None,
) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    chosen = _filters(environment, impact, agent, target)
    plane = control(request)

    def load() -> dict[str, Any]:
        with plane.snapshot():
            ctx = _Context(plane, me)
            pending = plane.list_cards(
                me, _card_filter(chosen, (CardState.PENDING,)), limit=PAGE, cursor=after or None
            )
            recent = plane.list_cards(me, _card_filter(chosen, _OUTCOMES), limit=RECENT)
            store = getattr(plane, "store", None)
            choices: tuple[list[tuple[str, str]], list[str]] = ([], [])
            if store is not None:
                with store.read() as conn:
                    choices = _history.filter_choices(conn)
            activity = _history_of(plane, chosen, ctx.names)
        return {
            "pending": [ctx.view(c) for c in pending.items],
            "pending_total": pending.total,
            "more_query": _query(chosen, after=pending.next_cursor) if pending.next_cursor else "",
            "paged": bool(after),
            "recent": [ctx.view(c) for c in recent.items],
            "activity": activity,
            "agents": choices[0],
            "targets": choices[1],
        }

    try:
        data = await in_thread(load)
    except Denied as exc:  # a cursor that is not one
        return render(request, "error.html", me, status=exc.status, message=exc.reason)
    return render(
        request,
        "inbox.html",
        me,
        chosen=chosen,
        filter_query=_query(chosen),
        collapsed=False,
        **data,
    )


def _query(chosen: dict[str, str | None], **extra: str | None) -> str:
    return urlencode({k: v for k, v in {**chosen, **extra}.items() if v})


@router.get("/activity", response_class=HTMLResponse)
async def activity_list(
    request: Request,
    environment: Opt = None,
    impact: Opt = None,
    agent: Opt = None,
    target: Opt = None,
) -> Response:
    """The Activity Center's list, as the inbox renders it (the page re-fetches it
    on every change instead of appending what the stream says)."""
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    chosen = _filters(environment, impact, agent, target)
    plane = control(request)

    def load() -> Any:
        with plane.snapshot():
            return _history_of(plane, chosen, _Context(plane, me).names)

    return render(request, "_activity_list.html", me, activity=await in_thread(load))


async def _load_card(
    request: Request, me: Principal, card_id: str
) -> tuple[CardView, Callable[[], Any]]:
    plane = control(request)

    def load() -> tuple[CardView, Any]:
        with plane.snapshot():
            ctx = _Context(plane, me)
            return ctx.view(plane.get_card(me, card_id)), ctx.names

    view, names = await in_thread(load)
    return view, lambda: _history_of(plane, _filters(None, None, None, None), names)


@router.get("/cards/{card_id}", response_class=HTMLResponse)
async def card_page(card_id: str, request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    try:
        view, history = await _load_card(request, me, card_id)
    except Denied as exc:
        title = "Card not found" if exc.status == 404 else "Card"
        return render(request, "error.html", me, status=exc.status, message=exc.reason, title=title)
    return render(request, "card_page.html", me, view=view, activity=await in_thread(history), hl=1)


def _level(value: str | None) -> int:
    return 1 if value == "1" else 3


@router.get("/cards/{card_id}/fragment", response_class=HTMLResponse)
async def card_fragment(card_id: str, request: Request, hl: Opt = None) -> Response:
    me = await viewer(request)
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    try:
        view, _ = await _load_card(request, me, card_id)
    except Denied as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.reason)
    return render(request, "_card.html", me, view=view, hl=_level(hl))


async def _decide(request: Request, card_id: str, verb: str) -> Response:
    me = await viewer(request)
    fragment = bool(request.headers.get("x-opsgate-fragment"))
    if me is None:
        return render(request, "error.html", None, status=401, message="log in again")
    plane = control(request)
    error: str | None = None
    status = 200
    level = 3
    try:
        form = await read_form(request)
        check_csrf(request, form)
        level = _level(form.get("hl"))
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
        view, history = await _load_card(request, me, card_id)
    except Denied as exc:
        return render(request, "error.html", me, status=exc.status, message=exc.reason)
    if fragment:
        return render(request, "_card.html", me, status=status, view=view, error=error, hl=level)
    return render(
        request,
        "card_page.html",
        me,
        status=status,
        view=view,
        error=error,
        activity=await in_thread(history),
        hl=1,
    )


@router.post("/cards/{card_id}/approve", response_class=HTMLResponse)
async def approve(card_id: str, request: Request) -> Response:
    return await _decide(request, card_id, "approve")


@router.post("/cards/{card_id}/deny", response_class=HTMLResponse)
async def deny(card_id: str, request: Request) -> Response:
    return await _decide(request, card_id, "deny")


@router.get("/events")
async def events(request: Request) -> Response:
    """Server-sent events: ``card`` events (that card changed: refresh it and the
    Activity Center)."""
    me = await viewer(request)
    if me is None:
        return Response("log in first", status_code=401, media_type="text/plain")
    bus = request.app.state.og.bus

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
                    return  # shutting down: end the response so the server can stop
                if event.get("kind") == "lockdown":
                    yield lockdown_sse(event)
                    continue
                yield _sse(event)

    response = StreamingResponse(stream(), media_type="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    return page_headers(response)


def _sse(event: dict[str, Any]) -> str:
    card = event.get("card", {})
    body = {"event": event.get("event"), "card": card.get("id"), "state": card.get("state")}
    return f"event: card\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
