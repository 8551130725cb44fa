"""A tiny in-process publish/subscribe bus: what the console's live stream reads.

Whoever changes a card in this process (the API, the console, the expiry sweep,
and later the executor) calls ``publish(event)``; every open ``/events`` stream
gets it at once.  Other replicas' changes (and writers that do not publish) are
found by ``_watch.StoreWatcher`` polling the store, which publishes into the same
bus.  Events are small dicts with no secret in them; a subscriber that falls
behind loses its oldest events rather than slowing the publisher down (the
browser reloads what it shows from the server anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["EventBus"]

QUEUE_SIZE = 256


class _Subscriber:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, event: dict[str, Any] | None) -> None:
        """On the subscriber's loop: enqueue, dropping the oldest when full."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)


class EventBus:
    """``publish`` is safe from any thread; ``subscribe`` from an event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()
        self._closed = False

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            with contextlib.suppress(RuntimeError):  # that loop is closing: nobody to tell
                sub.loop.call_soon_threadsafe(sub.offer, dict(event))

    def close(self) -> None:
        """End every subscription, and any made from now on (server shutdown)."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        for sub in subscribers:
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.offer, None)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any] | None]]:
        """A queue of events (``None`` means the bus closed) until the block exits."""
        sub = _Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
            if self._closed:
                sub.offer(None)
        try:
            yield sub.queue
        finally:
            with self._lock:
                self._subscribers.discard(sub)
