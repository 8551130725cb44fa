"""The ASGI application: ``create_app(control)``.

The app translates HTTP to calls on the ``ControlPlane`` and back; it decides
nothing itself.  Role rules live in the service (it raises ``Denied`` with a
status); the one rule kept here is who may read the audit trail, because the
audit log is not behind the service.  Background work: expiring due cards every
few seconds, and delivering notifications of new and decided cards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from opsgate import __version__
from opsgate.approvals.model import Card
from opsgate.approvals.service import ControlPlane
from opsgate.audit import AuditLog, EventType
from opsgate.server._edge import EdgeLimits, edge
from opsgate.server._fast import install_fast_routes
from opsgate.server._health import Readiness, probes_for
from opsgate.server._login import LoginGuard
from opsgate.server._metrics import CONTENT_TYPE, Metrics
from opsgate.server._requests import request_ids
from opsgate.server.auth import Caller, in_thread, require_reader
from opsgate.server.errors import ERROR_RESPONSES, install_error_handlers
from opsgate.server.notify import Notifier, NotifyConfig
from opsgate.server.schemas import Health, Ready, card_link
from opsgate.web import EventBus, install_web
from opsgate.web import card_event as live_event

if TYPE_CHECKING:
    from opsgate.execute import Executor

__all__ = ["AppConfig", "create_app"]

log = logging.getLogger("opsgate.server")

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8470"


@dataclass(frozen=True, slots=True)
class AppConfig:
    public_url: str = DEFAULT_PUBLIC_URL
    cookie_secure: bool = True
    expire_interval: float = 5.0  # seconds between expiry sweeps; 0 turns the sweep off
    # Seconds between looks for cards to judge again after a change made elsewhere
    # (another replica, the CLI); 0 turns it off.  Changes made here judge at once.
    rejudge_interval: float = 1.0
    limits: EdgeLimits = field(default_factory=EdgeLimits)  # request size and read times
    access_log: bool = False  # one ``opsgate.access`` line per request (JSON logs)


class AppState:
    """What the routes reach through ``request.app.state.og``."""

    def __init__(
        self, control: ControlPlane, audit: AuditLog | None, config: AppConfig, notifier: Notifier
    ) -> None:
        self.control = control
        self.audit = audit
        self.config = config
        self.notifier = notifier
        self.readiness = Readiness(probes_for(control, audit))
        self.metrics = Metrics(control, audit)  # /metrics (Prometheus)
        self.logins = LoginGuard(control, audit)  # throttled, bounded password checks
        # Card changes for the web console's live stream; the executor publishes here too.
        self.bus = EventBus()

    def link(self, card_id: str) -> str:
        return card_link(self.config.public_url, card_id)

    def announce(self, event: str, card: Card) -> None:
        self.notifier.publish()  # the webhook payload is already in the store's outbox
        if self.bus.subscribers:  # build the live event only for an open console
            self.bus.publish(live_event(card, event=event))

    def announce_decided(self, card: Card) -> None:
        event = f"card.{card.state.value}"
        if event in ("card.approved", "card.denied", "card.cancelled", "card.expired",
                     "card.used"):  # fmt: skip
            self.announce(event, card)


def create_app(
    control: ControlPlane,
    *,
    audit: AuditLog | None = None,
    config: AppConfig | None = None,
    notify: NotifyConfig | None = None,
    executor: Executor | None = None,
) -> FastAPI:
    """The API over ``control``.  ``audit`` backs the audit endpoints (default: the
    control plane's own log, when it exposes one as ``audit``)."""
    config = config or AppConfig()
    _size_decision_pool(control)
    if audit is None:
        found = getattr(control, "audit", None)
        audit = found if isinstance(found, AuditLog) else None
    state = AppState(control, audit, config, Notifier(notify or NotifyConfig()))
    state.notifier.on_failure = _failure_recorder(state)
    state.notifier.attach(control, state.link)  # deliver from the store's outbox
    # Cards a change here cancelled: live pages and notifications at once.  Looked up on
    # the class: a control plane that lacks it (a test double, another implementation)
    # is not asked.
    listen = getattr(type(control), "add_card_listener", None)
    if listen is not None:
        listen(control, state.announce)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.notifier.start()
        loop = asyncio.get_running_loop()
        sweepers = []
        if config.expire_interval > 0:
            sweepers.append(loop.create_task(_sweep(state)))
        if config.rejudge_interval > 0 and hasattr(type(control), "rejudge_due"):
            sweepers.append(loop.create_task(_rejudge(state)))
        try:
            yield
        finally:
            for sweeper in sweepers:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await state.notifier.close()

    app = FastAPI(
        title="opsgate control plane",
        version=__version__,
        description="Agents propose; opsgate decides; people approve; everything is audited.",
        lifespan=lifespan,
        # opsgate exports no OpenTelemetry; the per-request provider checks cost ~4%
        # of the hot routes' CPU.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # No Swagger UI or ReDoc: FastAPI's pages load their scripts from a public
        # CDN, which would run third-party code on the console's origin (beside the
        # session cookie).  The schema stays at /openapi.json for any viewer.
        docs_url=None,
        redoc_url=None,
    )
    app.state.control = control
    app.state.og = state
    install_error_handlers(app)

    @app.get("/healthz", response_model=Health, tags=["health"], summary="Liveness")
    async def healthz() -> Health:
        """The process is up and its event loop answers (no thread, no database)."""
        return Health(status="ok", version=__version__)

    @app.get(
        "/readyz",
        response_model=Ready,
        tags=["health"],
        summary="Readiness",
        responses={503: {"model": Ready, "description": "Not ready: a check failed"}},
    )
    async def readyz() -> JSONResponse:
        """Ready to decide: the database answers and the audit log can be written
        (503 otherwise; checked at most once a second)."""
        ready, checks = await state.readiness.check()
        body = Ready(status="ready" if ready else "unavailable", version=__version__, checks=checks)
        return JSONResponse(
            body.model_dump(),
            status_code=200 if ready else 503,
            headers={"cache-control": "no-store"},
        )

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}}},
    )
    async def metrics(principal: Caller) -> Response:
        """Decisions, latencies, pending cards and failures in Prometheus' text
        format, for a viewer or above (a person, or a token that is not an agent's);
        ``serve --metrics-address`` serves them without credentials on a separate
        listener."""
        require_reader(principal)
        body = await in_thread(state.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE, headers={"cache-control": "no-store"})

    from opsgate.server import (
        routes_audit,
        routes_cards,
        routes_decisions,
        routes_org,
        routes_people,
    )

    for module in (routes_people, routes_decisions, routes_cards, routes_org, routes_audit):
        app.include_router(module.router, prefix="/api/v1", responses=ERROR_RESPONSES)
    from opsgate.server import routes_slack  # Slack's button clicks (signed by Slack)

    app.include_router(routes_slack.router, prefix="/api/v1", responses=ERROR_RESPONSES)
    from opsgate.server.routes_hooks import claude_hook

    install_fast_routes(
        app,
        "/api/v1",
        routes_decisions.router,
        routes_decisions.HOT,
        raw={"/api/v1/hooks/claude": claude_hook},
        gates={"/api/v1/session": routes_people.login_gate},
        observe=state.metrics.answered,
    )

    app.add_api_route(
        "/api/v1/hooks/claude",
        claude_hook,
        methods=["POST"],
        tags=["hooks"],
        summary="Claude Code http hook (PreToolUse)",
        description=(
            "Claude Code's `http` hook type. Body: the PreToolUse payload. Always answers "
            "200 with Claude Code's hook JSON: `{}` to allow, a `deny` (with the approval "
            "card's link when a person must approve) otherwise — also for bad credentials "
            "or input, because Claude Code runs the tool on any non-2xx answer."
        ),
        response_model=dict[str, Any],
    )
    from opsgate.server.routes_execute import install_execution

    install_execution(app, executor)  # governed execution: routes, background runs
    from opsgate.server.routes_lockdown import install_lockdown

    install_lockdown(app)  # the red button: routes, and word of a lockdown made elsewhere
    install_web(app)
    _install_edge(app, config)
    return app


