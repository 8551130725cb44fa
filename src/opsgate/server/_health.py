"""Liveness (``/healthz``) and readiness (``/readyz``).

``/healthz`` says the process is up and its event loop answers: nothing else, so
an orchestrator restarts only a process that is truly stuck.  ``/readyz`` says
whether this replica can decide now: the control-plane database answers and the
audit log can be written (a committed write beside the chain).  A replica whose
audit log cannot be written answers every decision 503, so it must leave the
load balancer's rotation, and come back by itself once the probe passes again.

The probes run in worker threads of their own (a saturated decision or login pool
never delays them), at most one round at a time whatever the number of callers.
A result is reused for ``TTL`` seconds, then refreshed in the background while it
is still answered for up to ``TIMEOUT`` more seconds (an answer never waits for a
slow fsync; a caller with no result younger than that waits for the round).  A
probe that hangs (a database that vanished without closing the connection) counts
as a failure after ``TIMEOUT``.
Failures are named (``store``, ``audit``) but never detailed: the answer is
unauthenticated, and the driver's text may name hosts.  The server log has them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

import anyio
import anyio.to_thread

__all__ = ["TIMEOUT", "TTL", "Outcome", "Readiness", "probes_for"]

log = logging.getLogger("opsgate.server.health")

TTL = 1.0  # seconds a readiness result is reused
TIMEOUT = 2.0  # seconds before a probe that has not answered counts as failed

Probe = Callable[[], None]
Outcome = Literal["ok", "unavailable", "timeout"]


def probes_for(control: Any, audit: Any) -> dict[str, Probe]:
    """The checks for this control plane: its store's ping and its audit store's
    write probe (each where present)."""
    found: dict[str, Probe] = {}
    ping = getattr(getattr(control, "store", None), "ping", None)
    if callable(ping):
        found["store"] = ping
    probe = getattr(getattr(audit, "store", None), "probe", None)
    if callable(probe):
        found["audit"] = probe
    return found


class Readiness:
    def __init__(
        self, probes: dict[str, Probe], *, ttl: float = TTL, timeout: float = TIMEOUT
    ) -> None:
        self.probes = probes
        self.ttl = ttl
        self.timeout = timeout
        self._last: tuple[float, bool, dict[str, Outcome]] | None = None
        self._running: asyncio.Future[tuple[bool, dict[str, Outcome]]] | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    async def check(self) -> tuple[bool, dict[str, Outcome]]:
        """(ready, {check: "ok" | "unavailable" | "timeout"})."""
        last = self._last
        age = time.monotonic() - last[0] if last is not None else None
        if last is not None and age is not None and age < self.ttl:
            return last[1], last[2]
        if self._running is None:
            self._running = asyncio.ensure_future(self._round())
        if last is not None and age is not None and age < self.ttl + self.timeout:
            # The round just started refreshes it; meanwhile the last answer stands,
            # so a slow fsync never delays this one (a hung probe shows after TIMEOUT).
            return last[1], last[2]
        return await asyncio.shield(self._running)

    async def _round(self) -> tuple[bool, dict[str, Outcome]]:
        try:
            if self._limiter is None:  # created on the loop that uses it
                self._limiter = anyio.CapacityLimiter(max(1, len(self.probes)))
            names = list(self.probes)
            outcomes = await asyncio.gather(*(self._one(n) for n in names))
            checks = dict(zip(names, outcomes, strict=True))
            ready = all(v == "ok" for v in checks.values())
            if self._last is not None and self._last[1] != ready:
                log.warning("readiness: %s %s", "ready" if ready else "NOT ready", checks)
            self._last = (time.monotonic(), ready, checks)
            return ready, checks
        finally:
            self._running = None

    async def _one(self, name: str) -> Outcome:
        try:
            with anyio.fail_after(self.timeout):
                await anyio.to_thread.run_sync(
                    self.probes[name], limiter=self._limiter, abandon_on_cancel=True
                )
        except TimeoutError:
            log.warning("readiness: the %s probe did not answer in %s s", name, self.timeout)
            return "timeout"
        except Exception as exc:
            log.warning("readiness: the %s probe failed: %s", name, exc)
            return "unavailable"
        return "ok"
