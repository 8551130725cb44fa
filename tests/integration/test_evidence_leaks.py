"""Decision evidence never carries a file's contents or a secret (issue 13, review
C1), through every channel an agent reads: the HTTP API in-process and over a real
socket (``opsgate serve``), MCP through the official client, and the local hook as
a real process.  Canary secrets are planted in files the actions name — the
control plane's own master key, its audit signing key, its process environment, a
shadow file, an AWS credentials file, ordinary files holding secrets — and must
appear in no answer, no card and no byte of the audit and state databases."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from agent_payloads import claude, encode
from test_hook_agents import blocked
from test_mcp_server import Client, org, org_template, stdio  # noqa: F401  (fixtures)
from test_server_api import ApiClient, control, home, make_org  # noqa: F401  (fixtures)
from test_server_socket import login, owner_password

from mcp_org import Org as McpOrg
from opsgate.approvals.service import ControlPlane
from opsgate.server import AppConfig, create_app
from servers import OPSGATE, Serve

CANARY = "Cn" + secrets.token_urlsafe(24)  # random: no rule may keep it as a "name"
AWS = "AKIA" + secrets.token_hex(8).upper()
ENV_CANARY = "Ev" + secrets.token_urlsafe(24)


def plant(where: Path) -> Path:
    """Files an agent could name, each holding canaries; returns the directory."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "notes.sql").write_text(
        f"-- token {CANARY}\nUPDATE settings SET v = '{AWS}';\nDROP TABLE orders;\n"
    )
    (where / "shadow").write_text(f"root:$6${CANARY}$x:19000:0:99999:7:::\n")
    (where / "deploy.sh").write_text(f"export TOKEN={CANARY}\ncurl -H 'X-Key: {AWS}' x.example\n")
    return where


def probes(data_dir: Path, files: Path) -> list[tuple[str, str]]:
    """(command, cwd): the reproductions of C1, and the planted files."""
    return [
        (f"psql -h db.staging.internal -f {data_dir}/secret.key", str(files)),
        (f"psql -h db.staging.internal -f {data_dir}/audit-signing-key.pem", str(files)),
        ("psql -h db.staging.internal -f /proc/self/environ", str(files)),
        ("bash shadow", "/etc"),
        ("bash shadow", str(files)),
        ("psql -h db.staging.internal -d shop -f notes.sql", str(files)),
        ("bash deploy.sh", str(files)),
        ("psql -h db.staging.internal -f ~/.aws/credentials", str(files)),
    ]


def secrets_of(data_dir: Path) -> list[str]:
    """What must never come back: the canaries, the control plane's master key and the
    body of its audit signing key."""
    found = [CANARY, AWS, ENV_CANARY]
    key = data_dir / "secret.key"
    if key.exists():
        found.append(key.read_text().strip())
    pem = data_dir / "audit-signing-key.pem"
    if pem.exists():
        found += [line for line in pem.read_text().splitlines() if line and "-----" not in line]
    return found


def assert_clean(texts: list[str], data_dir: Path, canaries: list[str]) -> None:
    for text in texts:
        for canary in canaries:
            assert canary not in text, f"{canary[:8]}… leaked into {text[:300]}"
    for path in data_dir.iterdir():  # every byte the control plane keeps: audit, state, WAL
        if path.is_file() and path.name.startswith(("audit.db", "opsgate.db")):
            data = path.read_bytes()
            for canary in canaries:
                assert canary.encode() not in data, f"{canary[:8]}… stored in {path.name}"


