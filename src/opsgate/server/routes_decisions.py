"""Decisions and grants: evaluate (dry run), propose, check and consume grants."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from opsgate.server.auth import Caller
from opsgate.server.schemas import ActionIn, GrantAnswer, ProposeIn, ProposeOut, card_out, grant_out

__all__ = ["router"]

router = APIRouter(tags=["decisions"])


@router.post("/evaluate", response_model=dict[str, Any], summary="Decide without acting")
def evaluate(body: ActionIn, caller: Caller, request: Request) -> dict[str, Any]:
    """The decision opsgate would make, with the organisation's settings and inventory."""
    decision = request.app.state.og.control.evaluate(caller, body.action(caller.name))
    result: dict[str, Any] = decision.to_json()
    return result


@router.post("/propose", response_model=ProposeOut, summary="Propose an action")
def propose(body: ProposeIn, caller: Caller, request: Request) -> ProposeOut:
    """Decide; an identical approved retry consumes its grant; otherwise a decision
    that needs a human creates an approval card (its link is in the answer)."""
    og = request.app.state.og
    result = og.control.propose(
        caller, body.action(caller.name), reasoning=body.reasoning, rollback=body.rollback
    )
    card = card_out(result.card, og.config.public_url) if result.card is not None else None
    if result.card is not None and result.grant is None:
        og.announce("card.created", result.card)
    return ProposeOut(
        decision=result.decision.to_json(),
        card=card,
        grant=grant_out(result.grant) if result.grant is not None else None,
        link=card.link if card is not None else None,
    )


@router.post("/grants/check", response_model=GrantAnswer, summary="Is this action approved?")
def check_grant(body: ActionIn, caller: Caller, request: Request) -> GrantAnswer:
    grant = request.app.state.og.control.check_grant(caller, body.action(caller.name))
    return GrantAnswer(
        matched=grant is not None, grant=grant_out(grant) if grant is not None else None
    )


@router.post("/grants/consume", response_model=GrantAnswer, summary="Use a grant once")
def consume_grant(body: ActionIn, caller: Caller, request: Request) -> GrantAnswer:
    grant = request.app.state.og.control.consume_grant(caller, body.action(caller.name))
    return GrantAnswer(
        matched=grant is not None, grant=grant_out(grant) if grant is not None else None
    )
