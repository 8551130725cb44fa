"""Notifications of new and decided cards: a signed generic webhook and a
Slack-compatible incoming webhook, retried with exponential backoff.

Payloads carry only what a person needs to find the card — id, description,
target, environment, impact, state, link — never the command's input, the
agent's reasoning or any credential.  A delivery that still fails after its
retries is reported to ``on_failure`` (the app records it in the audit trail as
``notification.failed``).

Settings, declared once:

    OPSGATE_WEBHOOK_URL         generic JSON webhook (POST)
    OPSGATE_WEBHOOK_SECRET      HMAC-SHA256 key; header ``X-Opsgate-Signature: sha256=<hex>``
    OPSGATE_SLACK_WEBHOOK_URL   Slack incoming-webhook URL
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from opsgate.approvals.model import Card

__all__ = ["Notifier", "NotifyConfig", "card_event", "sign", "slack_payload"]

log = logging.getLogger("opsgate.server.notify")

FailureHook = Callable[[str, dict[str, Any], str], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    slack_url: str | None = field(default=None, repr=False)  # the URL itself is a secret
    attempts: int = 5
    backoff: float = 0.5  # first retry delay; doubles each time
    max_backoff: float = 30.0
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> NotifyConfig:
        return cls(
            webhook_url=env.get("OPSGATE_WEBHOOK_URL") or None,
            webhook_secret=env.get("OPSGATE_WEBHOOK_SECRET") or None,
            slack_url=env.get("OPSGATE_SLACK_WEBHOOK_URL") or None,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.slack_url)


def card_event(event: str, card: Card, link: str) -> dict[str, Any]:
    """The whole payload vocabulary: nothing else about a card ever leaves."""
    return {
        "event": event,
        "time": time.time(),
        "card": {
            "id": card.id,
            "description": card.description,
            "target": card.target,
            "environment": card.environment.label,
            "impact": card.impact.label,
            "state": card.state.value,
            "link": link,
        },
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


_VERBS = {
    "card.created": "needs approval",
    "card.approved": "was approved",
    "card.denied": "was denied",
    "card.expired": "expired",
    "card.cancelled": "was cancelled",
}


def slack_payload(payload: dict[str, Any]) -> dict[str, Any]:
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
                        "text": _escape(f"card {card['id']} · state {card['state']}"),
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


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Notifier:
    """An in-process queue with one delivery task per (event, sink)."""

    def __init__(self, config: NotifyConfig, on_failure: FailureHook | None = None) -> None:
        self.config = config
        self.on_failure = on_failure
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Bind to the running event loop (the app's lifespan calls this)."""
        self._loop = asyncio.get_running_loop()

    def publish(self, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for every configured sink; returns at once.  Safe to call
        from worker threads (sync routes run there)."""
        if not self.config.enabled:
            return
        if self._loop is None or self._loop.is_closed():
            log.warning("notification dropped: the notifier is not running")
            return
        self._loop.call_soon_threadsafe(self._spawn, payload)

    def _spawn(self, payload: dict[str, Any]) -> None:
        sinks: list[tuple[str, str, bytes, dict[str, str]]] = []
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        if self.config.webhook_url:
            headers = {"Content-Type": "application/json", "X-Opsgate-Event": payload["event"]}
            if self.config.webhook_secret:
                headers["X-Opsgate-Signature"] = sign(self.config.webhook_secret, body)
            sinks.append(("webhook", self.config.webhook_url, body, headers))
        if self.config.slack_url:
            slack = json.dumps(slack_payload(payload)).encode("utf-8")
            sinks.append(
                ("slack", self.config.slack_url, slack, {"Content-Type": "application/json"})
            )
        for sink in sinks:
            task = asyncio.get_running_loop().create_task(self._deliver(payload, *sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self, payload: dict[str, Any], sink: str, url: str, body: bytes, headers: dict[str, str]
    ) -> None:
        delay = self.config.backoff
        error = "not attempted"
        for attempt in range(1, self.config.attempts + 1):
            try:
                response = await self._http().post(url, content=body, headers=headers)
                if response.status_code < 300:
                    return
                error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__  # not str(exc): it may quote the secret URL
            if attempt < self.config.attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.max_backoff)
        log.warning(
            "notification to %s failed after %d attempts: %s", sink, self.config.attempts, error
        )
        await self._failed(sink, payload, error)

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
        """Wait for in-flight deliveries (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def close(self) -> None:
        await self.drain(timeout=2.0)
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