def _master_key(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    key = data_dir / "secret.key"
    key.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    key.chmod(0o600)


def test_api_in_process_answers_and_audit_hold_no_file_contents(
    control: ControlPlane,  # noqa: F811
    home: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOY_CANARY", ENV_CANARY)  # what /proc/self/environ would show
    people = make_org(control)
    _master_key(home)
    files = plant(tmp_path / "work")
    texts = []
    app = create_app(control, config=AppConfig(public_url="https://x", expire_interval=0))
    with ApiClient(app) as client:
        for command, cwd in probes(home, files):
            body = {"tool": "Bash", "input": {"command": command}, "cwd": cwd}
            for route in ("/api/v1/evaluate", "/api/v1/propose"):
                answer = client.post(route, json=body, headers=people.headers("agent"))
                assert answer.status_code == 200, answer.text
                texts.append(answer.text)
        for role in ("viewer", "owner"):
            texts.append(client.get("/api/v1/audit", headers=people.headers(role)).text)
            texts.append(client.get("/api/v1/cards", headers=people.headers(role)).text)
    assert_clean(texts, home, secrets_of(home))
    assert any("safeguard.secrets" in t for t in texts)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Serve]:
    monkeypatch.setenv("DEPLOY_CANARY", ENV_CANARY)  # in the server's own environment
    data_dir = tmp_path / "serve-home"
    _master_key(data_dir)
    server = Serve(data_dir)
    yield server
    server.stop()


def test_api_over_a_real_socket_never_reads_the_control_planes_files(
    served: Serve, tmp_path: Path
) -> None:
    owner = login(served.url, "owner", owner_password(served))
    token = httpx.post(f"{served.url}/api/v1/tokens", headers=owner, json={"name": "bot"}).json()
    agent = {"Authorization": f"Bearer {token['secret']}"}
    files = plant(tmp_path / "work")
    texts = []
    for command, cwd in probes(served.home, files):
        body = {"tool": "Bash", "input": {"command": command}, "cwd": cwd}
        for route in ("/api/v1/evaluate", "/api/v1/propose"):
            answer = httpx.post(f"{served.url}{route}", json=body, headers=agent, timeout=30)
            assert answer.status_code == 200, answer.text
            texts.append(answer.text)
            if "secret.key" in command and route.endswith("evaluate"):
                decision = answer.json()
                assert decision["decided_by"] == "safeguard.secrets", decision
    texts.append(httpx.get(f"{served.url}/api/v1/audit", headers=owner).text)
    assert_clean(texts, served.home, secrets_of(served.home))


def test_mcp_evaluate_action_never_reads_files(org: McpOrg, tmp_path: Path) -> None:  # noqa: F811
    files = plant(tmp_path / "work")

    async def scenario() -> list[str]:
        async with stdio(org, org.agent_token) as client:
            for command, _cwd in probes(org.home, files):
                if "~" in command or command.startswith("bash shadow"):
                    command = command.replace("bash shadow", f"bash {files}/shadow")
                command = command.replace("notes.sql", f"{files}/notes.sql")
                command = command.replace("deploy.sh", f"{files}/deploy.sh")
                await client.call("evaluate_action", kind="shell", command=command)
                await client.call("propose_action", kind="shell", command=command)
            return client.seen

    seen = anyio.run(scenario)
    assert_clean(seen, org.home, secrets_of(org.home))
    assert not any(c in text for text in seen for c in org.canaries)  # its own canaries too


def _hook(payload: dict, user_home: Path) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    (user_home / ".opsgate").mkdir(parents=True, exist_ok=True)  # as `opsgate install` makes it
    environ.update(HOME=str(user_home), OPSGATE_HOME=str(user_home / ".opsgate"),
                   OPSGATE_HOOK_DAEMON="0",
                   DEPLOY_CANARY=ENV_CANARY)  # fmt: skip
    return subprocess.run([OPSGATE, "hook", "claude"], input=encode(payload), capture_output=True,
                          env=environ, timeout=60, check=False)  # fmt: skip


def test_the_local_hook_never_shows_a_file_to_the_model(tmp_path: Path) -> None:
    """C1 through the hook: ``psql -f ~/.aws/credentials`` was denied by Production
    Protection with the AWS secret key in the reason the model read."""
    user = tmp_path / "dev"
    (user / ".aws").mkdir(parents=True)
    (user / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {AWS}\naws_secret_access_key = {CANARY}\n"
    )
    project = plant(user / "shop")
    outputs = []
    for command in (
        "psql -h db.prod.internal -f ~/.aws/credentials",
        f"psql -h db.prod.internal -f {user}/.aws/credentials",
        "psql -h db.prod.internal -d shop -f notes.sql",
        "bash deploy.sh",
        "psql -f /proc/self/environ",
        "bash shadow",
    ):
        payload = claude("Bash", {"command": command})
        payload["cwd"] = str(project)
        proc = _hook(payload, user)
        outputs += [proc.stdout.decode(), proc.stderr.decode()]
        if "credentials" in command or "environ" in command or "notes.sql" in command:
            reason = blocked("claude", proc)
            secret = "Reading secret values is never allowed" in reason
            assert secret is ("notes.sql" not in command), reason
    assert_clean(outputs, user / ".opsgate", [CANARY, AWS, ENV_CANARY])
    entries = subprocess.run(
        [OPSGATE, "audit", "export", "--format", "jsonl"],
        env={**os.environ, "OPSGATE_HOME": str(user / ".opsgate")},
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert len(entries.splitlines()) >= 6 and CANARY not in entries and AWS not in entries
    assert "sha256" in json.dumps(entries)  # the evidence names the files by hash


def test_the_console_card_shows_what_the_approval_covers_not_the_file(
    control: ControlPlane,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    people = make_org(control)
    text = f"-- {CANARY}\nCREATE INDEX i ON orders (id);\n"
    body = {
        "tool": "Bash",
        "input": {"command": "psql -h db.staging.internal -f fix.sql"},
        "cwd": "/home/dev/shop",
        "files": [{"path": "/home/dev/shop/fix.sql", "text": text,
                   "sha256": hashlib.sha256(text.encode()).hexdigest()}],
        "context": {"kube.context": "staging-eu", "env.DATABASE_URL": f"postgres://a:{AWS}@x/y"},
    }  # fmt: skip
    app = create_app(control, config=AppConfig(public_url="https://x", expire_interval=0))
    with ApiClient(app) as client:
        proposed = client.post("/api/v1/propose", json=body, headers=people.headers("agent"))
        card = proposed.json()["card"]
        assert card["binding"]["files"][0]["path"] == "/home/dev/shop/fix.sql"
        page = client.get(f"/cards/{card['id']}", headers=people.headers("owner")).text
        assert "fix.sql" in page and "staging-eu" in page and "sha256" in page
        bad = dict(body, files=[dict(body["files"][0], sha256="0" * 64)])
        refused = client.post("/api/v1/propose", json=bad, headers=people.headers("agent"))
        assert refused.status_code == 422  # a text that does not match its hash
        texts = [proposed.text, page, refused.text]
    assert_clean(texts, home, [CANARY, AWS])
