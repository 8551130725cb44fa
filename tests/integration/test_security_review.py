"""Attacks from a hostile agent and a hostile low-privilege user, each pinned as a
test named after the attack (security review of the web console, MCP, execution
and http hook surfaces).  Every test drove a real weakness before its fix."""

from __future__ import annotations

import json

import pytest
from test_server_api import ApiClient, Org, control, home, make_org  # noqa: F401  (fixtures)

from opsgate.approvals.service import ControlPlane
from opsgate.models import Action
from opsgate.server import AppConfig, create_app

PUBLIC = "https://opsgate.example.test"
TOKEN = "ghp_" + "Zq8" * 12  # a GitHub-token-shaped string: the redactor's to mask
PASSWORD = "Pw-canary-4c1f9e"


def _client(cp: ControlPlane) -> ApiClient:
    return ApiClient(create_app(cp, config=AppConfig(public_url=PUBLIC, expire_interval=0)))


# --- secrets in the inventory ----------------------------------------------------------------


@pytest.mark.parametrize(
    "connection",
    [
        {"dsn": f"postgresql://app:{PASSWORD}@db.internal/shop"},  # a raw DSN
        {"host": "10.0.0.5", "password": PASSWORD},  # a raw password
        {"host": "10.0.0.5", "key": f"-----BEGIN OPENSSH PRIVATE KEY-----{PASSWORD}"},
        {"url": f"https://deploy:{PASSWORD}@shop.example"},  # a password in a URL
        {"host": "10.0.0.5", "user": "deploy", "note": TOKEN},  # a token under any key
    ],
    ids=["dsn", "password", "key", "url-userinfo", "token-shaped"],
)
def test_raw_credential_in_inventory_connection_is_refused(
    control: ControlPlane,  # noqa: F811
    connection: dict[str, str],
) -> None:
    """An admin pasting a credential into the inventory would hand it to every
    caller of GET /inventory (agents included) and to the audit trail."""
    org = make_org(control)
    with _client(control) as client:
        put = client.put(
            "/api/v1/inventory/db-stg",
            json={"kind": "database", "environment": "staging", "connection": connection},
            headers=org.headers("admin"),
        )
        assert put.status_code == 422, put.text
        assert put.json()["error"]["code"] == "invalid_target"
        for role in ("agent", "viewer", "owner"):
            listed = client.get("/api/v1/inventory", headers=org.headers(role))
            assert PASSWORD not in listed.text and TOKEN not in listed.text
        # references are what belongs there
        ok = client.put(
            "/api/v1/inventory/db-stg",
            json={
                "kind": "database",
                "environment": "staging",
                "connection": {"dsn": "secret:db_stg_dsn"},
            },
            headers=org.headers("admin"),
        )
        assert ok.status_code == 200, ok.text


def test_agent_inventory_listing_hides_connection_settings(control: ControlPlane) -> None:  # noqa: F811
    """The MCP server never shows connection settings to an agent; the API must not
    either (hosts, accounts and backup locations are a map for a hostile agent)."""
    org = make_org(control)
    with _client(control) as client:
        conn = {"host": "10.9.8.7", "user": "deploy", "key": "secret:web_key",
                "backup_dir": "/srv/backups"}  # fmt: skip
        put = client.put(
            "/api/v1/inventory/web-stg",
            json={"kind": "server", "environment": "staging", "connection": conn},
            headers=org.headers("admin"),
        )
        assert put.status_code == 200, put.text
        agent = client.get("/api/v1/inventory", headers=org.headers("agent"))
        assert agent.status_code == 200
        [target] = agent.json()
        assert target["name"] == "web-stg" and target["connection"] == {}
        assert "10.9.8.7" not in agent.text and "web_key" not in agent.text
        admin = client.get("/api/v1/inventory", headers=org.headers("admin")).json()
        assert admin[0]["connection"]["host"] == "10.9.8.7"  # people still manage it


# --- secret-shaped text in agent-controlled card fields --------------------------------------


