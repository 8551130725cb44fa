"""The multi-replica fallback of the live stream: poll the store for card changes.

Every ``interval`` seconds (0.5 by default) one query reads the cards that can
still change (pending, approved, executing), the ones that could a tick ago, and
any created since: a change of state or version is published into the bus as
``card.<state>``.  So a decision taken on another replica, or an execution result
written by a runner that does not publish, reaches every open browser within
about half a second; changes made in this process arrive at once through
``EventBus.publish`` and again here, harmlessly (the browser re-fetches the card
either way).  One watcher per process, whatever the number of browsers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import anyio.to_thread
import sqlalchemy as sa

from opsgate.approvals.model import Card, CardState
from opsgate.store import _cards as db
from opsgate.store._schema import cards
from opsgate.web._bus import EventBus
from opsgate.web._present import card_event

__all__ = ["StoreWatcher"]

log = logging.getLogger("opsgate.web")

_LIVE = (CardState.PENDING.value, CardState.APPROVED.value, CardState.EXECUTING.value)
_REPRIME = 30.0  # seconds between baselines while no browser is watching
_MAX_IDS = 2000  # ids re-checked by name per tick; beyond this only live states are read


class _HasStore(Protocol):
    store: Any
    clock: Any


class StoreWatcher:
    def __init__(self, control: _HasStore, bus: EventBus, interval: float = 0.5) -> None:
        self.control = control
        self.bus = bus
        self.interval = interval
        self._seen: dict[str, tuple[str, int]] = {}  # live card id -> (state, version)
        self._newest = 0.0
        self._primed = False

    async def run(self) -> None:
        idle = 0.0  # seconds since the last baseline taken without a subscriber
        while True:
            try:
                if self.bus.subscribers == 0:
                    # Nobody is watching: no query twice a second (it reads every
                    # live card), only a fresh baseline every _REPRIME seconds, so
                    # that a browser arriving later is told what changed since —
                    # including between its page load and its stream connecting.
                    if not self._primed or idle >= _REPRIME:
                        self._primed = False  # learn the baseline, publish nothing
                        await anyio.to_thread.run_sync(self.tick)
                        idle = 0.0
                    idle += self.interval
                else:
                    idle = 0.0
                    await anyio.to_thread.run_sync(self.tick)
            except Exception:
                log.exception("polling card changes failed; retrying on the next tick")
            await asyncio.sleep(self.interval)

    def tick(self) -> list[Card]:
        """One poll (blocking): publish and return the cards that changed."""
        now = float(self.control.clock())
        watched = list(self._seen)[:_MAX_IDS]
        query = sa.select(cards.c.id, cards.c.state, cards.c.version, cards.c.created_at).where(
            sa.or_(
                cards.c.state.in_(_LIVE),
                cards.c.created_at >= self._newest,
                cards.c.id.in_(watched) if watched else sa.false(),
            )
        )
        changed: list[Card] = []
        with self.control.store.read() as conn:
            rows = conn.execute(query).all()
            newest = max([self._newest, *(float(r.created_at) for r in rows)])
            seen: dict[str, tuple[str, int]] = {}
            for row in rows:
                now_is = (str(row.state), int(row.version))
                # Keep watching what can still change, and the newest card (the
                # created_at >= newest clause returns it again next tick).
                if row.state in _LIVE or float(row.created_at) >= newest:
                    seen[row.id] = now_is
                if self._primed and self._seen.get(row.id) != now_is:
                    found = db.get_card(conn, row.id, now)
                    if found is not None:
                        changed.append(found[0])
        self._seen = seen
        self._newest = newest
        self._primed = True
        for card in changed:
            self.bus.publish(card_event(card, source="store"))
        return changed
