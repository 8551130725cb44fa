"""Security review H3, reproduced: an operator-defined operation takes a ``secret``
parameter and puts it in a command's environment; an agent (through the API, the
local runner on) named ``prod_db_password`` and ``root_ssh_key`` instead of the
partner's token, and the operation's endpoint — a listener here, standing in for
the partner — received them.  Also a string parameter whose text was
``secret:NAME``, rendered into the environment, revealed that secret.

Fails on e84f392 (the listener receives the production password); passes once a
secret parameter takes only the secrets its definition allows, and only a secret
parameter placed whole in ``env`` is ever revealed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_server_api import ApiClient, Org, control, home, make_org  # noqa: F401  (fixtures)

from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.service import ControlPlane
from opsgate.environments import InventoryTarget
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog
from opsgate.models import Environment
from opsgate.server import AppConfig, create_app

SECRETS = {
    "partner_token": "PARTNER-TOKEN-1234",
    "prod_db_password": "PROD-DB-PASSWORD-9999",
    "root_ssh_key": "ROOTKEY-7777-not-a-real-key",
}
# As the review's operator wrote it (no allow list: the one shape every version loads).
PARTNER_OPS = """
version: 1
operations:
  - name: partner.ping
    description: ping the partner API with its token
    effect: read
    impact: safe
    targets: [server]
    params:
      token: {type: secret}
    env: {API_TOKEN: "{token}"}
    steps:
      local: &ping
        - argv: [sh, -c, 'curl -sS -o /dev/null -H "Authorization: Bearer $API_TOKEN" "$1"',
                 sh, "{conn.api_url}"]
    rollback: {description: "nothing to roll back"}

  - name: partner.hello
    description: greet the partner API by name
    effect: read
    impact: safe
    targets: [server]
    params:
      name: {type: string}
    env: {API_TOKEN: "{name}"}
    steps:
      local: *ping
    rollback: {description: "nothing to roll back"}
"""


class Listener:
    """The operation's endpoint: records every Authorization header it is sent."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.seen.append(self.headers.get("Authorization", ""))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def _client(cp: ControlPlane, data: Path, listener: Listener) -> tuple[ApiClient, Org]:
    assert isinstance(cp, SqlControlPlane)
    ops = data / "operations" / "partner.yaml"
    ops.parent.mkdir(parents=True, exist_ok=True)
    ops.write_text(PARTNER_OPS)
    executor = Executor(cp, catalog=load_catalog(data, env={}), local_runner=True)
    org = make_org(cp)
    connection = (("api_url", listener.url), ("runner", "local"))
    target = InventoryTarget("partner-gw", "server", Environment.STAGING, connection=connection)
    cp.put_target(org.principals["owner"], target)  # type: ignore[arg-type]
    app = create_app(cp, config=AppConfig(expire_interval=0), executor=executor)
    return ApiClient(app), org


def test_agent_cannot_send_another_stored_secret_to_an_operation(
    control: ControlPlane,  # noqa: F811
    home: Path,  # noqa: F811
    listener: Listener,
) -> None:
    client, org = _client(control, home, listener)
    with client:
        for name, value in SECRETS.items():
            r = client.put(f"/api/v1/secrets/{name}", json={"value": value},
                           headers=org.headers("admin"))  # fmt: skip
            assert r.status_code == 204, r.text
        listed = client.get("/api/v1/secrets", headers=org.headers("agent")).json()
        assert {s["name"] for s in listed} == set(SECRETS)  # names are no secret
        tries = [("partner.ping", {"token": f"secret:{n}"}) for n in SECRETS]
        tries += [("partner.hello", {"name": f"secret:{n}"}) for n in SECRETS]
        answers = []
        for operation, params in tries:
            r = client.post(f"/api/v1/operations/{operation}/run",
                            json={"target": "partner-gw", "params": params},
                            headers=org.headers("agent"))  # fmt: skip
            answers.append((operation, params, r.status_code, r.text))
        time.sleep(0.2)
    received = json.dumps(listener.seen)
    for value in SECRETS.values():
        assert value not in received, (value, answers)
    # A string parameter is text, whatever it says: sent as written, never revealed.
    assert "Bearer secret:prod_db_password" in listener.seen, answers
    ping = [a for a in answers if a[0] == "partner.ping"]
    # The definition allows no secret: each is refused, saying what to change.
    assert all(status == 422 and "takes no secret" in text for *_, status, text in ping), ping
