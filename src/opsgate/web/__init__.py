"""The web console: server-rendered pages over the control plane, served by
``opsgate serve`` beside the API (``install_web``), with live updates over
server-sent events fed by an in-process bus (``EventBus``) and a store poller.

See docs/web.md.  Nothing here decides: every rule is the service's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.web._bus import EventBus
from opsgate.web._present import card_event
from opsgate.web._shutdown import graceful_server

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["EventBus", "card_event", "graceful_server", "install_web"]

POLL_INTERVAL = 0.5  # seconds between store polls (the multi-replica fallback)


def install_web(app: FastAPI, *, poll_interval: float = POLL_INTERVAL) -> None:
    """Mount the console's pages and static files on ``app`` and run the store
    watcher for the app's lifetime.  ``app.state.og`` must have ``bus``."""
    from starlette.staticfiles import StaticFiles

    from opsgate.web import _audit, _cards, _incident, _lockdown, _org, _people, _settings
    from opsgate.web._pages import install_pages
    from opsgate.web._watch import StoreWatcher

    state = app.state.og
    for module in (_org, _audit, _settings, _people, _cards, _incident, _lockdown):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    install_pages(app)

    watcher = None
    if poll_interval > 0 and hasattr(state.control, "store"):
        watcher = StoreWatcher(state.control, state.bus, poll_interval)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as value:
            task = None
            if watcher is not None:
                task = asyncio.get_running_loop().create_task(watcher.run())
            try:
                yield value
            finally:
                state.bus.close()
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan
