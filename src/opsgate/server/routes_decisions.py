"""Decisions and grants: evaluate (dry run), propose, check and consume grants.

These are the hot routes: each checks the caller's credentials and calls the
service in one worker thread (one thread hop per request), and answers with JSON
built from the declared response model, so the OpenAPI document stays exact.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from opsgate.approvals.model import Grant
from opsgate.approvals.service import ControlPlane
from opsgate.server._fast import Endpoint
from opsgate.server.auth import Credentials, Presented, in_thread, resolve
from opsgate.server.schemas import ActionIn, GrantAnswer, ProposeIn, ProposeOut, card_out, grant_out

__all__ = ["HOT", "router"]

router = APIRouter(tags=["decisions"])


def _control(request: Request) -> ControlPlane:
    control: ControlPlane = request.app.state.og.control
    return control


@router.post("/evaluate", response_model=dict[str, Any], summary="Decide without acting")
async def evaluate(body: ActionIn, credentials: Presented, request: Request) -> JSONResponse:
    """The decision opsgate would make, with the organisation's settings and inventory."""
    control = _control(request)
    decision = await control.evaluate_on_loop(
        lambda: resolve(control, credentials), body.action, offload=in_thread
    )
    request.app.state.og.metrics.decided(decision)
    return JSONResponse(decision.to_json())


@router.post("/propose", response_model=ProposeOut, summary="Propose an action")
async def propose(body: ProposeIn, credentials: Presented, request: Request) -> Response:
    """Decide; an identical approved retry consumes its grant; otherwise a decision
    that needs a human creates an approval card (its link is in the answer)."""
    og = request.app.state.og
    control = _control(request)
    result = await control.propose_on_loop(
        lambda: resolve(control, credentials),
        body.action,
        reasoning=body.reasoning,
        rollback=body.rollback,
        offload=in_thread,
    )
    og.metrics.decided(result.decision)
    card = card_out(result.card, og.config.public_url) if result.card is not None else None
    if result.card is not None and result.grant is None:
        og.announce("card.created", result.card)
    out = ProposeOut(
        decision=result.decision.to_json(),
        card=card,
        grant=grant_out(result.grant) if result.grant is not None else None,
        link=card.link if card is not None else None,
        context_required=result.context_required,
    )
    # Pydantic's own serialiser: the same bytes as JSONResponse(model_dump()), a third
    # of the time.
    return Response(out.model_dump_json(), media_type="application/json")


def _grant_answer(grant: Grant | None) -> JSONResponse:
    answer = GrantAnswer(
        matched=grant is not None, grant=grant_out(grant) if grant is not None else None
    )
    return JSONResponse(answer.model_dump(mode="json"))


async def _grant(request: Request, credentials: Credentials, body: ActionIn, use: bool) -> Any:
    control = _control(request)

    def work() -> Grant | None:
        with control.snapshot():
            caller = resolve(control, credentials)
            action = body.action(caller.name)
            if use:
                return control.consume_grant(caller, action)
            return control.check_grant(caller, action)

    return _grant_answer(await in_thread(work))


@router.post("/grants/check", response_model=GrantAnswer, summary="Is this action approved?")
async def check_grant(body: ActionIn, credentials: Presented, request: Request) -> JSONResponse:
    result: JSONResponse = await _grant(request, credentials, body, use=False)
    return result


@router.post("/grants/consume", response_model=GrantAnswer, summary="Use a grant once")
async def consume_grant(body: ActionIn, credentials: Presented, request: Request) -> JSONResponse:
    result: JSONResponse = await _grant(request, credentials, body, use=True)
    return result


# Served by the lean path (``_fast``) ahead of the FastAPI routes above, which
# document them and answer requests the lean path hands back (errors).
HOT: dict[str, tuple[Endpoint, type[BaseModel]]] = {
    "/evaluate": (evaluate, ActionIn),
    "/propose": (propose, ProposeIn),
    "/grants/check": (check_grant, ActionIn),
    "/grants/consume": (consume_grant, ActionIn),
}
