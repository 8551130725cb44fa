"""Approving where people are: Slack interactive messages.

With a bot token and a channel configured, a new card is posted there with
**Approve** and **Deny** buttons (Block Kit, ``chat.postMessage``), and the message
is rewritten (``chat.update``) whenever the card changes, wherever it was decided.
A destructive card offers no Approve button: its button opens the console, where
the approver types the target's name.

A click comes back to ``POST /api/v1/slack/interactions`` (``routes_slack``):
signed by Slack with the app's signing secret (``verify``), at most five minutes
old, never accepted twice.  The Slack user acts as the opsgate person they linked
(``AccountsMixin``), through the same service calls as the console, so every role
rule applies unchanged.

Settings (``NotifyConfig``): ``OPSGATE_SLACK_BOT_TOKEN`` (xoxb-…, scope
``chat:write``), ``OPSGATE_SLACK_CHANNEL`` (a channel id), ``OPSGATE_SLACK_SIGNING_SECRET``,
optionally ``OPSGATE_SLACK_TEAM_ID`` (refuse clicks from any other workspace) and
``OPSGATE_SLACK_API_URL`` (default ``https://slack.com/api``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import httpx

from opsgate.approvals.model import Card, CardState

__all__ = [
    "MAX_AGE",
    "SlackApp",
    "SlackError",
    "card_message",
    "link_message",
    "signature",
    "verify",
]

log = logging.getLogger("opsgate.server.slack")

MAX_AGE = 300  # seconds: Slack's own advice for refusing an old (replayed) request
APPROVE, DENY, LINK, NOT_ME = "opsgate_approve", "opsgate_deny", "opsgate_link", "opsgate_not_me"
_IMPACT = {"safe": ":white_check_mark: Safe", "caution": ":warning: Caution",
           "destructive": ":x: Destructive"}  # fmt: skip
_OUTCOME = {
    CardState.APPROVED: ":white_check_mark: Approved by {who}",
    CardState.DENIED: ":no_entry: Denied by {who}",
    CardState.EXPIRED: ":hourglass: Expired: nobody decided in time",
    CardState.CANCELLED: ":heavy_minus_sign: Cancelled",
    CardState.EXECUTING: ":gear: Running (approved by {who})",
    CardState.COMPLETED: ":white_check_mark: Completed (approved by {who})",
    CardState.FAILED: ":x: Failed (approved by {who})",
}


class SlackError(Exception):
    """Slack answered ``ok: false`` (the code is Slack's, e.g. ``channel_not_found``),
    or could not be reached."""


class BadRequest(Exception):
    """An interaction request that is not Slack's, or not now: refused with ``status``."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- request signatures --------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str | None, sent: str | None, body: bytes, now: float | None = None
) -> None:
    """Refuse (``BadRequest``) a request Slack did not sign, or signed over five
    minutes ago (either way from now: a clock far ahead is as suspect)."""
    if not timestamp or not sent:
        raise BadRequest("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise BadRequest("X-Slack-Request-Timestamp is not a time")
    moment = time.time() if now is None else now
    if abs(moment - int(timestamp)) > MAX_AGE:
        raise BadRequest("the request is more than five minutes old (or from the future)")
    if not hmac.compare_digest(sent.encode("utf-8"), signature(secret, timestamp, body).encode()):
        raise BadRequest("the request's signature does not match")


# --- Block Kit messages ----------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(epoch: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))
    return f"<!date^{int(epoch)}^{{date_short_pretty}} {{time}}|{stamp}>"


def card_message(card: Card, link: str, decided_by: str | None = None) -> dict[str, Any]:
    """``text`` and ``blocks`` for ``card`` as it is now (``card`` already redacted)."""
    impact = card.impact.label
    pending = card.state is CardState.PENDING
    headline = f"{card.description} on {card.target} ({card.environment.label}, {impact})"
    verb = "needs approval" if pending else card.state.value
    facts = [
        ("Target", card.target),
        ("Environment", card.environment.label),
        ("Impact", _IMPACT.get(impact, impact)),
        ("Requested by", card.requested_by_name),
    ]
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{_escape(v)}"} for k, v in facts]
    if pending:
        fields.append({"type": "mrkdwn", "text": f"*Expires*\n{_date(card.expires_at)}"})
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_escape(card.description)}*"}},
        {"type": "section", "fields": fields},
    ]
    status = f"card {card.id}"
    if not pending:
        outcome = _OUTCOME.get(card.state, card.state.value).format(who=decided_by or "someone")
        if card.reason and card.state in (CardState.DENIED, CardState.CANCELLED):
            outcome += f": {card.reason}"
        status = f"{outcome} · {status}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(status)}]})
    blocks.append(
        {"type": "actions", "block_id": f"card:{card.id}", "elements": _buttons(card, link)}
    )
    return {"text": _escape(f"opsgate: {headline} {verb}"), "blocks": blocks}


def _button(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, **extra}


