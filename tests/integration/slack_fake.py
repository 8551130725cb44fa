"""A stand-in for Slack, for tests: the Web API methods opsgate calls, over real HTTP
on 127.0.0.1 with Slack's request and response shapes, and interaction requests
signed exactly as Slack signs them.

Web API (https://api.slack.com/web): ``POST {base}/{method}`` with
``Authorization: Bearer xoxb-…`` and a JSON body; the answer is always HTTP 200
with ``{"ok": true, …}`` or ``{"ok": false, "error": "<code>"}`` (``invalid_auth``,
``channel_not_found``, ``message_not_found``, ``invalid_blocks``…).  Posting to a
user id opens the app's direct message channel (``D…``) and answers with it.

Interactions (https://api.slack.com/interactivity/handling): ``POST`` of
``application/x-www-form-urlencoded`` ``payload=<JSON>``, signed with
``X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:{timestamp}:{body}"))``
and ``X-Slack-Request-Timestamp``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

__all__ = ["BOT_TOKEN", "SIGNING_SECRET", "TEAM", "FakeSlack", "block_action", "signed"]

BOT_TOKEN = "xoxb-1111111111-2222222222-abcdefABCDEF1234567890ab"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0OPSGATE"
_CHANNEL_PREFIXES = ("C", "G", "D")


class FakeSlack:
    """Records every Web API call; keeps the messages it was asked to post."""

    def __init__(self, channels: tuple[str, ...] = ("C0APPROVALS",)) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.channels = set(channels)
        self.users = {"U0ADA", "U0VIC", "U0MAX", "U0OLIVE", "U0EVE"}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                method = self.path.rsplit("/", 1)[-1]
                answer = outer._answer(method, self.headers, raw)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, method: str, headers: Any, raw: bytes) -> dict[str, Any]:
        if headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            return {"ok": False, "error": "invalid_auth"}
        if not str(headers.get("content-type", "")).startswith("application/json"):
            return {"ok": False, "error": "invalid_form_data"}
        try:
            body = json.loads(raw)
        except ValueError:
            return {"ok": False, "error": "invalid_json"}
        with self._lock:
            self.calls.append((method, body))
            return self._method(method, body)

    def _method(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if method == "chat.postMessage":
            if channel in self.users:
                channel = "D" + channel[1:]  # the app's direct message with that user
            elif channel not in self.channels:
                return {"ok": False, "error": "channel_not_found"}
            if not body.get("text") and not body.get("blocks"):
                return {"ok": False, "error": "no_text"}
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            message = {"type": "message", "text": body.get("text"), "blocks": body.get("blocks"),
                       "ts": ts, "bot_id": "B0OPSGATE"}  # fmt: skip
            self.messages[(channel, ts)] = message
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            key = (channel, str(body.get("ts", "")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key] = {**self.messages[key], "text": body.get("text"),
                                  "blocks": body.get("blocks")}  # fmt: skip
            return {"ok": True, "channel": channel, "ts": key[1], "text": body.get("text")}
        if method == "chat.postEphemeral":
            if body.get("user") not in self.users:
                return {"ok": False, "error": "user_not_in_channel"}
            return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}
        return {"ok": False, "error": "unknown_method"}

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for name, body in self.calls if name == method]

    def wait(self, method: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            assert time.monotonic() < deadline, f"{method}: {self.calls}"
            time.sleep(0.02)
        return self.calls_to(method)


def block_action(
    action_id: str,
    value: str,
    *,
    user: str,
    team: str = TEAM,
    channel: str = "C0APPROVALS",
    message_ts: str = "1700000000.000001",
) -> dict[str, Any]:
    """A ``block_actions`` payload as Slack sends it for a button click."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0OPSGATE",
        "token": "legacy-verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(time.time())}.123.abcdef",
        "team": {"id": team, "domain": "opsgate-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "approvals"},
        "message": {"type": "message", "ts": message_ts, "text": "…"},
        "response_url": "https://hooks.slack.com/actions/T0OPSGATE/1/xyz",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "card",
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def signed(
    payload: dict[str, Any], *, secret: str = SIGNING_SECRET, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the interaction request Slack would send."""
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    timestamp = str(int(time.time() if at is None else at))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
