# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""Notifications: a signed generic webhook and a Slack payload, delivered to a real
HTTP server on 127.0.0.1; retried with backoff; failures land in the audit trail;
payloads never carry the command, the reasoning or any secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_server_api import (  # noqa: F401  (fixtures)
    DESTRUCTIVE,
    PUBLIC,
    ApiClient,
    Org,
    control,
    home,
    org,
    propose,
)

from opsgate.approvals.service import ControlPlane
from opsgate.server import AppConfig, create_app
from opsgate.server.notify import NotifyConfig

HMAC_KEY = "webhook-signing-key"


class Receiver:
    """A local HTTP server that records each POST and fails the first ``fail`` ones."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        self.attempts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                outer.attempts += 1
                if outer.attempts <= outer.fail:
                    self.send_response(503)
                else:
                    outer.seen.append((self.path, dict(self.headers.items()), body))
                    self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count:
            assert time.monotonic() < deadline, f"got {len(self.seen)} of {count} deliveries"
            time.sleep(0.02)
        return self.seen

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def app_client(control: ControlPlane, notify: NotifyConfig, **config: Any) -> ApiClient:
    app = create_app(
        control,
        config=AppConfig(public_url=PUBLIC, **{"expire_interval": 0, **config}),
        notify=notify,
    )
    return ApiClient(app)


def test_new_and_decided_cards_are_signed_and_secret_free(
    control: ControlPlane, org: Org, receiver: Receiver
) -> None:
    notify = NotifyConfig(
        webhook_url=f"{receiver.url}/hook",
        webhook_secret=HMAC_KEY,
        slack_url=f"{receiver.url}/slack",
        backoff=0.01,
    )
    body = {**DESTRUCTIVE, "reasoning": "api namespace is stale; token=sk-live-abcdef"}
    with app_client(control, notify) as client:
        card = propose(client, org, body)["card"]
        seen = receiver.wait(2)
        client.post(
            f"/api/v1/cards/{card['id']}/approve",
            json={"confirmation": card["confirm"]},
            headers=org.headers("admin"),
        )
        seen = receiver.wait(4)
    hooks = [(h, b) for path, h, b in seen if path == "/hook"]
    slack = [json.loads(b) for path, _, b in seen if path == "/slack"]
    assert len(hooks) == 2 and len(slack) == 2
    for headers, raw in hooks:
        expected = "sha256=" + hmac.new(HMAC_KEY.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Opsgate-Signature"] == expected
    events = sorted(json.loads(raw)["event"] for _, raw in hooks)
    assert events == ["card.approved", "card.created"]
    payload = json.loads(hooks[0][1])
    assert set(payload["card"]) == {
        "id",
        "description",
        "target",
        "environment",
        "impact",
        "state",
        "link",
        "reason",  # why it closed, in opsgate's words (or the denier's)
        "approved_by",  # names
        "used_by",  # the agent token's name
    }
    assert payload["card"]["link"] == f"{PUBLIC}/cards/{card['id']}"
    everything = b"".join(raw for _, _, raw in seen).decode()
    assert "sk-live-abcdef" not in everything  # the reasoning stays home
    assert DESTRUCTIVE["input"]["command"] not in everything  # so does the exact command
    assert all({"text", "blocks"} <= set(s) for s in slack)


def test_retries_with_backoff_then_succeeds(control: ControlPlane, org: Org) -> None:
    receiver = Receiver(fail=2)
    try:
        notify = NotifyConfig(webhook_url=receiver.url, backoff=0.05, attempts=4)
        with app_client(control, notify) as client:
            started = time.monotonic()
            propose(client, org, DESTRUCTIVE)
            receiver.wait(1)
            elapsed = time.monotonic() - started
        assert receiver.attempts == 3
        assert elapsed >= 0.05 + 0.1  # two waits: 0.05 s, then doubled
    finally:
        receiver.close()


def test_a_failed_delivery_is_audited(control: ControlPlane, org: Org) -> None:
    receiver = Receiver(fail=1000)
    try:
        notify = NotifyConfig(webhook_url=receiver.url, backoff=0.01, attempts=3)
        with app_client(control, notify) as client:
            card = propose(client, org, DESTRUCTIVE)["card"]
            deadline = time.monotonic() + 10
            found: list[dict[str, Any]] = []
            while not found:
                assert time.monotonic() < deadline, "no notification.failed entry"
                time.sleep(0.05)
                found = client.get(
                    "/api/v1/audit",
                    params={"event": "notification.failed"},
                    headers=org.headers("admin"),
                ).json()["items"]
        assert receiver.attempts == 3
        result = found[0]["result"]
        assert result["card"] == card["id"] and result["sink"] == "webhook"
        assert result["error"] == "HTTP 503"
        assert receiver.url not in json.dumps(found)
    finally:
        receiver.close()


def test_the_sweeper_expires_due_cards_and_announces_them(
    control: ControlPlane, org: Org, receiver: Receiver
) -> None:
    notify = NotifyConfig(webhook_url=receiver.url, backoff=0.01, poll_interval=0.05)
    app = create_app(
        control, config=AppConfig(public_url=PUBLIC, expire_interval=0.05), notify=notify
    )
    with ApiClient(app) as client:
        card = propose(client, org, DESTRUCTIVE)["card"]
        receiver.wait(1)
        real_clock = control.clock  # type: ignore[attr-defined]
        control.clock = lambda: real_clock() + 3600  # type: ignore[attr-defined]  # past the TTL
        seen = receiver.wait(2)
    assert sorted(json.loads(b)["event"] for _, _, b in seen) == ["card.created", "card.expired"]
    assert json.loads(seen[1][2])["card"]["id"] == card["id"]


def test_a_notification_queued_before_a_crash_is_delivered_by_the_next_process(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The outbox is in the store: a card proposed on a process that then dies (SIGKILL,
    no shutdown hooks) is announced by the next process to start on the same data."""
    from test_server_scaleout import Replica, login

    home = tmp_path / "home"
    first = Replica(home, "first").wait_ready()  # no sink configured: nothing delivered
    try:
        time.sleep(0.1)
        password = first.owner_password()
        assert password, first.lines
        owner = login(first.url, "owner", password)
        token = httpx.post(f"{first.url}/api/v1/tokens", headers=owner, json={"name": "claude"})
        agent = {"Authorization": f"Bearer {token.json()['secret']}"}
        r = httpx.post(f"{first.url}/api/v1/propose", json=DESTRUCTIVE, headers=agent)
        card = r.json()["card"]
    finally:
        first.kill()
    assert receiver.seen == []
    second = Replica(home, "second", OPSGATE_WEBHOOK_URL=f"{receiver.url}/hook").wait_ready()
    try:
        seen = receiver.wait(1)
        time.sleep(0.3)
    finally:
        second.stop()
    assert len(receiver.seen) == 1
    payload = json.loads(seen[0][2])
    assert payload["event"] == "card.created" and payload["card"]["id"] == card["id"]


def test_a_lapsed_lease_is_delivered_once_by_another_replica(
    control: ControlPlane, org: Org, receiver: Receiver
) -> None:
    """A replica that claimed a notification and died holds it only for its lease;
    then another replica delivers it, once."""
    notify = NotifyConfig(webhook_url=receiver.url, poll_interval=0.05)
    with app_client(control, NotifyConfig()) as quiet:  # no sink: leaves the outbox alone
        card = propose(quiet, org, DESTRUCTIVE)["card"]
    claimed = control.claim_notifications(lease_seconds=0.5)  # type: ignore[attr-defined]
    assert [row["event"] for row in claimed] == ["card.created"]  # …and the claimer died
    started = time.monotonic()
    with app_client(control, notify), app_client(control, notify):  # two live replicas
        seen = receiver.wait(1)
        assert time.monotonic() - started >= 0.3  # not before the lease lapsed
        time.sleep(0.3)
    assert len(receiver.seen) == 1
    assert json.loads(seen[0][2])["card"]["id"] == card["id"]