def _buttons(card: Card, link: str) -> list[dict[str, Any]]:
    if card.state is not CardState.PENDING:
        return [_button("Open card", action_id="opsgate_open", url=link)]
    if card.confirm is not None:
        # The typed confirmation happens in the console, never in Slack.
        allow = _button("Type the name in the console to allow", action_id="opsgate_open",
                        url=link, style="primary")  # fmt: skip
    else:
        allow = _button(
            "Approve",
            action_id=APPROVE,
            value=card.id,
            style="primary",
            confirm={
                "title": {"type": "plain_text", "text": "Approve?"},
                "text": {"type": "mrkdwn", "text": _escape(card.description)},
                "confirm": {"type": "plain_text", "text": "Approve"},
                "deny": {"type": "plain_text", "text": "Cancel"},
            },
        )
    deny = _button("Deny", action_id=DENY, value=card.id, style="danger")
    return [allow, deny, _button("Open card", action_id="opsgate_open", url=link)]


def link_message(person: str, code: str | None) -> dict[str, Any]:
    """The direct message that asks a Slack user to confirm a link (``code``), or
    says how it ended (``code`` None: ``person`` is the outcome's text)."""
    if code is None:
        return {"text": person, "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _escape(person)}}]}  # fmt: skip
    text = (
        f"opsgate user *{_escape(person)}* asked to link this Slack account. Confirm only if "
        f"you are {_escape(person)}: your clicks on opsgate cards in Slack will then act as "
        "that opsgate user."
    )
    return {
        "text": f"Link this Slack account to opsgate user {person}?",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    _button("Confirm link", action_id=LINK, value=code, style="primary"),
                    _button("Not me", action_id=NOT_ME, value=code),
                ],
            },
        ],
    }


# --- the Web API client and the notifier's sink ------------------------------------------------


class SlackApp:
    """Calls Slack's Web API with the bot token; posts and updates card messages for
    the notifier (the ``slack_app`` sink)."""

    def __init__(
        self,
        token: str,
        channel: str,
        *,
        api_url: str = "https://slack.com/api",
        http: Callable[[], httpx.AsyncClient],
    ) -> None:
        self._token = token
        self.channel = channel
        self.api_url = api_url.rstrip("/")
        self._http = http
        self.control: Any = None  # the control plane (set by the notifier's attach)
        self._locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"SlackApp(channel={self.channel!r}, api_url={self.api_url!r})"

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        try:
            response = await self._http().post(f"{self.api_url}/{method}", json=body,
                                               headers=headers)  # fmt: skip
        except httpx.HTTPError as exc:
            raise SlackError(type(exc).__name__) from None  # str(exc) may quote the URL
        if response.status_code == 429:
            raise SlackError("ratelimited")
        try:
            answer: dict[str, Any] = response.json()
        except ValueError:
            raise SlackError(f"HTTP {response.status_code}") from None
        if not answer.get("ok"):
            raise SlackError(str(answer.get("error") or f"HTTP {response.status_code}"))
        return answer

    async def ephemeral(self, channel: str, user: str, text: str) -> None:
        """A note only ``user`` sees (a refusal, a hint); failures are only logged."""
        try:
            await self.call("chat.postEphemeral", {"channel": channel, "user": user, "text": text})
        except SlackError as exc:
            log.warning("Slack refused an ephemeral message: %s", exc)

    async def deliver(self, event: str, card_id: str, link: str) -> str | None:
        """Post the card (``card.created``) or update its message; None when done,
        else a secret-free reason (the outbox retries with backoff)."""
        lock = self._locks.setdefault(card_id, asyncio.Lock())
        try:
            async with lock:  # a card's post lands before its updates, in this process
                return await self._deliver(event, card_id, link)
        except SlackError as exc:
            return f"Slack: {exc}"
        finally:
            if not lock.locked():
                self._locks.pop(card_id, None)

    async def _deliver(self, event: str, card_id: str, link: str) -> str | None:
        found = await anyio.to_thread.run_sync(lambda: self._card(card_id))
        if found is None:
            return None  # gone: nothing to show
        card, decided_by = found
        message = card_message(card, link, decided_by)
        known = await anyio.to_thread.run_sync(lambda: self.control.slack_message(card_id))
        if known is not None:
            channel, ts = known
            await self.call("chat.update", {"channel": channel, "ts": ts, **message})
            return None
        if event != "card.created" and time.time() - card.created_at < 30:
            return "Slack: the card's first message is not posted yet"  # retried shortly
        posted = await self.call("chat.postMessage", {"channel": self.channel, **message})
        channel, ts = str(posted.get("channel") or self.channel), str(posted.get("ts") or "")
        await anyio.to_thread.run_sync(
            lambda: self.control.remember_slack_message(card_id, channel, ts)
        )
        return None

    def _card(self, card_id: str) -> tuple[Card, str | None] | None:
        """The card as it is now (redacted) and the name of who decided it."""
        from opsgate.approvals._describe import shown
        from opsgate.store import _cards, _people

        with self.control.store.read() as conn:
            found = _cards.get_card(conn, card_id, time.time())
            if found is None:
                return None
            card = found[0]
            user = _people.get_user(conn, card.decided_by) if card.decided_by else None
        return shown(card), (user.name if user else card.decided_by)

    async def ask_to_link(self, person: str, slack_user: str, code: str) -> None:
        """Send ``slack_user`` the message with the button that completes the link."""
        await self.call("chat.postMessage", {"channel": slack_user, **link_message(person, code)})
