"""Governed execution over HTTP, and the background runner of approved cards.

``install_execution(app)`` mounts the routes and wraps the app's lifespan with
one background task: recover runs a dead replica left behind, then every
``interval`` seconds claim and run approved operation cards (each claim is the
atomic ``approved → executing`` update, so replicas sharing a database never run
a card twice).  Each run is announced through ``AppState.announce`` —
``card.executing`` once claimed, then ``card.completed`` / ``card.failed`` — so
open consoles update at once and notifications go out.  Routes: the catalog,
proposing an operation, running a read operation, a card's result and undo, and
secrets by name (values go in, never out; admins and owners set and delete).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import Field

from opsgate.execute import Executor
from opsgate.execute.secrets import HelperSpec
from opsgate.server.auth import Caller, in_thread
from opsgate.server.errors import ERROR_RESPONSES, Invalid, NotFound
from opsgate.server.schemas import ProposeOut, Strict, card_out

__all__ = ["install_execution", "router"]

log = logging.getLogger("opsgate.server")
router = APIRouter(tags=["operations"])
_Name = Field(pattern=r"^[a-z][a-z0-9_.]{0,63}$")


class OperationIn(Strict):
    target: str = Field(min_length=1, max_length=255)
    params: dict[str, Any] = Field(default_factory=dict, max_length=64)
    reasoning: str = Field(default="", max_length=10_000)


class UndoIn(Strict):
    reasoning: str = Field(default="", max_length=10_000)


class SecretIn(Strict):
    """A value (admins, owners), or an owner's credential-helper command: argv, never
    a shell string; run on the server, with a timeout, each time the secret is used."""

    value: str | None = Field(default=None, min_length=1, max_length=64 * 1024)
    command: list[str] | None = Field(default=None, min_length=1, max_length=64)
    timeout: float | None = Field(default=None, gt=0, le=60)
    env: list[str] = Field(
        default_factory=list, max_length=32, description="server variables the command sees"
    )


def _executor(request: Request) -> Executor:
    executor: Executor | None = getattr(request.app.state, "executor", None)
    if executor is None:
        raise NotFound("governed execution is not enabled on this server")
    return executor


def _proposed(request: Request, result: Any) -> dict[str, Any]:
    og = request.app.state.og
    card = card_out(result.card, og.config.public_url) if result.card is not None else None
    if result.card is not None:
        og.announce("card.created", result.card)
    out = ProposeOut(
        decision=result.decision.to_json(),
        card=card,
        grant=None,
        link=card.link if card is not None else None,
    )
    return out.model_dump(mode="json")


@router.get("/operations", summary="The governed operations this server can run")
async def list_operations(caller: Caller, request: Request) -> list[dict[str, Any]]:
    return _executor(request).list_operations()


@router.post("/operations/{name}/propose", summary="Propose an operation (a card for writes)")
async def propose(name: str, body: OperationIn, caller: Caller, request: Request) -> dict[str, Any]:
    executor = _executor(request)
    result = await in_thread(
        lambda: executor.propose_operation(caller, name, body.target, body.params, body.reasoning)
    )
    return _proposed(request, result)


@router.post("/operations/{name}/run", summary="Run a read operation the policy allows, now")
async def run_read(
    name: str, body: OperationIn, caller: Caller, request: Request
) -> dict[str, Any]:
    result = await _executor(request).run_read_only(caller, name, body.target, body.params)
    return result.to_json()


@router.get("/cards/{card_id}/result", summary="The (redacted) result of a card's operation")
async def card_result(card_id: str, caller: Caller, request: Request) -> dict[str, Any]:
    executor = _executor(request)
    result = await in_thread(lambda: executor.result(caller, card_id))
    if result is None:
        raise NotFound(f"card {card_id} has no operation")
    return result.to_json()


@router.post("/cards/{card_id}/undo", summary="Propose the recorded rollback as a new card")
async def undo(card_id: str, body: UndoIn, caller: Caller, request: Request) -> dict[str, Any]:
    executor = _executor(request)
    result = await in_thread(lambda: executor.undo(caller, card_id, body.reasoning))
    return _proposed(request, result)


@router.get("/secrets", summary="Secret names (never values)")
async def list_secrets(caller: Caller, request: Request) -> list[dict[str, Any]]:
    executor = _executor(request)
    found = await in_thread(lambda: executor.list_secrets(caller))
    return [{"name": s.name, "created_at": s.created_at, "updated_at": s.updated_at,
             **({"source": s.source} if s.source else {})} for s in found]  # fmt: skip


@router.put(
    "/secrets/{name}", status_code=204, summary="Set a secret (admin, owner; a command: owner)"
)
async def put_secret(name: str, body: SecretIn, caller: Caller, request: Request) -> Response:
    executor = _executor(request)
    if (body.value is None) == (body.command is None):
        raise Invalid("give either a value or a command, not both")
    if body.command is not None:
        spec = HelperSpec.checked(body.command, body.timeout, body.env)
        await in_thread(lambda: executor.set_secret_command(caller, name, spec))
    else:
        value = body.value or ""
        await in_thread(lambda: executor.set_secret(caller, name, value))
    return Response(status_code=204)


@router.delete("/secrets/{name}", status_code=204, summary="Delete a secret (admin, owner)")
async def delete_secret(name: str, caller: Caller, request: Request) -> Response:
    executor = _executor(request)
    if not await in_thread(lambda: executor.delete_secret(caller, name)):
        raise NotFound(f"no secret named {name!r}")
    return Response(status_code=204)


_ANNOUNCED = ("card.executing", "card.completed", "card.failed")
SECRETS_EVERY = 2.0  # seconds between checks for secrets another replica changed


def _learn_changed_secrets(executor: Executor) -> None:
    """A secret set on another replica (or by the CLI) is masked here too, within
    ``SECRETS_EVERY`` seconds; one set here was learnt when it was set."""
    if executor.secrets_changed():
        executor.learn_secrets()


def _announce(og: Any, executor: Executor, card_id: str) -> None:
    """Tell people (notifications) and open consoles (the bus) the card's new state at
    once, rather than when the store watcher next polls."""
    card = executor.card(card_id)
    if card is not None and f"card.{card.state.value}" in _ANNOUNCED:
        og.announce(f"card.{card.state.value}", card)


async def _run_one(og: Any, executor: Executor, card_id: str) -> None:
    try:
        done = await executor.run(card_id, on_claimed=lambda: _announce(og, executor, card_id))
        if done is not None:
            await in_thread(lambda: _announce(og, executor, card_id))
    except Exception:
        log.exception("running card %s failed; the recovery sweep will close it", card_id)


async def _recover(og: Any, executor: Executor) -> None:
    """Fail what a dead executor left running, and say so (``card.failed``)."""
    for card_id in await in_thread(executor.recover):
        await asyncio.to_thread(_announce, og, executor, card_id)


async def _run_approved(og: Any, executor: Executor, interval: float) -> None:
    try:
        await _recover(og, executor)
    except Exception:
        log.exception("recovering interrupted executions failed; retrying on the next tick")
    running: set[asyncio.Task[Any]] = set()
    ticks = 0
    while True:
        await asyncio.sleep(interval)
        ticks += 1
        try:
            if ticks % max(1, int(SECRETS_EVERY / interval)) == 0:
                await in_thread(lambda: _learn_changed_secrets(executor))
            if ticks % max(1, int(executor.lease_seconds / interval)) == 0:
                await _recover(og, executor)
            for card_id in await in_thread(executor.ready):
                task = asyncio.get_running_loop().create_task(_run_one(og, executor, card_id))
                running.add(task)
                task.add_done_callback(running.discard)
        except Exception:
            log.exception("the execution loop failed; retrying on the next tick")


def install_execution(app: FastAPI, executor: Executor | None, *, interval: float = 0.5) -> None:
    """Mount the routes; with an executor, run approved cards in the background."""
    app.include_router(router, prefix="/api/v1", responses=ERROR_RESPONSES)
    app.state.executor = executor
    if executor is None or interval <= 0:
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            og = a.state.og
            task = asyncio.get_running_loop().create_task(_run_approved(og, executor, interval))
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
