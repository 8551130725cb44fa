"""Secret sources and their limits through the API (in process, local runner on,
a listener standing in for the operation's endpoint): an owner — only an owner —
points a secret at a credential-helper command; admins see where it comes from,
agents only that it exists; an operation's secret parameter takes the secrets
its definition allows on that target and nothing else; the helper's value
reaches the command and nowhere else (not the result, not the trail); a failing
helper fails the run naming the helper and its status, never its output."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

from test_h3_secret_choice import Listener, listener  # noqa: F401  (fixture)
from test_server_api import ApiClient, Org, control, home, make_org  # noqa: F401  (fixtures)

from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.service import ControlPlane
from opsgate.environments import InventoryTarget
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog
from opsgate.models import Environment
from opsgate.server import AppConfig, create_app

FROM_VAULT = "vault-partner-token-Qm7Zr2"
STORED = "stored-prod-password-Hx81"
OPS = """
version: 1
operations:
  - name: partner.ping
    description: ping the partner API with its token
    effect: read
    impact: safe
    targets: [server]
    params:
      token: {type: secret, allowed: {partner-*: [partner_token, partner_token_old]}}
    env: {API_TOKEN: "{token}"}
    steps:
      local:
        - argv: [sh, -c, 'curl -sS -o /dev/null -H "Authorization: Bearer $API_TOKEN" "$1";
                 echo "sent $API_TOKEN"', sh, "{conn.api_url}"]
    rollback: {description: "nothing to roll back"}
"""


def _helper(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _client(cp: ControlPlane, data: Path, url: str) -> tuple[ApiClient, Org]:
    assert isinstance(cp, SqlControlPlane)
    (data / "operations").mkdir(parents=True, exist_ok=True)
    (data / "operations" / "partner.yaml").write_text(OPS)
    executor = Executor(cp, catalog=load_catalog(data, env={}), local_runner=True)
    org = make_org(cp)
    for name in ("partner-gw", "billing-gw"):
        connection = (("api_url", url), ("runner", "local"))
        target = InventoryTarget(name, "server", Environment.STAGING, connection=connection)
        cp.put_target(org.principals["owner"], target)  # type: ignore[arg-type]
    return ApiClient(create_app(cp, config=AppConfig(expire_interval=0), executor=executor)), org


def _run(client: ApiClient, org: Org, target: str, secret: str) -> tuple[int, dict[str, object]]:
    r = client.post("/api/v1/operations/partner.ping/run", headers=org.headers("agent"),
                    json={"target": target, "params": {"token": f"secret:{secret}"}})  # fmt: skip
    return r.status_code, r.json()


def test_helper_sourced_secret_and_allow_lists(
    control: ControlPlane,  # noqa: F811
    home: Path,  # noqa: F811
    listener: Listener,  # noqa: F811
    tmp_path: Path,
) -> None:
    vault = _helper(tmp_path, "vault", f'echo "{FROM_VAULT}"\n')
    broken = _helper(tmp_path, "broken", f'echo "half {FROM_VAULT}"; exit 5\n')
    client, org = _client(control, home, listener.url)
    command = {"command": [vault, "kv", "get", "-field=token", "secret/partner"], "timeout": 5}
    with client:
        for role in ("agent", "member", "admin"):  # owners only
            r = client.put("/api/v1/secrets/partner_token", json=command, headers=org.headers(role))
            assert r.status_code == 403, (role, r.text)
        r = client.put("/api/v1/secrets/partner_token", json=command, headers=org.headers("owner"))
        assert r.status_code == 204, r.text
        for body in ({**command, "value": "x" * 8}, {}, {"command": [f"{vault} kv get"]}):
            r = client.put("/api/v1/secrets/x", json=body, headers=org.headers("owner"))
            assert r.status_code == 422, (body, r.text)
        r = client.put("/api/v1/secrets/prod_db_password", json={"value": STORED},
                       headers=org.headers("admin"))  # fmt: skip
        assert r.status_code == 204
        # An admin may not replace (or delete) what an owner pointed at a command.
        r = client.put("/api/v1/secrets/partner_token", json={"value": "y" * 8},
                       headers=org.headers("admin"))  # fmt: skip
        assert r.status_code == 403, r.text
        assert client.delete("/api/v1/secrets/partner_token",
                             headers=org.headers("admin")).status_code == 403  # fmt: skip
        admin_view = client.get("/api/v1/secrets", headers=org.headers("admin")).json()
        agent_view = client.get("/api/v1/secrets", headers=org.headers("agent")).json()
        assert {s["name"]: s.get("source") for s in admin_view} == {
            "partner_token": "command", "prod_db_password": "value"}  # fmt: skip
        assert all("source" not in s for s in agent_view) and vault not in json.dumps(admin_view)

        status, ran = _run(client, org, "partner-gw", "partner_token")
        assert status == 200 and ran["status"] == "completed", ran
        assert f"Bearer {FROM_VAULT}" in listener.seen  # the command got it …
        assert FROM_VAULT not in json.dumps(ran)  # … its output shows it masked

        # Not allowed: another secret, or this one on a target the definition does not list.
        for target, secret in (("partner-gw", "prod_db_password"), ("billing-gw", "partner_token")):
            status, refused = _run(client, org, target, secret)
            assert status == 422, refused
            message = refused["error"]["message"]  # type: ignore[index]
            assert "takes only partner_token, partner_token_old" in message or (
                "takes no secret on billing-gw" in message
            )
        assert all(STORED not in seen for seen in listener.seen)

        # A failing helper: the run fails naming the helper and its status, not its output.
        broken_spec = {"command": [broken]}
        r = client.put("/api/v1/secrets/partner_token_old", json=broken_spec,
                       headers=org.headers("owner"))  # fmt: skip
        assert r.status_code == 204
        status, failed = _run(client, org, "partner-gw", "partner_token_old")
        assert status == 200 and failed["status"] == "failed", failed
        assert "'broken'" in str(failed["reason"]) and "status 5" in str(failed["reason"])
        assert "half" not in json.dumps(failed)
        time.sleep(0.1)
        trail = " ".join(e.body.decode() for e in control.audit.entries())  # type: ignore[attr-defined]
    assert FROM_VAULT not in trail and STORED not in trail and "half" not in trail
    assert '"change":"set from a command"' in trail and '"program":"vault"' in trail


def test_cli_sets_a_helper_for_owners_only(tmp_path: Path) -> None:
    import os
    import subprocess

    from opsgate.approvals.control import open_control_plane
    from opsgate.approvals.model import Role
    from servers import OPSGATE

    password = "correct horse battery staple"
    data = tmp_path / "data"
    cp = open_control_plane(data_dir=data)
    try:
        cp.create_user(None, "olive", password, Role.OWNER)
        owner = cp.session(cp.login("olive", password)[1])
        cp.create_user(owner, "ada", password, Role.ADMIN)  # type: ignore[arg-type]
    finally:
        cp.close()  # type: ignore[attr-defined]
    helper = _helper(tmp_path, "vault", 'printf "%s" "$VAULT_ADDR-secret"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(OPSGATE_HOME=str(data), OPSGATE_PASSWORD=password, VAULT_ADDR="https://v")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([OPSGATE, "secrets", *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip

    argv = ("--env", "VAULT_ADDR", "--check", "--from-command", "--",
            helper, "kv", "get", "-field=password", "secret/db")  # fmt: skip
    refused = run("set", "db", "--user", "ada", *argv)
    assert refused.returncode == 4 and "owner" in refused.stderr
    done = run("set", "db", "--user", "olive", *argv)
    assert done.returncode == 0, done.stderr
    assert "come from 'vault'" in done.stdout and "a value of 16 bytes" in done.stdout
    assert "https://v-secret" not in done.stdout + done.stderr
    listed = run("list", "--user", "ada")
    row = next(line for line in listed.stdout.splitlines() if line.startswith("db "))
    assert row.rstrip().endswith("a command"), listed.stdout
    shell = run("set", "x", "--user", "olive", "--from-command", "--", f"{helper} kv get")
    assert shell.returncode != 0 and "separate arguments" in shell.stderr
