"""A card's lifecycle as people and agents see it (issue 15.1): the HTTP API, the
console's card page, the live stream and the CLI's JSON, over the real app and a
real SQLite store (the transitions themselves: test_card_lifecycle.py)."""

from __future__ import annotations

import re
import time
from typing import Any

from test_server_api import (
    CAUTION,
    DESTRUCTIVE,
    ApiClient,
    Org,
    assert_envelope,
    client,
    control,
    home,
    org,
)
from test_web_console import log_in

from opsgate.server.app import AppState

__all__ = ["client", "control", "home", "org"]  # fixtures, used by name

DELETE_OTHER = "kubectl --context staging delete namespace jobs"
PROD = {"tool": "Bash", "input": {"command": "ssh web-prod-1 sudo systemctl restart nginx"}}


class _Heard:
    subscribers = 1

    def __init__(self, heard: list[dict[str, Any]]) -> None:
        self.publish = heard.append


def _propose(client: ApiClient, org: Org, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/propose", json=body, headers=org.headers("agent"))
    assert r.status_code == 200, r.text
    card: dict[str, Any] = r.json()["card"]
    return card


def _card(client: ApiClient, org: Org, card_id: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/cards/{card_id}", headers=org.headers("viewer"))
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _page(client: ApiClient, card_id: str) -> str:
    log_in(client, "olive", "correct horse battery staple")  # type: ignore[arg-type]
    text = client.get(f"/cards/{card_id}").text
    return re.sub(r"\s+", " ", text)


def test_a_used_card_names_who_approved_and_the_retry_that_used_it(
    client: ApiClient, org: Org
) -> None:
    card = _propose(client, org, CAUTION)
    ok = client.post(f"/api/v1/cards/{card['id']}/approve", json={}, headers=org.headers("admin"))
    assert ok.status_code == 200, ok.text
    assert [a["name"] for a in ok.json()["approved_by"]] == ["ada"]
    retry = client.post("/api/v1/propose", json=CAUTION, headers=org.headers("agent")).json()
    assert retry["grant"] is not None and retry["card"] is None

    shown = _card(client, org, card["id"])
    assert shown["state"] == "used"
    assert shown["used"]["by"] == "claude" and shown["used"]["grant"] == retry["grant"]["id"]
    entry = client.get(
        "/api/v1/audit", params={"event": "grant.used"}, headers=org.headers("owner")
    ).json()["items"][0]
    assert shown["used"]["audit_seq"] == entry["seq"]
    listed = client.get(
        "/api/v1/cards", params={"state": "used"}, headers=org.headers("viewer")
    ).json()
    assert [c["id"] for c in listed["items"]] == [card["id"]]

    page = _page(client, card["id"])
    assert "Approved — used by the agent&#39;s retry" in page
    assert "Approved by ada at" in page
    assert "Used by claude's retry at" in page and f"(audit entry {entry['seq']})" in page


def test_production_protection_cancels_the_card_everywhere_and_approval_is_refused(
    client: ApiClient, org: Org
) -> None:
    inventory = {"kind": "server", "environment": "production", "match": ["web-prod-1"]}
    put = client.put("/api/v1/inventory/web-prod-1", json=inventory, headers=org.headers("owner"))
    assert put.status_code == 200, put.text
    off = {"production_protection": False}
    assert client.patch("/api/v1/settings", json=off, headers=org.headers("owner")).is_success
    card = _propose(client, org, PROD)
    assert card["state"] == "pending" and card["environment"] == "production"
    state: AppState = client.app.state.og  # type: ignore[attr-defined]
    heard: list[dict[str, Any]] = []
    bus, state.bus = state.bus, _Heard(heard)  # type: ignore[assignment]  # what it would carry
    try:
        r = client.patch(
            "/api/v1/settings", json={"production_protection": True}, headers=org.headers("owner")
        )
    finally:
        state.bus = bus
    assert r.status_code == 200, r.text
    shown = _card(client, org, card["id"])
    assert shown["state"] == "cancelled"
    assert shown["reason"].startswith("Production Protection was turned on by olive at ")
    assert [(e["event"], e["card"]["id"]) for e in heard] == [("card.cancelled", card["id"])]
    assert heard[0]["card"]["reason"] == shown["reason"]

    refused = client.post(
        f"/api/v1/cards/{card['id']}/approve", json={}, headers=org.headers("admin")
    )
    err = assert_envelope(refused, 409)
    assert "Production Protection was turned on by olive" in err["message"]
    assert "Production Protection was turned on by olive" in _page(client, card["id"])


def test_the_rejudge_sweep_runs_in_the_server(client: ApiClient, org: Org) -> None:
    """A change made behind this process (another replica, a hand edit): the server's
    once-a-second sweep closes the card without anybody touching it."""
    import sqlalchemy as sa

    from opsgate.store._schema import settings

    card = _propose(client, org, CAUTION)
    with org.control.store.write() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.delete(settings).where(settings.c.key == "write_actions"))
        conn.execute(
            sa.insert(settings).values(key="write_actions", value=False, updated_at=time.time(),
                                       updated_by=org.user_ids["owner"])
        )  # fmt: skip

    deadline = time.monotonic() + 6
    while _card(client, org, card["id"])["state"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _card(client, org, card["id"])["state"] == "cancelled"
    assert _card(client, org, card["id"])["reason"].startswith("Write Actions were turned off")


def test_the_agents_plan_is_shown_as_its_words_and_never_lifts_the_warning(
    client: ApiClient, org: Org
) -> None:
    plan = "re-create it from k8s/api-namespace.yaml"
    said = _propose(client, org, {**DESTRUCTIVE, "rollback": plan, "reasoning": "replaced"})
    final = _propose(client, org, {**DESTRUCTIVE, "input": {"command": DELETE_OTHER}})
    assert (said["irreversible"], final["irreversible"]) == (True, True)

    page = _page(client, said["id"])
    assert f"Given with the request:</span> {plan}" in page and "replaced" in page
    assert "This cannot be undone." in page and "No rollback known to opsgate." in page
    page = _page(client, final["id"])
    assert "This cannot be undone." in page and "No rollback known." in page


def test_a_card_carries_the_rollback_opsgate_knows(client: ApiClient, org: Org) -> None:
    """opsgate's own plan for the action, beside the agent's (issue 15.2): a deleted
    Deployment is re-created from the manifest saved first; a dropped namespace has
    none, and only that card says it cannot be undone."""
    deployment = "kubectl --context staging delete deploy web -n shop"
    known = _propose(client, org, {**DESTRUCTIVE, "input": {"command": deployment}})
    assert "get deploy/web -o yaml > saved.yaml" in known["undo"], known
    assert known["irreversible"] is False and known["rollback"] == ""
    page = _page(client, known["id"])
    assert 'data-testid="undo">Save it before approving' in page
    assert "This cannot be undone." not in page and "No rollback known" not in page

    both = _propose(client, org, {**DESTRUCTIVE, "rollback": "our nightly backup",
                                  "input": {"command": deployment + " --wait"}})  # fmt: skip
    page = _page(client, both["id"])
    assert "Given with the request:</span> our nightly backup" in page

    final = _propose(client, org, {**DESTRUCTIVE, "input": {"command": DELETE_OTHER + "-2"}})
    assert final["undo"] == "" and final["irreversible"] is True
