"""Password logins over HTTP: throttled, and hashed a few at a time.

Two costs an unauthenticated client can impose with a login, and the bound on each:

* **Guessing.**  Failures are counted per account and per client address.  Past
  a few free failures each one closes the key for a doubling wait (capped), and a
  closed key is refused at once — the right password included — with 429 and
  ``Retry-After``.  Closing a key is audited (``user.login``, outcome ``locked``),
  once per run of failures.  A success clears the account's count.  Counts live
  in this process (a replica behind a load balancer counts its own; the waits
  still double on each), are forgotten after an hour without failures, and at
  most ``MAX_KEYS`` are kept.
* **Memory and CPU.**  An argon2id check takes 64 MiB and every core for a moment;
  400 at once took 2.1 GB and starved the event loop.  So at most ``slots`` checks
  run at once in a pool of their own, at most ``MAX_WAITING`` wait for one, and
  the rest are refused at once (429) — nothing else the server does waits on it.

The address is the connection's peer (uvicorn substitutes ``X-Forwarded-For``
only from the proxies it trusts, by default 127.0.0.1).
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from opsgate.approvals.model import Denied, User
from opsgate.audit import EventType

__all__ = ["ACCOUNT", "ADDRESS", "Backoff", "LoginGuard", "Throttled"]

log = logging.getLogger("opsgate.server.login")


@dataclass(frozen=True, slots=True)
class Backoff:
    free: int  # failures before any wait
    base: float  # seconds of the first wait
    cap: float  # the longest wait
    forget: float  # seconds without a failure after which the count starts over

    def wait(self, failures: int) -> float:
        over = failures - self.free
        return 0.0 if over <= 0 else min(self.cap, self.base * 2.0 ** (over - 1))


# An office behind one NAT address shares the address count, so it allows more.
ACCOUNT = Backoff(free=5, base=1.0, cap=900.0, forget=3600.0)
ADDRESS = Backoff(free=20, base=1.0, cap=3600.0, forget=3600.0)
MAX_KEYS = 10_000
MAX_WAITING = 32  # logins queued for a hashing slot; more are refused at once


class Throttled(Exception):
    """Refused before the password was checked; ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, int(retry_after + 0.999))


@dataclass(slots=True)
class _Count:
    failures: int = 0
    closed_until: float = 0.0
    last: float = 0.0


def default_slots() -> int:
    """Concurrent argon2 checks: one per four cores (each check uses four lanes)."""
    return max(1, (os.cpu_count() or 1) // 4)


class LoginGuard:
    def __init__(
        self,
        control: Any,
        audit: Any,
        *,
        slots: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.control = control
        self.audit = audit
        self.slots = slots or default_slots()
        self.clock = clock
        self._counts: OrderedDict[str, _Count] = OrderedDict()
        self._limiter: anyio.CapacityLimiter | None = None
        self._waiting = 0

    def refuse_early(self, name: str, address: str) -> None:
        """Raise ``Throttled`` now if ``login`` would (a closed key, a full queue):
        for the app's front, before the request costs the full stack."""
        self._check((("account", _account(name), ACCOUNT), ("address", f"ip:{address}", ADDRESS)))
        if self._waiting >= MAX_WAITING:
            raise Throttled("too many logins are in progress; retry in a moment", 1)

    async def login(self, name: str, password: str, address: str) -> tuple[User, str]:
        """``control.login`` behind the throttle and the hashing pool.  Raises
        ``Throttled`` (429) or the service's ``Denied`` (401)."""
        keys = (("account", _account(name), ACCOUNT), ("address", f"ip:{address}", ADDRESS))
        self._check(keys)
        if self._limiter is None:  # made on the loop that uses it
            self._limiter = anyio.CapacityLimiter(self.slots)
        if self._waiting >= MAX_WAITING:
            raise Throttled("too many logins are in progress; retry in a moment", 1)
        self._waiting += 1
        try:
            await self._limiter.acquire()
        finally:
            self._waiting -= 1
        try:
            self._check(keys)  # failures while this one waited may have closed a key
            return await self._attempt(name, password, keys)
        finally:
            self._limiter.release()

    async def _attempt(
        self, name: str, password: str, keys: tuple[tuple[str, str, Backoff], ...]
    ) -> tuple[User, str]:
        try:
            found: tuple[User, str] = await anyio.to_thread.run_sync(
                self.control.login, name, password
            )
        except Denied as exc:
            if exc.status == 401:
                for scope, key, backoff in keys:
                    await self._failed(scope, key, backoff, name)
            raise
        self._counts.pop(keys[0][1], None)
        return found

    def _check(self, keys: tuple[tuple[str, str, Backoff], ...]) -> None:
        now = self.clock()
        for scope, key, _backoff in keys:
            count = self._counts.get(key)
            if count is not None and count.closed_until > now:
                raise Throttled(
                    f"too many failed logins for this {scope}; retry later",
                    count.closed_until - now,
                )

    async def _failed(self, scope: str, key: str, backoff: Backoff, name: str) -> None:
        now = self.clock()
        count = self._counts.pop(key, None) or _Count()
        if now - count.last > backoff.forget:
            count = _Count()
        count.failures += 1
        count.last = now
        wait = backoff.wait(count.failures)
        newly_closed = wait > 0 and count.failures == backoff.free + 1
        if wait > 0:
            count.closed_until = now + wait
        self._counts[key] = count  # most recent last: the oldest are dropped first
        while len(self._counts) > MAX_KEYS:
            self._counts.popitem(last=False)
        if newly_closed:
            await self._audit_lock(scope, key, name, count.failures, wait)

    async def _audit_lock(
        self, scope: str, key: str, name: str, failures: int, wait: float
    ) -> None:
        log.warning("login: %s %s closed after %d failed logins", scope, key, failures)
        audit = self.audit
        if audit is None:
            return
        result = {
            "outcome": "locked",
            "scope": scope,
            "name": name,
            "address": key[3:] if scope == "address" else None,
            "failures": failures,
            "seconds": wait,
        }

        def write() -> None:
            audit.append(EventType.USER_LOGIN, actor=None, target=name, result=result)

        try:
            await anyio.to_thread.run_sync(write)
        except Exception:  # the lock holds anyway; the failure is the audit's to report
            log.exception("login: the lockout could not be audited")


def _account(name: str) -> str:
    return f"user:{name.casefold()}"
