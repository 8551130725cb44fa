# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""Lockdown over the HTTP API and the console, in process: who may press and lift
it (agent tokens never; lifting only as a person), the hook route and ``propose``
refusing writes with the lockdown's reason while reads pass, no card and no
approval meanwhile, the webhook and Slack told (signed, secret-free), open
consoles told live, and the console's Agent Controls block behind its
confirmation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from test_server_api import (  # noqa: F401  (fixtures)
    CAUTION,
    DESTRUCTIVE,
    PUBLIC,
    SAFE,
    ApiClient,
    Org,
    control,
    home,
    org,
    propose,
)
from test_server_notify import HMAC_KEY, Receiver, app_client, receiver  # noqa: F401

from opsgate.approvals.model import Role
from opsgate.approvals.service import ControlPlane
from opsgate.server import AppConfig, create_app
from opsgate.server.notify import NotifyConfig

WHY = "prod incident 4711: agent looping on deploys"


def _client(control: ControlPlane) -> ApiClient:
    return ApiClient(create_app(control, config=AppConfig(public_url=PUBLIC, expire_interval=0)))


def test_lockdown_over_the_api(control: ControlPlane, org: Org) -> None:
    with _client(control) as client:
        pending = propose(client, org, CAUTION)["card"]
        seen = client.get("/api/v1/lockdown", headers=org.headers("agent")).json()
        assert seen["locked"] is False
        for role in ("agent", "viewer", "member"):
            r = client.post("/api/v1/lockdown", json={"reason": "x"}, headers=org.headers(role))
            assert r.status_code == 403, (role, r.text)
        r = client.post("/api/v1/lockdown", json={"reason": WHY}, headers=org.headers("admin"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["locked"] and body["by"] == "ada" and body["reason"] == WHY
        assert body["cancelled_cards"] == [pending["id"]]
        # Writes refused with the lockdown's reason; no card; reads pass.
        for action in (CAUTION, DESTRUCTIVE):
            out = propose(client, org, action)
            assert out["decision"]["decision"] == "deny" and out["card"] is None
            assert out["decision"]["decided_by"] == "lockdown"
            assert WHY in " ".join(out["decision"]["reasons"])
        assert propose(client, org, SAFE)["decision"]["decision"] == "allow"
        hook = client.post(
            "/api/v1/hooks/claude",
            json={"hook_event_name": "PreToolUse", "tool_name": "Bash",
                  "tool_input": CAUTION["input"], "cwd": "/tmp", "session_id": "s"},
            headers=org.headers("agent"),
        )  # fmt: skip
        answer = hook.json()["hookSpecificOutput"]
        assert (
            answer["permissionDecision"] == "deny"
            and "locked down" in answer["permissionDecisionReason"]
        )
        r = client.post(
            f"/api/v1/cards/{pending['id']}/approve", json={}, headers=org.headers("admin")
        )
        assert r.status_code == 409
        # An agent never lifts it; nor does a token of any role; a person does.
        _info, secret = control.create_token(org.principals["owner"], "ops-bot", Role.ADMIN)
        bot = {"Authorization": f"Bearer {secret}"}
        for headers in (org.headers("agent"), bot, org.headers("member")):
            r = client.post("/api/v1/lockdown/lift", json={"reason": "x"}, headers=headers)
            assert r.status_code == 403, r.text
        status = client.get("/api/v1/lockdown", headers=org.headers("agent")).json()
        assert status["locked"] and status["by"] == "ada"
        owner = org.headers("owner")
        r = client.post("/api/v1/lockdown/lift", json={"reason": "ok"}, headers=owner)
        assert r.status_code == 200 and r.json()["locked"] is False
        assert propose(client, org, CAUTION)["card"] is not None
        r = client.post("/api/v1/lockdown/lift", json={}, headers=org.headers("owner"))
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_locked_down"


@pytest.mark.parametrize("role", ["viewer", "member", "admin", "owner", "agent", "anonymous"])
def test_who_may_press_and_lift(control: ControlPlane, org: Org, role: str) -> None:
    """The authorisation matrix of the two lockdown routes (test_server_authz's rows)."""
    headers = {} if role == "anonymous" else org.headers(role)
    expected = {"anonymous": 401, "viewer": 403, "member": 403, "agent": 403}.get(role, 200)
    with _client(control) as client:
        on = client.post("/api/v1/lockdown", json={"reason": role}, headers=headers)
        assert on.status_code == expected, on.text
        if expected != 200:
            client.post("/api/v1/lockdown", json={}, headers=org.headers("owner"))
        off = client.post("/api/v1/lockdown/lift", json={}, headers=headers)
        assert off.status_code == expected, off.text
        assert set(off.json()) == ({"error"} if expected != 200 else set(off.json()))


def test_an_automation_token_may_lock_down(control: ControlPlane, org: Org) -> None:
    _info, secret = control.create_token(org.principals["owner"], "pager", Role.ADMIN)
    with _client(control) as client:
        r = client.post(
            "/api/v1/lockdown",
            json={"reason": "paged", "revoke_tokens": True},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert r.status_code == 200 and len(r.json()["revoked_tokens"]) == 1, r.text
        r = client.post("/api/v1/propose", json=SAFE, headers=org.headers("agent"))
        assert r.status_code == 401  # the agent's token went with it


def test_lockdown_is_announced_to_webhook_and_slack(
    control: ControlPlane, org: Org, receiver: Receiver
) -> None:
    notify = NotifyConfig(
        webhook_url=f"{receiver.url}/hook",
        webhook_secret=HMAC_KEY,
        slack_url=f"{receiver.url}/slack",
        backoff=0.01,
    )
    secretish = "token=sk-live-abcdefabcdef"
    with app_client(control, notify) as client:
        client.post(
            "/api/v1/lockdown", json={"reason": f"{WHY} {secretish}"}, headers=org.headers("admin")
        )
        client.post("/api/v1/lockdown/lift", json={"reason": "ok"}, headers=org.headers("owner"))
        seen = receiver.wait(4)
    hooks = [json.loads(b) for path, _, b in seen if path == "/hook"]
    slack = [json.loads(b) for path, _, b in seen if path == "/slack"]
    assert [h["event"] for h in hooks] == ["lockdown.started", "lockdown.lifted"]
    started = hooks[0]["lockdown"]
    assert started["by"] == "ada" and WHY in started["reason"] and started["locked"]
    assert started["link"] == f"{PUBLIC}/settings"
    assert "LOCKED DOWN by ada" in slack[0]["text"] and "lifted by olive" in slack[1]["text"]
    everything = b"".join(raw for _, _, raw in seen).decode()
    assert "sk-live-abcdef" not in everything  # the reason was redacted when stored


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _form(client: ApiClient, org: Org, role: str, **fields: Any) -> Any:
    page = client.get("/settings", headers=org.headers(role))
    headers = {**org.headers(role), "Origin": "https://testserver"}
    data = {"csrf": _csrf(page.text), **fields}
    return client.post("/settings/lockdown", data=data, headers=headers)


def test_console_control_needs_admin_and_confirmation(control: ControlPlane, org: Org) -> None:
    with _client(control) as client:
        member_page = client.get("/settings", headers=org.headers("member")).text
        assert 'data-testid="lockdown"' in member_page
        assert 'data-testid="lockdown-on"' not in member_page  # no button for members
        # … and the server refuses a forged post from one anyway.
        forged = _form(client, org, "member", action="on", confirm="yes", reason="x")
        assert forged.status_code == 403 and control.lockdown_status() is None
        unconfirmed = _form(client, org, "admin", action="on", reason=WHY)
        assert unconfirmed.status_code == 422 and control.lockdown_status() is None
        done = _form(client, org, "admin", action="on", confirm="yes", reason=WHY)
        assert done.status_code == 200 and "Locked down" in done.text
        assert 'data-testid="lockdown-state"' in done.text and WHY in done.text
        assert control.lockdown_status() is not None
        lifted = _form(client, org, "owner", action="off", confirm="yes", reason="fine")
        assert lifted.status_code == 200 and control.lockdown_status() is None


def test_open_consoles_hear_it_live(control: ControlPlane, org: Org) -> None:
    """The bus event a lockdown publishes becomes a ``lockdown`` server-sent event."""
    from opsgate.web._lockdown import lockdown_sse

    with _client(control) as client:
        bus = client.app.state.og.bus
        events: list[dict[str, Any]] = []
        original = bus.publish
        bus.publish = lambda event: (events.append(event), original(event))  # type: ignore[method-assign]
        client.post("/api/v1/lockdown", json={"reason": WHY}, headers=org.headers("owner"))
    lock = [e for e in events if e.get("kind") == "lockdown"]
    assert lock and lock[0]["locked"] and lock[0]["by"] == "olive"
    sse = lockdown_sse(lock[0])
    assert sse.startswith("event: lockdown\n") and WHY in sse
