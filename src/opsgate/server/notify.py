"""Notifications of new and decided cards, and of a lockdown started or lifted: a
signed generic webhook and a Slack-compatible incoming webhook, delivered from the
store's outbox.

The control plane queues a notification in the same transaction as the card change
it reports (``claim_notifications`` / ``notification_done`` on the control plane),
so a notification survives a crash of the process that made the change.  Every
replica runs a ``Notifier``; each claims due rows under a lease, so one replica
delivers each notification (a replica that dies mid-delivery loses its lease and
another one retries: delivery is at least once, exactly once when nothing
crashes; the ``X-Opsgate-Delivery`` header lets a receiver drop a repeat).  A
failed delivery is retried with exponential backoff; after the last attempt the
row is closed and ``on_failure`` is called (the app records ``notification.failed``
in the audit trail).  With both a webhook and Slack configured, a retry goes only
to the sink that failed.

Payloads carry only what a person needs to find the card — id, description,
target, environment, impact, state, link — never the command's input, the
agent's reasoning or any credential.  A lockdown's payload carries who, why, when
and how many cards, grants and tokens it swept, with a link to Agent Controls.

Settings, declared once:

    notify.webhook_url            generic JSON webhook (POST)
    notify.webhook_secret         HMAC-SHA256 key; header ``X-Opsgate-Signature: sha256=<hex>``
    notify.slack_webhook_url      Slack incoming-webhook URL (a message per change)
    notify.slack_bot_token        Slack app bot token: cards with Approve/Deny (``slack``)
    notify.slack_channel          the channel id the app posts cards to
    notify.slack_signing_secret   verifies the app's button clicks
    notify.slack_team_id          optional: refuse clicks from any other workspace
    notify.slack_api_url          optional: Slack's Web API (default https://slack.com/api)
    (OPSGATE_WEBHOOK_URL, OPSGATE_SLACK_BOT_TOKEN, … in the environment; see opsgate.config)

A replica with no sink configured leaves the outbox alone; notifications older
than ``max_age`` (a day) when first claimed are closed undelivered, so enabling a
sink later does not replay history.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import anyio.to_thread
import httpx

from opsgate.server.slack import SlackApp

__all__ = ["Notifier", "NotifyConfig", "Outbox", "lockdown_event", "sign", "slack_payload"]

log = logging.getLogger("opsgate.server.notify")

FailureHook = Callable[[str, dict[str, Any], str], Awaitable[None] | None]


class Outbox(Protocol):
    """What the notifier needs of the control plane (``SqlControlPlane`` has it)."""

    def claim_notifications(self, limit: int = 20, lease_seconds: float = 60.0) -> list[Any]: ...

    def notification_done(
        self, notification_id: int, *, error: str | None = None, retry_at: float | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    slack_url: str | None = field(default=None, repr=False)  # the URL itself is a secret
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_channel: str | None = None
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_team_id: str | None = None
    slack_api_url: str = "https://slack.com/api"
    attempts: int = 5
    backoff: float = 0.5  # first retry delay; doubles each time
    max_backoff: float = 30.0
    timeout: float = 10.0
    poll_interval: float = 1.0  # seconds between outbox polls (a local change wakes it at once)
    batch: int = 20
    lease: float = 60.0  # a claimed row is this replica's for this long
    max_age: float = 86400.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifyConfig:
        """The ``notify.*`` settings (environment, config file)."""
        from opsgate.config import resolve

        config = resolve(env)
        return cls(
            webhook_url=config.text("notify.webhook_url"),
            webhook_secret=config.text("notify.webhook_secret"),
            slack_url=config.text("notify.slack_webhook_url"),
            slack_bot_token=config.text("notify.slack_bot_token"),
            slack_channel=config.text("notify.slack_channel"),
            slack_signing_secret=config.text("notify.slack_signing_secret"),
            slack_team_id=config.text("notify.slack_team_id"),
            slack_api_url=config.text("notify.slack_api_url") or "https://slack.com/api",
        )

    @property
    def slack_app(self) -> bool:
        """The Slack app (interactive cards) is set up: bot token and channel."""
        return bool(self.slack_bot_token and self.slack_channel)

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.slack_url or self.slack_app)

    def sinks(self) -> list[str]:
        named = (("webhook", self.webhook_url), ("slack", self.slack_url))
        return [name for name, url in named if url] + (["slack_app"] if self.slack_app else [])

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


_VERBS = {
    "card.created": "needs approval",
    "card.approved": "was approved",
    "card.denied": "was denied",
    "card.expired": "expired",
    "card.cancelled": "was cancelled",
    # Approved, and the agent's identical retry used the approval: it ran.
    "card.used": "was used by the agent's retry",
    # An approved operation's outcome; "card.executing" is live-only (the console),
    # not worth a message: people hear when it is done.
    "card.completed": "ran and completed",
    "card.failed": "failed — check the card",
}


def slack_payload(payload: dict[str, Any]) -> dict[str, Any]:
    if "lockdown" in payload:
        return _slack_lockdown(payload)
    card = payload["card"]
    verb = _VERBS.get(payload["event"], payload["event"])
    text = (
        f"opsgate: {card['description']} on {card['target']} ({card['environment']}, "
        f"{card['impact']}) {verb}"
    )
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(text)}*"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": _escape(f"card {card['id']} · state {card['state']}" + _why(card)),
                    }
                ],
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open card"},
                        "url": card["link"],
                    }
                ],
            },
        ],
    }


def _why(card: dict[str, Any]) -> str:
    """Who approved, who used it, why it closed: what a channel reader needs."""
    parts = []
    if card.get("approved_by"):
        parts.append("approved by " + " and ".join(map(str, card["approved_by"])))
    if card.get("used_by"):
        parts.append(f"used by {card['used_by']}")
    if card.get("reason") and card.get("state") in ("cancelled", "denied", "expired"):
        parts.append(f"reason: {card['reason']}")
    return "".join(f" · {p}" for p in parts)


def _slack_lockdown(payload: dict[str, Any]) -> dict[str, Any]:
    lock = payload["lockdown"]
    reason = lock.get("reason") or "no reason given"
    if payload["event"] == "lockdown.started":
        text = (
            f"opsgate is LOCKED DOWN by {lock.get('by')} ({lock.get('role')}): {reason} — "
            f"every agent write is refused; {lock.get('cancelled', 0)} pending card(s) "
            f"cancelled, {lock.get('revoked_grants', 0)} grant(s) and "
            f"{lock.get('revoked_tokens', 0)} agent token(s) revoked"
        )
    else:
        text = f"opsgate lockdown lifted by {lock.get('by')} ({lock.get('role')}): {reason}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(text)}*"}}
    ]
    if lock.get("link"):
        button = {"type": "button", "text": {"type": "plain_text", "text": "Agent Controls"},
                  "url": lock["link"]}  # fmt: skip
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": text, "blocks": blocks}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_LOCKDOWN_EVENTS = frozenset({"lockdown.started", "lockdown.lifted"})
_DELIVERED_EVENTS = frozenset(_VERBS) | _LOCKDOWN_EVENTS


def lockdown_event(row: Mapping[str, Any], console: str | None) -> dict[str, Any]:
    """The wire payload of a lockdown row: who, why, when and what was swept (counts),
    and where to look; never card contents or token names."""
    stored = row["payload"]
    if isinstance(stored, str):
        stored = json.loads(stored)
    return {
        "event": row["event"],
        "time": row["created_at"],
        "lockdown": {
            "locked": row["event"] == "lockdown.started",
            "by": stored.get("by"),
            "role": stored.get("role"),
            "reason": stored.get("reason"),
            "since": stored.get("since"),
            "cancelled": len(stored.get("cancelled_cards") or ()),
            "revoked_grants": len(stored.get("revoked_grants") or ()),
            "revoked_tokens": len(stored.get("revoked_tokens") or ()),
            "link": f"{console.rstrip('/')}/settings" if console else None,
        },
    }


def outbox_event(row: Mapping[str, Any], link: Callable[[str], str]) -> dict[str, Any]:
    """The wire payload of an outbox row: the whole vocabulary, nothing else about a
    card ever leaves."""
    stored = row["payload"]
    if isinstance(stored, str):
        stored = json.loads(stored)
    card_id = str(stored["card"])
    return {
        "event": row["event"],
        "time": row["created_at"],
        "card": {
            "id": card_id,
            "description": stored.get("description"),
            "target": stored.get("target"),
            "environment": stored.get("environment"),
            "impact": stored.get("impact"),
            "state": stored.get("state"),
            "link": link(card_id),
            # opsgate's own words (a cancellation names the change), never the agent's.
            "reason": stored.get("reason"),
            "approved_by": stored.get("approved_by") or [],
            "used_by": stored.get("used_by"),
        },
    }


def _pending_sinks(last_error: str | None, configured: list[str]) -> list[str]:
    """The sinks still owed a row: all configured ones, unless an earlier attempt
    recorded which succeeded (``last_error`` is then JSON with ``pending``)."""
    if last_error:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            pending = json.loads(last_error).get("pending")
            if isinstance(pending, list):
                return [s for s in configured if s in pending]
    return configured


class Notifier:
    """Delivers the outbox: one poller task per process, leased rows, backoff."""

    def __init__(
        self,
        config: NotifyConfig,
        on_failure: FailureHook | None = None,
        *,
        outbox: Outbox | None = None,
        link: Callable[[str], str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.on_failure = on_failure
        self.outbox = outbox
        self.link: Callable[[str], str] = link or (lambda card_id: card_id)
        self.console_url: str | None = None  # the console's base URL, for non-card links
        self.clock = clock
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._poller: asyncio.Task[None] | None = None
        self._inflight: set[int] = set()
        self._next_due: float | None = None  # earliest retry this process scheduled
        self._idle: asyncio.Event | None = None
        self.slack: SlackApp | None = None
        if config.slack_bot_token:
            self.slack = SlackApp(
                config.slack_bot_token,
                config.slack_channel or "",
                api_url=config.slack_api_url,
                http=self._http,
            )

    def attach(self, outbox: object, link: Callable[[str], str] | None = None) -> None:
        """Deliver from ``outbox`` (a control plane) if it has one."""
        if hasattr(outbox, "claim_notifications") and hasattr(outbox, "notification_done"):
            self.outbox = cast(Outbox, outbox)
            if self.slack is not None:
                self.slack.control = outbox
        elif self.config.enabled:
            log.warning("notifications are off: this control plane has no outbox")
        if link is not None:
            self.link = link

    def _now(self) -> float:
        """The outbox's clock (its leases and retry times are in it), else wall time."""
        clock = self.clock or getattr(self.outbox, "clock", None)
        return float(clock() if callable(clock) else time.time())

    def start(self) -> None:
        """Start polling on the running event loop (the app's lifespan calls this)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        if self.config.enabled and self.outbox is not None:
            self._poller = self._loop.create_task(self._run())

    def publish(self) -> None:
        """Something was queued in the outbox: poll now rather than at the next tick.
        Safe from worker threads."""
        loop, wake = self._loop, self._wake
        if self._poller is None or loop is None or wake is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        assert self.outbox is not None and self._wake is not None and self._idle is not None
        outbox = self.outbox
        while True:
            try:
                rows = await anyio.to_thread.run_sync(
                    outbox.claim_notifications, self.config.batch, self.config.lease
                )
            except Exception:
                log.exception("claiming notifications failed; retrying on the next tick")
                rows = []
            if rows:
                self._idle.clear()
                await asyncio.gather(*(self._deliver_row(dict(row)) for row in rows))
                continue  # there may be more due
            self._idle.set()
            timeout = self.config.poll_interval
            if self._next_due is not None:
                timeout = max(0.0, min(timeout, self._next_due - self._now()))
                self._next_due = None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def _deliver_row(self, row: dict[str, Any]) -> None:
        assert self.outbox is not None
        outbox, row_id = self.outbox, int(row["id"])
        self._inflight.add(row_id)
        try:
            if row["event"] not in _DELIVERED_EVENTS:
                await anyio.to_thread.run_sync(lambda: outbox.notification_done(row_id))
                return
            if self._now() - float(row["created_at"]) > self.config.max_age:
                await anyio.to_thread.run_sync(
                    lambda: outbox.notification_done(row_id, error="stale: never delivered")
                )
                return
            payload = (
                lockdown_event(row, self.console_url)
                if row["event"] in _LOCKDOWN_EVENTS
                else outbox_event(row, self.link)
            )
            sinks = _pending_sinks(row.get("last_error"), self.config.sinks())
            results = await asyncio.gather(*(self._post(sink, payload, row_id) for sink in sinks))
            failed = {sink: error for sink, error in zip(sinks, results, strict=True) if error}
            attempt = int(row["attempts"])
            if not failed:
                await anyio.to_thread.run_sync(lambda: outbox.notification_done(row_id))
                return
            summary = json.dumps(
                {
                    "pending": sorted(failed),
                    "error": "; ".join(f"{s}: {e}" for s, e in failed.items()),
                }
            )
            if attempt < self.config.attempts:
                retry_at = self._now() + self.config.delay(attempt)
                await anyio.to_thread.run_sync(
                    lambda: outbox.notification_done(row_id, error=summary, retry_at=retry_at)
                )
                if self._next_due is None or retry_at < self._next_due:
                    self._next_due = retry_at
                return
            await anyio.to_thread.run_sync(lambda: outbox.notification_done(row_id, error=summary))
            for sink, error in failed.items():
                log.warning(
                    "notification %d to %s failed after %d attempts: %s",
                    row_id, sink, attempt, error,
                )  # fmt: skip
                await self._failed(sink, payload, error)
        except Exception:
            log.exception("delivering notification %d failed; its lease will lapse", row_id)
        finally:
            self._inflight.discard(row_id)

    async def _post(self, sink: str, payload: dict[str, Any], row_id: int) -> str | None:
        """One attempt; None when delivered, else a secret-free reason."""
        if sink == "slack_app":
            if self.slack is None:
                return "the Slack app is not configured"
            card = payload["card"]
            return await self.slack.deliver(payload["event"], card["id"], card["link"])
        if sink == "webhook":
            url = self.config.webhook_url
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
            headers = {"Content-Type": "application/json", "X-Opsgate-Event": payload["event"]}
            if self.config.webhook_secret:
                headers["X-Opsgate-Signature"] = sign(self.config.webhook_secret, body)
        else:
            url = self.config.slack_url
            body = json.dumps(slack_payload(payload)).encode("utf-8")
            headers = {"Content-Type": "application/json"}
        headers["X-Opsgate-Delivery"] = str(row_id)
        assert url is not None
        try:
            response = await self._http().post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return type(exc).__name__  # not str(exc): it may quote the secret URL
        return None if response.status_code < 300 else f"HTTP {response.status_code}"

    async def _failed(self, sink: str, payload: dict[str, Any], error: str) -> None:
        if self.on_failure is None:
            return
        try:
            outcome = self.on_failure(sink, payload, error)
            if outcome is not None:
                await outcome
        except Exception:
            log.exception("recording a failed notification failed")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.timeout, follow_redirects=False)
        return self._client

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until the outbox has nothing due for this process (tests, shutdown)."""
        if self._poller is None or self._idle is None or self._wake is None:
            return
        self._idle.clear()
        self._wake.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        poller, self._poller = self._poller, None
        interrupted = set(self._inflight)
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        # Hand back the rows this process was still delivering: another replica (or
        # the next start) retries them now instead of after the lease.
        outbox = self.outbox
        if outbox is not None and interrupted:
            now = self._now()

            def release() -> None:
                assert outbox is not None
                for row_id in interrupted:
                    with contextlib.suppress(Exception):
                        outbox.notification_done(
                            row_id, error="interrupted by shutdown", retry_at=now
                        )

            await anyio.to_thread.run_sync(release)
        self._inflight.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
