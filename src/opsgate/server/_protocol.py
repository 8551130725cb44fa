"""uvicorn's HTTP/1.1 protocol with a deadline for each request's headers.

Below ASGI, so not in ``_edge``: only ``opsgate serve`` uses it (uvicorn's
``http=`` setting), and importing it needs uvicorn's httptools support.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from opsgate.server._edge import HEADER_TIMEOUT

__all__ = ["HeaderTimeoutProtocol", "with_header_timeout"]


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers.

    uvicorn bounds the idle time between requests (``timeout_keep_alive``) but not
    a request whose headers trickle in: a client sending a byte every few seconds
    held its connection forever.  Here a connection must complete each request's
    headers within ``header_timeout`` of being opened or of its previous response,
    or it is closed.  ``with_header_timeout`` makes the class with another deadline.
    """

    header_timeout = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Waiting for the next request's headers, unless a pipelined request (its
        # headers already complete) was just started.
        if not self.transport.is_closing() and self.cycle.response_complete:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


def with_header_timeout(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class (for uvicorn's ``http=``) with a ``seconds`` deadline."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})
