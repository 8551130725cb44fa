"""Governed execution through the HTTP API: an agent proposes an operation, an
admin approves, the server's background task runs it once and the agent reads
the redacted result; secrets go in by name and value and come out by name only."""

from __future__ import annotations

import time
from pathlib import Path

from test_server_api import ApiClient, Org, control, home, make_org  # noqa: F401  (fixtures)

from execute_env import CANARY, write_ops
from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.service import ControlPlane
from opsgate.environments import InventoryTarget
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog
from opsgate.models import Environment
from opsgate.server import AppConfig, create_app


def _app(cp: ControlPlane, data: Path) -> tuple[ApiClient, Org]:
    assert isinstance(cp, SqlControlPlane)
    write_ops(data)
    executor = Executor(cp, catalog=load_catalog(data, env={}), local_runner=True)
    org = make_org(cp)
    cp.put_target(
        org.principals["owner"],
        InventoryTarget("box", "server", Environment.STAGING, connection=(("runner", "local"),)),
    )
    app = create_app(cp, config=AppConfig(expire_interval=0), executor=executor)
    return ApiClient(app), org


def _wait_final(client: ApiClient, org: Org, card_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = client.get(f"/api/v1/cards/{card_id}", headers=org.headers("agent")).json()
        if got["state"] in ("completed", "failed"):
            return got  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"card {card_id} did not finish")


def test_propose_approve_background_run_result(control: ControlPlane, home: Path) -> None:  # noqa: F811
    client, org = _app(control, home)
    with client:
        ops = client.get("/api/v1/operations", headers=org.headers("agent")).json()
        assert {"service.restart", "sql.query", "test.leak"} <= {o["name"] for o in ops}
        put = client.put("/api/v1/secrets/api_token", json={"value": CANARY},
                         headers=org.headers("agent"))  # fmt: skip
        assert put.status_code == 403  # agents never set secrets
        put = client.put("/api/v1/secrets/api_token", json={"value": CANARY},
                         headers=org.headers("admin"))  # fmt: skip
        assert put.status_code == 204
        names = client.get("/api/v1/secrets", headers=org.headers("agent"))
        assert [s["name"] for s in names.json()] == ["api_token"] and CANARY not in names.text
        proposed = client.post(
            "/api/v1/operations/test.leak/propose",
            json={"target": "box", "params": {"token": "secret:api_token"}, "reasoning": "why"},
            headers=org.headers("agent"),
        )
        assert proposed.status_code == 200, proposed.text
        body = proposed.json()
        assert body["decision"]["decision"] == "require_approval" and body["link"]
        card_id = body["card"]["id"]
        approved = client.post(f"/api/v1/cards/{card_id}/approve", json={},
                               headers=org.headers("admin"))  # fmt: skip
        assert approved.status_code == 200, approved.text
        final = _wait_final(client, org, card_id)
        assert final["state"] == "failed"  # the leak op exits 3 on purpose
        result = client.get(f"/api/v1/cards/{card_id}/result", headers=org.headers("agent"))
        assert result.status_code == 200 and "plain [REDACTED]" in result.json()["output"]
        audit = client.get("/api/v1/audit", headers=org.headers("owner"))
        for text in (result.text, str(final), audit.text, proposed.text):
            assert CANARY not in text
        bad = client.post("/api/v1/operations/test.say/propose",
                          json={"target": "box", "params": {"text": "-rf"}},
                          headers=org.headers("agent"))  # fmt: skip
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_params"
        read = client.post("/api/v1/operations/test.say/run",
                           json={"target": "box", "params": {"text": "hello"}},
                           headers=org.headers("agent"))  # fmt: skip
        assert read.status_code == 200 and read.json()["output"].endswith("hello\n")
        unauth = client.get("/api/v1/operations")
        assert unauth.status_code == 401


def test_roles_for_secrets_and_results(control: ControlPlane, home: Path) -> None:  # noqa: F811
    client, org = _app(control, home)
    with client:
        for role in ("viewer", "member", "agent"):
            put = client.put("/api/v1/secrets/k", json={"value": "v" * 8},
                             headers=org.headers(role))  # fmt: skip
            assert put.status_code == 403, role
        assert client.put("/api/v1/secrets/k", json={"value": "v" * 8},
                          headers=org.headers("owner")).status_code == 204  # fmt: skip
        assert client.delete("/api/v1/secrets/k", headers=org.headers("member")).status_code == 403
        assert client.get("/api/v1/secrets", headers=org.headers("viewer")).status_code == 200
        assert client.delete("/api/v1/secrets/k", headers=org.headers("admin")).status_code == 204
        proposed = client.post("/api/v1/operations/test.append/propose",
                               json={"target": "box", "params": {"file": "/tmp/x", "line": "a"}},
                               headers=org.headers("admin")).json()  # fmt: skip
        card_id = proposed["card"]["id"]
        # An agent sees only its own cards' results; a viewer cannot approve.
        assert client.get(f"/api/v1/cards/{card_id}/result",
                          headers=org.headers("agent")).status_code == 404  # fmt: skip
        assert client.post(f"/api/v1/cards/{card_id}/approve", json={},
                           headers=org.headers("viewer")).status_code == 403  # fmt: skip


def test_inventory_put_refuses_a_raw_credential(control: ControlPlane, home: Path) -> None:  # noqa: F811
    client, org = _app(control, home)
    body = {"kind": "server", "environment": "staging", "connection": {"host": "h", "key": CANARY}}
    with client:
        refused = client.put("/api/v1/inventory/web", json=body, headers=org.headers("admin"))
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "invalid_target"
        assert "setting 'key' as 'secret:NAME'" in refused.text and CANARY not in refused.text
        body["connection"]["key"] = "secret:web_key"
        saved = client.put("/api/v1/inventory/web", json=body, headers=org.headers("admin"))
        assert saved.status_code == 200, saved.text
