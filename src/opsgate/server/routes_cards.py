"""Approval cards: list and filter, read, approve, deny, cancel."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from opsgate.approvals.model import CardState
from opsgate.approvals.service import CardFilter
from opsgate.server.auth import Caller
from opsgate.server.schemas import ApproveIn, CardOut, CardPage, DenyIn, card_out

__all__ = ["router"]

router = APIRouter(tags=["cards"])

StateName = Literal[
    "pending",
    "approved",
    "executing",
    "completed",
    "failed",
    "denied",
    "expired",
    "cancelled",
    "used",
]


@router.get("/cards", response_model=CardPage, summary="List cards, newest first")
def list_cards(
    caller: Caller,
    request: Request,
    state: Annotated[list[StateName] | None, Query(description="repeatable")] = None,
    environment: Annotated[
        Literal["production", "staging", "development", "local"] | None, Query()
    ] = None,
    impact: Annotated[Literal["safe", "caution", "destructive"] | None, Query()] = None,
    requested_by: Annotated[str | None, Query(max_length=200)] = None,
    target: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CardPage:
    og = request.app.state.og
    filters = CardFilter(
        states=tuple(CardState(s) for s in state or ()),
        environment=environment,
        impact=impact,
        requested_by=requested_by,
        target=target,
    )
    page = og.control.list_cards(caller, filters, limit=limit, cursor=cursor)
    return CardPage(
        items=[card_out(c, og.config.public_url) for c in page.items],
        next_cursor=page.next_cursor,
        total=page.total,
    )


@router.get("/cards/{card_id}", response_model=CardOut)
def get_card(card_id: str, caller: Caller, request: Request) -> CardOut:
    og = request.app.state.og
    return card_out(og.control.get_card(caller, card_id), og.config.public_url)


@router.post("/cards/{card_id}/approve", response_model=CardOut)
def approve(card_id: str, body: ApproveIn, caller: Caller, request: Request) -> CardOut:
    """Destructive cards need ``confirmation``: the target's name, typed."""
    og = request.app.state.og
    card = og.control.approve(caller, card_id, body.confirmation)
    og.announce_decided(card)
    return card_out(card, og.config.public_url)


@router.post("/cards/{card_id}/deny", response_model=CardOut)
def deny(card_id: str, body: DenyIn, caller: Caller, request: Request) -> CardOut:
    og = request.app.state.og
    reason = body.reason.strip() or f"denied by {caller.name}"  # the agent reads it
    card = og.control.deny(caller, card_id, reason)
    og.announce_decided(card)
    return card_out(card, og.config.public_url)


@router.post("/cards/{card_id}/cancel", response_model=CardOut)
def cancel(card_id: str, caller: Caller, request: Request) -> CardOut:
    og = request.app.state.og
    card = og.control.cancel(caller, card_id)
    og.announce_decided(card)
    return card_out(card, og.config.public_url)
