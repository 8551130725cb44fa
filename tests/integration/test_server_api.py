"""The HTTP API in-process (httpx over the ASGI app): the happy paths, sessions,
pagination, and that no response ever carries a secret.

Shared fixtures for the other ``test_server_*`` modules live here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI

from opsgate.approvals.control import open_control_plane
from opsgate.approvals.model import Role
from opsgate.approvals.service import ControlPlane, Principal
from opsgate.server import AppConfig, create_app

PUBLIC = "https://opsgate.example.test"
CAUTION = {
    "tool": "Bash",
    "input": {"command": "kubectl --context staging rollout restart deploy/api"},
}
DESTRUCTIVE = {
    "tool": "Bash",
    "input": {"command": "kubectl --context staging delete namespace api"},
}
SAFE = {"tool": "Bash", "input": {"command": "ls -la"}, "cwd": "/tmp"}
PASSWORD = "correct horse battery staple"


class ApiClient:
    """A synchronous client over ``httpx.ASGITransport``: the app in-process, its
    lifespan (expiry sweep, notifier) running on an event loop in a helper thread."""

    def __init__(self, app: FastAPI, base_url: str = "https://testserver") -> None:
        self.app = app
        self.base_url = base_url

    def __enter__(self) -> ApiClient:
        self._portal_cm = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._lifespan = self.app.router.lifespan_context(self.app)
        self.portal.call(self._lifespan.__aenter__)
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url=self.base_url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.portal.call(self._client.aclose)
        self.portal.call(self._lifespan.__aexit__, None, None, None)
        self._portal_cm.__exit__(None, None, None)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            return await self._client.request(method, url, **kwargs)

        return self.portal.call(send)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@dataclass
class Org:
    """One organisation: a person per role (with a session) and an agent token."""

    control: ControlPlane
    principals: dict[str, Principal]
    sessions: dict[str, str]
    agent_token: str
    user_ids: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        if role == "agent":
            return {"Authorization": f"Bearer {self.agent_token}"}
        return {"Cookie": f"opsgate_session={self.sessions[role]}"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import os

    for key in list(os.environ):
        if key.startswith("OPSGATE_"):
            monkeypatch.delenv(key)
    home = tmp_path / "opsgate-home"
    monkeypatch.setenv("OPSGATE_HOME", str(home))
    return home


@pytest.fixture
def control(home: Path) -> Iterator[ControlPlane]:
    cp = open_control_plane(data_dir=home)
    yield cp
    cp.close()  # type: ignore[attr-defined]


def make_org(control: ControlPlane) -> Org:
    owner = control.create_user(None, "olive", PASSWORD, Role.OWNER)
    sessions = {"owner": control.login("olive", PASSWORD)[1]}
    principals = {"owner": control.session(sessions["owner"])}
    ids = {"owner": owner.id}
    for name, role in (("ada", Role.ADMIN), ("max", Role.MEMBER), ("vic", Role.VIEWER)):
        user = control.create_user(principals["owner"], name, PASSWORD, role)  # type: ignore[arg-type]
        ids[role.value] = user.id
        sessions[role.value] = control.login(name, PASSWORD)[1]
        principals[role.value] = control.session(sessions[role.value])
    # The agent's token belongs to a person who approves nothing here: nobody approves a
    # request made through a token they created.
    control.create_user(principals["owner"], "bea", PASSWORD, Role.MEMBER)  # type: ignore[arg-type]
    keeper = control.session(control.login("bea", PASSWORD)[1])
    _info, secret = control.create_token(keeper, "claude", Role.AGENT)  # type: ignore[arg-type]
    principals["agent"] = control.token(secret)
    assert all(principals.values())
    return Org(control, principals, sessions, secret, ids)  # type: ignore[arg-type]


@pytest.fixture
def org(control: ControlPlane) -> Org:
    return make_org(control)


@pytest.fixture
def client(control: ControlPlane) -> Iterator[ApiClient]:
    app = create_app(control, config=AppConfig(public_url=PUBLIC, expire_interval=0))
    with ApiClient(app) as c:
        yield c


def propose(
    client: ApiClient, org: Org, body: dict[str, Any], role: str = "agent"
) -> dict[str, Any]:
    r = client.post("/api/v1/propose", json=body, headers=org.headers(role))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def assert_envelope(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    err: dict[str, Any] = body["error"]
    return err


def test_healthz_and_openapi_need_no_login(client: ApiClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    doc = client.get("/openapi.json").json()
    assert "/api/v1/cards/{card_id}/approve" in doc["paths"]
    assert "/api/v1/audit/verify" in doc["paths"]


def test_login_sets_a_strict_cookie_and_logout_ends_the_session(
    client: ApiClient, org: Org
) -> None:
    r = client.post("/api/v1/session", json={"name": "ada", "password": PASSWORD})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].lower()
    for flag in ("httponly", "secure", "samesite=strict", "path=/"):
        assert flag in cookie
    assert r.json()["user"]["role"] == "admin"
    assert PASSWORD not in r.text
    secret = r.cookies["opsgate_session"]
    assert secret not in r.text  # the secret travels in the cookie only
    me = client.get("/api/v1/session")
    assert me.json()["principal"]["name"] == "ada"
    assert client.delete("/api/v1/session").status_code == 204
    client.cookies.clear()
    gone = client.get("/api/v1/session", headers={"Cookie": f"opsgate_session={secret}"})
    assert_envelope(gone, 401)


def test_wrong_password_is_401(client: ApiClient, org: Org) -> None:
    r = client.post("/api/v1/session", json={"name": "ada", "password": "nope-nope"})
    assert_envelope(r, 401)
    assert "set-cookie" not in r.headers


def test_evaluate_is_a_dry_run(client: ApiClient, org: Org) -> None:
    r = client.post("/api/v1/evaluate", json=DESTRUCTIVE, headers=org.headers("agent"))
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "require_approval"
    assert r.json()["impact"] == "destructive"
    cards = client.get("/api/v1/cards", headers=org.headers("admin")).json()
    assert cards["items"] == []


def test_propose_approve_then_the_identical_retry_passes_once(client: ApiClient, org: Org) -> None:
    first = propose(client, org, DESTRUCTIVE)
    card = first["card"]
    assert first["decision"]["decision"] == "require_approval"
    assert card["state"] == "pending" and card["confirm"]
    assert first["link"] == f"{PUBLIC}/cards/{card['id']}" == card["link"]
    url = f"/api/v1/cards/{card['id']}/approve"
    bad = client.post(url, json={"confirmation": "wrong"}, headers=org.headers("admin"))
    assert_envelope(bad, 422, "confirmation_mismatch")
    ok = client.post(
        url, json={"confirmation": card["confirm"].upper()}, headers=org.headers("admin")
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "approved"
    assert ok.json()["decided_by"] == org.user_ids["admin"]
    check = client.post("/api/v1/grants/check", json=DESTRUCTIVE, headers=org.headers("agent"))
    assert check.json()["matched"] is True
    retry = propose(client, org, DESTRUCTIVE)
    assert (retry["grant"] is not None and retry["card"] is None) or retry["grant"] is not None
    again = client.post("/api/v1/grants/consume", json=DESTRUCTIVE, headers=org.headers("agent"))
    assert again.json() == {"matched": False, "grant": None}


def test_deny_and_cancel(client: ApiClient, org: Org) -> None:
    one = propose(client, org, CAUTION)["card"]
    r = client.post(
        f"/api/v1/cards/{one['id']}/deny", json={"reason": "not now"}, headers=org.headers("member")
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "denied" and r.json()["reason"] == "not now"
    twice = client.post(f"/api/v1/cards/{one['id']}/approve", json={}, headers=org.headers("admin"))
    assert_envelope(twice, 409)
    two = propose(
        client,
        org,
        {**CAUTION, "input": {"command": "kubectl --context staging rollout restart deploy/web"}},
    )["card"]
    r = client.post(f"/api/v1/cards/{two['id']}/cancel", headers=org.headers("agent"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled"


def test_cards_filter_and_paginate(client: ApiClient, org: Org) -> None:
    for i in range(7):
        propose(
            client,
            org,
            {
                "tool": "Bash",
                "input": {"command": f"kubectl --context staging rollout restart deploy/a{i}"},
            },
        )
    propose(client, org, DESTRUCTIVE)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "state": "pending"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/cards", params=params, headers=org.headers("viewer")).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 8
    destructive = client.get(
        "/api/v1/cards", params={"impact": "destructive"}, headers=org.headers("viewer")
    ).json()["items"]
    assert [c["impact"] for c in destructive] == ["destructive"]
    one = client.get(f"/api/v1/cards/{seen[0]}", headers=org.headers("viewer"))
    assert one.json()["id"] == seen[0]


def test_settings_take_effect_at_once(client: ApiClient, org: Org) -> None:
    r = client.patch(
        "/api/v1/settings", json={"write_actions": False}, headers=org.headers("admin")
    )
    assert r.status_code == 200, r.text
    assert r.json()["write_actions"] is False
    decided = client.post("/api/v1/evaluate", json=CAUTION, headers=org.headers("agent")).json()
    assert decided["decision"] == "deny"
    assert (
        client.get("/api/v1/settings", headers=org.headers("viewer")).json()["write_actions"]
        is False
    )


def test_inventory_feeds_the_engine(client: ApiClient, org: Org) -> None:
    body = {
        "kind": "server",
        "environment": "production",
        "access": "read_only",
        "match": ["*.corp.example.com"],
    }
    r = client.put("/api/v1/inventory/web-1", json=body, headers=org.headers("admin"))
    assert r.status_code == 200, r.text
    assert (
        client.get("/api/v1/inventory", headers=org.headers("viewer")).json()[0]["name"] == "web-1"
    )
    decided = client.post(
        "/api/v1/evaluate",
        headers=org.headers("agent"),
        json={
            "tool": "Bash",
            "input": {"command": "ssh web-1.corp.example.com sudo systemctl restart nginx"},
        },
    ).json()
    assert decided["decision"] == "deny"
    assert decided["environment"] == "production"
    # removing a production target is for owners (the service says so)
    assert_envelope(client.delete("/api/v1/inventory/web-1", headers=org.headers("admin")), 403)
    assert client.delete("/api/v1/inventory/web-1", headers=org.headers("owner")).status_code == 204
    assert client.get("/api/v1/inventory", headers=org.headers("viewer")).json() == []


def test_users_and_tokens_never_leak_secrets(client: ApiClient, org: Org) -> None:
    h = org.headers("owner")
    r = client.post(
        "/api/v1/users",
        json={"name": "nia", "password": "another long one", "role": "member"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    nia = r.json()
    assert set(nia) == {"id", "name", "role", "disabled"}
    r = client.patch(f"/api/v1/users/{nia['id']}", json={"role": "admin"}, headers=h)
    assert r.json()["role"] == "admin"
    made = client.post("/api/v1/tokens", json={"name": "ci", "role": "agent"}, headers=h)
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    listed = client.get("/api/v1/tokens", headers=h)
    everything = listed.text + client.get("/api/v1/users", headers=h).text
    for s in (secret, org.agent_token, *org.sessions.values(), PASSWORD, "another long one"):
        assert s not in everything
    assert "hash" not in everything
    token_id = made.json()["token"]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=h).json()["revoked"] is True
    assert_envelope(client.get("/api/v1/cards", headers={"Authorization": f"Bearer {secret}"}), 401)


def test_audit_query_and_verify(client: ApiClient, org: Org) -> None:
    card = propose(client, org, CAUTION)["card"]
    client.post(
        f"/api/v1/cards/{card['id']}/deny", json={"reason": "no"}, headers=org.headers("admin")
    )
    h = org.headers("viewer")
    page = client.get("/api/v1/audit", params={"event": "card.*", "limit": 1}, headers=h).json()
    assert page["items"][0]["event"] == "card.denied"
    older = client.get(
        "/api/v1/audit", params={"event": "card.*", "cursor": page["next_cursor"]}, headers=h
    ).json()
    assert [e["event"] for e in older["items"]] == ["card.created"]
    everything = json.dumps(client.get("/api/v1/audit", params={"limit": 500}, headers=h).json())
    for s in (org.agent_token, *org.sessions.values(), PASSWORD):
        assert s not in everything
    verified = client.get("/api/v1/audit/verify", headers=h).json()
    assert verified["ok"] is True and verified["entries"] > 0