def test_secret_in_command_is_redacted_on_every_card_channel(control: ControlPlane) -> None:  # noqa: F811
    """The card's description and target are derived from the agent's command; a
    token in the command must not reach the page, the live stream, the API or the
    webhook/Slack notifications through them."""
    from opsgate.server.notify import outbox_event, slack_payload
    from opsgate.web._cards import _sse
    from opsgate.web._present import card_event

    org = make_org(control)
    command = f"rm -rf /srv/{TOKEN}/cache"
    result = control.propose(org.principals["agent"], Action("", "Bash", {"command": command}))
    assert result.card is not None
    card = result.card
    with _client(control) as client:
        seen = {
            "api card": client.get(f"/api/v1/cards/{card.id}", headers=org.headers("viewer")).text,
            "api list": client.get("/api/v1/cards", headers=org.headers("viewer")).text,
            "api agent": client.get(f"/api/v1/cards/{card.id}", headers=org.headers("agent")).text,
            "card page": client.get(f"/cards/{card.id}", headers=org.headers("viewer")).text,
            "inbox page": client.get("/inbox", headers=org.headers("viewer")).text,
            "fragment": client.get(
                f"/cards/{card.id}/fragment", headers=org.headers("viewer")
            ).text,
        }
        assert "[REDACTED]" in seen["card page"], seen["card page"][:2000]
    seen["sse"] = _sse(card_event(card))
    rows = control.claim_notifications()  # type: ignore[attr-defined]
    assert rows
    for row in rows:
        payload = outbox_event(row, lambda cid: f"{PUBLIC}/cards/{cid}")
        seen[f"webhook {row['event']}"] = json.dumps(payload)
        seen[f"slack {row['event']}"] = json.dumps(slack_payload(payload))
    leaked = [where for where, text in seen.items() if TOKEN in text]
    assert leaked == [], f"the token leaked through: {leaked}"


# --- CSRF against the API's cookie sessions --------------------------------------------------


def _pending_card(org: Org) -> str:
    result = org.control.propose(
        org.principals["agent"], Action("", "Bash", {"command": "rm -rf /srv/app/cache"})
    )
    assert result.card is not None
    return result.card.id


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling app on another port or subdomain
    ],
    ids=["foreign-origin", "null-origin", "cross-site", "same-site"],
)
def test_cross_site_form_post_with_session_cookie_is_refused(
    control: ControlPlane,  # noqa: F811
    headers: dict[str, str],
) -> None:
    """A form on another site (or a sibling site: SameSite does not separate ports)
    posts to a body-less API route with the victim's session cookie."""
    org = make_org(control)
    card_id = _pending_card(org)
    with _client(control) as client:
        forged = client.post(
            f"/api/v1/cards/{card_id}/cancel",
            data={"x": "1"},
            headers={**org.headers("admin"), **headers},
        )
        assert forged.status_code == 403, forged.text
        assert (
            client.get(f"/api/v1/cards/{card_id}", headers=org.headers("admin")).json()["state"]
            == "pending"
        )
        # the same request from this site, or from a non-browser client, still works
        same = client.post(
            f"/api/v1/cards/{card_id}/cancel",
            headers={**org.headers("admin"), "Origin": "https://testserver",
                     "Sec-Fetch-Site": "same-origin"},
        )  # fmt: skip
        assert same.status_code == 200, same.text
        # bearer tokens are not ambient credentials: a browser never adds them
        other = _pending_card(org)
        bearer = client.post(
            f"/api/v1/cards/{other}/cancel",
            headers={**org.headers("agent"), "Origin": "https://evil.example"},
        )
        assert bearer.status_code == 200, bearer.text


def test_destructive_card_naming_a_secret_is_confirmed_as_shown(control: ControlPlane) -> None:  # noqa: F811
    """The typed-confirmation name is redacted like the rest of the card, and the
    approver can still approve by typing what the card shows."""
    org = make_org(control)
    command = f"rm -rf /srv/{TOKEN}/cache"
    card = control.propose(org.principals["agent"], Action("", "Bash", {"command": command})).card
    assert card is not None and card.confirm is not None
    with _client(control) as client:
        got = client.get(f"/api/v1/cards/{card.id}", headers=org.headers("admin")).json()
        assert TOKEN not in json.dumps(got) and "[REDACTED]" in got["confirm"]
        approve = f"/api/v1/cards/{card.id}/approve"
        wrong = client.post(approve, json={"confirmation": "/srv"}, headers=org.headers("admin"))
        assert wrong.status_code == 422
        ok = client.post(f"/api/v1/cards/{card.id}/approve",
                         json={"confirmation": got["confirm"].upper()},
                         headers=org.headers("admin"))  # fmt: skip
        assert ok.status_code == 200, ok.text
        assert ok.json()["state"] == "approved"
