"""Stopping ``opsgate serve`` with consoles open.

Uvicorn stops accepting, then waits (``timeout_graceful_shutdown``) for running
requests to finish before it runs the app's shutdown — but a live stream never
finishes by itself, so every stop used to end in "timeout graceful shutdown
exceeded" and a cancelled-task traceback.  The server made here closes the event
bus first: each open stream ends its response at once (the browser's EventSource
shows the page offline and reconnects to the next server), and the wait is short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket

    import uvicorn

    from opsgate.web._bus import EventBus

__all__ = ["graceful_server"]


def graceful_server(config: uvicorn.Config, bus: EventBus) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> Any:
            bus.close()
            return await super().shutdown(sockets)

    return Server(config)
