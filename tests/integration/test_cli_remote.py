"""The administrative CLI through a real ``opsgate serve`` on a free port: ``login``
keeps a 0600 session, every command goes through the HTTP API from a machine with
no data directory, explicit flags beat the environment, agent tokens never approve,
and the answers are the same as locally."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import OPSGATE, Serve, free_port, owner_password

CHANGE = {
    "tool": "Bash",
    "input": {"command": "kubectl --context staging-eu rollout restart deploy/shop"},
}


class Laptop:
    """A person's machine: its own empty opsgate home, the server's address."""

    def __init__(self, home: Path, url: str) -> None:
        self.home = home
        self.url = url

    def run(self, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
        base.update({"OPSGATE_HOME": str(self.home), "OPSGATE_URL": self.url, **env})
        return subprocess.run([OPSGATE, *args], capture_output=True, text=True, env=base,
                              timeout=60, check=False, input=stdin)  # fmt: skip

    def json(self, *args: str, **env: str) -> Any:
        proc = self.run(*args, "--json", **env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    served = Serve(tmp_path_factory.mktemp("serve") / "home")
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def owner(server: Serve) -> str:
    password = owner_password(server.home)
    assert password
    return password


@pytest.fixture
def laptop(tmp_path: Path, server: Serve) -> Laptop:
    return Laptop(tmp_path / "laptop", server.url)


ADA = "ada-password-1"  # an admin: approves what the owner's agent tokens propose


@pytest.fixture(scope="module")
def ada(server: Serve, owner: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    laptop = Laptop(tmp_path_factory.mktemp("ada"), server.url)
    proc = laptop.run("users", "add", "ada", "--role", "admin", "--password-stdin",
                      stdin=ADA + "\n", OPSGATE_USER="owner", OPSGATE_PASSWORD=owner)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return ADA


def _agent_token(laptop: Laptop, owner: str, name: str) -> str:
    created = laptop.json("tokens", "create", name, "--user", "owner", OPSGATE_PASSWORD=owner)
    assert created["token"]["role"] == "agent"
    return str(created["secret"])


def _card(server: Serve, token: str) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/api/v1/propose", json=CHANGE,
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    card: dict[str, Any] = r.json()["card"]
    assert card["state"] == "pending"
    return card


def test_login_keeps_a_private_session_and_logout_ends_it(laptop: Laptop, owner: str) -> None:
    proc = laptop.run("login", "--user", "owner", "--password-stdin", stdin=owner + "\n")
    assert proc.returncode == 0, proc.stderr
    session = laptop.home / "session.json"
    assert session.stat().st_mode & 0o777 == 0o600
    assert owner not in session.read_text()  # the session, never the password
    secret = json.loads(session.read_text())["secret"]
    users = laptop.json("users", "list")  # no --user, no password: the session
    assert [u["name"] for u in users] == ["owner"]
    assert not (laptop.home / "opsgate.db").exists()  # nothing local was opened
    out = laptop.json("logout")
    assert out == {"logged_out": True, "session_ended": True}
    assert not session.exists()
    # The session is over on the server too, not only forgotten here.
    r = httpx.get(f"{laptop.url}/api/v1/session", cookies={"opsgate_session": secret}, timeout=30)
    assert r.status_code == 401
    again = laptop.run("users", "list")
    assert again.returncode == 2 and "opsgate login" in again.stderr


def test_an_agent_token_never_approves_and_an_explicit_user_beats_it(
    laptop: Laptop, server: Serve, owner: str, ada: str
) -> None:
    token = _agent_token(laptop, owner, "remote-agent")
    card = _card(server, token)
    # The README tour's shell: the agent's token exported, a person's name too.
    shell = {"OPSGATE_TOKEN": token, "OPSGATE_USER": "ada", "OPSGATE_PASSWORD": ada}
    refused = laptop.run("approve", card["id"], **shell)
    assert refused.returncode == 4, refused.stderr
    assert "OPSGATE_TOKEN" in refused.stderr and "--user" in refused.stderr
    pending = laptop.json("cards", "--state", "pending", "--user", "ada", **shell)
    assert card["id"] in [c["id"] for c in pending]
    approved = laptop.json("approve", card["id"], "--user", "ada", **shell)
    assert approved["state"] == "approved" and approved["decided_by"]


def test_deny_and_the_card_table_through_the_server(
    laptop: Laptop, server: Serve, owner: str, ada: str
) -> None:
    card = _card(server, _agent_token(laptop, owner, "deny-agent"))
    env = {"OPSGATE_USER": "ada", "OPSGATE_PASSWORD": ada}
    table = laptop.run("cards", "--state", "pending", **env)
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "STATE", "IMPACT", "ENVIRONMENT", "TARGET", "REQUESTED",
                              "BY", "DESCRIPTION"]  # fmt: skip
    line = next(r for r in rows if r.startswith(card["id"]))
    assert line.index("pending") == header.index("STATE")  # the columns line up
    denied = laptop.json("deny", card["id"], "--reason", "not now", **env)
    assert denied["state"] == "denied" and denied["reason"] == "not now"


def test_users_tokens_inventory_and_secrets_through_the_server(laptop: Laptop, owner: str) -> None:
    env = {"OPSGATE_USER": "owner", "OPSGATE_PASSWORD": owner}
    added = laptop.run("users", "add", "rita", "--role", "admin", "--password-stdin", "--json",
                       stdin="rita-password-1\n", **env)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["role"] == "admin"
    assert laptop.json("users", "set-role", "rita", "member", **env)["role"] == "member"
    created = laptop.json("tokens", "create", "ci", "--role", "viewer", **env)
    tokens = laptop.json("tokens", "list", **env)
    assert created["token"]["id"] in [t["id"] for t in tokens]
    assert laptop.json("tokens", "revoke", created["token"]["id"], **env)["revoked"] is True
    target = laptop.json("inventory", "add", "db-stage", "--kind", "database", "--env", "staging",
                         "--match", "db.stage.example", **env)  # fmt: skip
    assert target == {"name": "db-stage", "kind": "database", "environment": "staging",
                      "access": "full", "match": ["db.stage.example"],
                      "connection": {}}  # fmt: skip
    assert "db-stage" in [t["name"] for t in laptop.json("inventory", "list", **env)]
    put = laptop.run("secrets", "set", "api_key", stdin="s3cr3t-value\n", **env)
    assert put.returncode == 0, put.stderr
    names = laptop.json("secrets", "list", **env)
    assert [s["name"] for s in names] == ["api_key"] and "s3cr3t" not in json.dumps(names)
    assert laptop.json("secrets", "delete", "api_key", **env)["deleted"] is True
    assert laptop.json("inventory", "remove", "db-stage", **env) == {"removed": "db-stage"}


def test_the_audit_trail_through_the_server_matches_the_local_one(
    laptop: Laptop, server: Serve, owner: str
) -> None:
    env = {"OPSGATE_USER": "owner", "OPSGATE_PASSWORD": owner}
    remote = laptop.run("audit", "export", "--filter", "event:user.*", **env)
    assert remote.returncode == 0, remote.stderr
    local = subprocess.run(
        [OPSGATE, "audit", "--data-dir", str(server.home), "--filter", "event:user.*", "export"],
        capture_output=True, timeout=60, check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")},
    )  # fmt: skip
    lines = remote.stdout.encode().splitlines()
    assert lines and local.stdout.splitlines()[: len(lines)] == lines  # the same bytes
    last = json.loads(lines[-1])["seq"]
    newer = laptop.run("audit", "export", "--after-seq", str(last), **env)
    assert all(json.loads(x)["seq"] > last for x in newer.stdout.splitlines())
    report = laptop.json("audit", "verify", **env)
    assert report["ok"] is True and report["entries"] >= last


def test_an_unreachable_server_is_its_own_exit_code(tmp_path: Path) -> None:
    laptop = Laptop(tmp_path, f"http://127.0.0.1:{free_port()}")
    proc = laptop.run("cards", "--token", "og_whatever")
    assert proc.returncode == 12, proc.stderr
    assert "cannot reach the control plane" in proc.stderr


def test_credentials_never_go_in_clear_text_off_the_machine(tmp_path: Path) -> None:
    proc = Laptop(tmp_path, "http://opsgate.example.com").run("cards", "--token", "og_x")
    assert proc.returncode == 2 and "clear text" in proc.stderr


def test_an_explicit_data_dir_works_locally_whatever_the_url(
    laptop: Laptop, server: Serve, owner: str
) -> None:
    local = laptop.run("users", "list", "--json", "--data-dir", str(server.home),
                       OPSGATE_USER="owner", OPSGATE_PASSWORD=owner,
                       OPSGATE_URL=f"http://127.0.0.1:{free_port()}")  # fmt: skip
    assert local.returncode == 0, local.stderr
    assert "owner" in [u["name"] for u in json.loads(local.stdout)]


def test_ops_through_the_server(laptop: Laptop, server: Serve, owner: str, ada: str) -> None:
    env = {"OPSGATE_USER": "ada", "OPSGATE_PASSWORD": ada}
    names = [op["name"] for op in laptop.json("ops", "list", **env)]
    assert "backup.create" in names, names  # the server's catalog
    card = _card(server, _agent_token(laptop, owner, "ops-agent"))
    shown = laptop.json("ops", "status", card["id"], **env)
    assert shown["card"]["id"] == card["id"] and shown["card"]["requested_by"] == "ops-agent"
    assert shown["result"] is None  # a card without an operation
