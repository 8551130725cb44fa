"""Lockdown over HTTP (SPEC §6): read it, press the red button, lift it.

``GET /api/v1/lockdown`` (anyone signed in, agents included: a refused agent may
learn why), ``POST /api/v1/lockdown`` (admins and owners; people, or automation
tokens — never an agent token), ``POST /api/v1/lockdown/lift`` (admins and owners,
as a person).  The rules are the service's; this module translates and announces:
the outbox row is already written in the lockdown's transaction (webhook, Slack),
open consoles of this process hear it at once through the bus, and a watcher
tells this process's consoles about a lockdown made elsewhere (another replica,
the CLI) within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from opsgate.approvals.service import LockdownReport
from opsgate.policy.model import Lockdown
from opsgate.server.auth import Caller
from opsgate.server.errors import ERROR_RESPONSES
from opsgate.server.schemas import Strict

__all__ = ["LockdownOut", "install_lockdown", "lockdown_event", "router"]

log = logging.getLogger("opsgate.server")
router = APIRouter(tags=["lockdown"])
WATCH_INTERVAL = 1.0  # seconds between checks for a lockdown made elsewhere


class LockdownIn(Strict):
    reason: str = Field(default="", max_length=2000, description="why: shown to every agent")
    revoke_tokens: bool = Field(default=False, description="also revoke every agent token")


class LiftIn(Strict):
    reason: str = Field(default="", max_length=2000)


class LockdownOut(BaseModel):
    locked: bool
    by: str | None = None
    role: str | None = None
    reason: str | None = None
    since: float | None = None
    cancelled_cards: list[str] = Field(default_factory=list)
    revoked_grants: list[str] = Field(default_factory=list)
    revoked_tokens: list[str] = Field(default_factory=list)
    renewed: bool = False


def _out(report: LockdownReport) -> LockdownOut:
    return LockdownOut(**report.to_json())


@router.get("/lockdown", response_model=LockdownOut, summary="Is opsgate locked down?")
def status(caller: Caller, request: Request) -> LockdownOut:
    del caller  # anyone signed in may know
    return _out(LockdownReport(lockdown=request.app.state.og.control.lockdown_status()))


@router.post("/lockdown", response_model=LockdownOut, summary="Lock down (admin, owner)")
def lock_down(body: LockdownIn, caller: Caller, request: Request) -> LockdownOut:
    """Every agent write denied from the next decision on, on every replica; pending
    cards cancelled, unused grants revoked (and agent tokens, on request)."""
    og = request.app.state.og
    report = og.control.lock_down(caller, body.reason, revoke_tokens=body.revoke_tokens)
    announce(og, "lockdown.started", report.lockdown, report)
    return _out(report)


@router.post("/lockdown/lift", response_model=LockdownOut, summary="Lift (admin, owner; a person)")
def lift(body: LiftIn, caller: Caller, request: Request) -> LockdownOut:
    og = request.app.state.og
    report = og.control.lift_lockdown(caller, body.reason)
    announce(og, "lockdown.lifted", None, report)
    return _out(report)


def lockdown_event(event: str, lockdown: Lockdown | None) -> dict[str, Any]:
    """The live (bus) event: small, no secret (the reason was redacted when stored)."""
    return {
        "kind": "lockdown",
        "event": event,
        "time": time.time(),
        "locked": lockdown is not None,
        "by": lockdown.by if lockdown else None,
        "reason": lockdown.reason if lockdown else None,
        "since": lockdown.since if lockdown else None,
    }


def announce(og: Any, event: str, lockdown: Lockdown | None, report: LockdownReport) -> None:
    og.notifier.publish()  # the webhook and Slack payloads are in the outbox already
    for card in report.cards:
        og.announce("card.cancelled", card)
    og.bus.publish(lockdown_event(event, lockdown))


async def _watch(og: Any, interval: float) -> None:
    """Publish a lockdown made by another process into this process's bus."""
    seen: Lockdown | None = None
    primed = False
    while True:
        try:
            if og.bus.subscribers or not primed:
                now = await anyio.to_thread.run_sync(og.control.lockdown_status)
                if primed and now != seen:
                    event = "lockdown.started" if now is not None else "lockdown.lifted"
                    og.bus.publish(lockdown_event(event, now))
                seen, primed = now, True
        except Exception:
            log.exception("checking the lockdown failed; retrying on the next tick")
        await asyncio.sleep(interval)


def install_lockdown(app: FastAPI, *, interval: float = WATCH_INTERVAL) -> None:
    app.include_router(router, prefix="/api/v1", responses=ERROR_RESPONSES)
    og = app.state.og
    og.notifier.console_url = og.config.public_url  # webhook and Slack link to Agent Controls
    if interval <= 0 or not hasattr(app.state.og.control, "lockdown_status"):
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            task = asyncio.get_running_loop().create_task(_watch(a.state.og, interval))
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