def _install_edge(app: FastAPI, config: AppConfig) -> None:
    """The edge's limits in front of everything, the lean routes included; a request
    id outermost, so even a refusal at the edge carries one."""
    from opsgate.server.routes_hooks import refuse

    build = app.build_middleware_stack

    def build_behind_edge() -> Any:
        limited = edge(build(), config.limits, {"/api/v1/hooks/claude": refuse})
        return request_ids(limited, access_log=config.access_log)

    app.build_middleware_stack = build_behind_edge  # type: ignore[method-assign]


def _size_decision_pool(control: ControlPlane) -> None:
    """``server.decision_threads``, else a default for the store: few threads for
    SQLite (CPU-bound, one machine), more for PostgreSQL (each waits on the network)."""
    from opsgate.config import current
    from opsgate.server.auth import DEFAULT_DECISION_THREADS, set_decision_threads

    configured = current().value("server.decision_threads")
    if configured.is_set:
        if configured.value < 1:
            from opsgate.errors import ConfigError

            raise ConfigError(
                f"server.decision_threads ({configured.source}) must be at least 1",
                hint="unset it for the default (4 on SQLite, 8 on PostgreSQL)",
            )
        set_decision_threads(configured.value)
        return
    store = getattr(control, "store", None)
    dialect = getattr(store, "dialect", "sqlite")
    set_decision_threads(DEFAULT_DECISION_THREADS.get(dialect, 4))


async def _sweep(state: AppState) -> None:
    while True:
        await asyncio.sleep(state.config.expire_interval)
        try:
            expired = await anyio.to_thread.run_sync(state.control.expire_due)
        except Exception:
            log.exception("the expiry sweep failed; retrying on the next tick")
            continue
        for card in expired:
            state.announce("card.expired", card)


async def _rejudge(state: AppState) -> None:
    """Judge again the cards a change made elsewhere (another replica, the CLI) left
    open; the control plane announces what it cancels to this process's listeners."""
    rejudge = state.control.rejudge_due  # type: ignore[attr-defined]  # checked by the caller
    while True:
        await asyncio.sleep(state.config.rejudge_interval)
        try:
            await anyio.to_thread.run_sync(rejudge)
        except Exception:
            log.exception("judging cards again failed; retrying on the next tick")


def _failure_recorder(state: AppState) -> Any:
    async def record(sink: str, payload: dict[str, Any], error: str) -> None:
        audit = state.audit
        if audit is None:
            return
        card = payload.get("card", {})

        def write() -> None:
            assert audit is not None
            audit.append(
                EventType.NOTIFICATION_FAILED,
                actor={"type": "system", "name": "opsgate"},
                target=card.get("target"),
                environment=card.get("environment"),
                result={
                    "sink": sink,
                    "error": error,
                    "event": payload.get("event"),
                    "card": card.get("id"),
                },
            )

        await anyio.to_thread.run_sync(write)

    return record
