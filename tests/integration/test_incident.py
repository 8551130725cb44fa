"""Incident artifacts from a scripted session against a real ``opsgate serve``: an
agent proposes; operations are approved and run over SSH (a real sshd); one card
is denied, one run fails, one card stays pending; Production Protection refuses
one.  Then ``opsgate incident report`` (a real process): every citation resolves
to a real audit entry, a tampered trail is named in every artifact, and the
canary secret never appears — not even when an agent wrote it into its reasoning."""

from __future__ import annotations

import base64
import io
import re
import shutil
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_cli import run
from test_server_socket import login, owner_password

from execute_env import CANARY, write_ops
from opsgate.audit import open_log
from servers import Serve
from sshd_server import SshServer, missing_reason, sshd

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

FILES = ("incident_report.md", "postmortem.md", "DECISION_RECORD.md", "runbook.md")
CITATION = re.compile(r"\[#(\d+)\]")
SOURCE_ROW = re.compile(r"^\| (\d+) \| [^|]+ \| ([a-z_.]+)[^|]* \| `([0-9a-f]{64})` \|$", re.M)


@dataclass
class Session:
    home: Path
    served: Serve
    admin: dict[str, str]
    agent: dict[str, str]
    ids: dict[str, str]


def _wait(url: str, card: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = httpx.get(f"{url}/api/v1/cards/{card}", headers=headers).json()
        if got["state"] in ("completed", "failed"):
            return got  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"card {card} did not finish")


def _op(s: Serve, agent: dict[str, str], name: str, target: str, **params: Any) -> Any:
    body = {"target": target, "params": params, "reasoning": f"incident drill: {name}"}
    r = httpx.post(f"{s.url}/api/v1/operations/{name}/propose", json=body, headers=agent)
    assert r.status_code == 200, r.text
    return r.json()


def _script(
    s: Serve, ssh: SshServer, admin: dict[str, str], agent: dict[str, str]
) -> dict[str, str]:
    """The session: each step as an agent and its approvers would take it."""
    url = s.url
    for name, value in (("op_key", ssh.op_key), ("bk_key", ssh.bk_key), ("canary", CANARY)):
        assert httpx.put(f"{url}/api/v1/secrets/{name}", json={"value": value},
                         headers=admin).status_code == 204  # fmt: skip
    for name, env in (("web-staging", "staging"), ("web-prod", "production")):
        target = {"kind": "server", "environment": env, "connection": dict(ssh.connection())}
        assert httpx.put(f"{url}/api/v1/inventory/{name}", json=target,
                         headers=admin).status_code == 200  # fmt: skip
    ids: dict[str, str] = {}
    read = {"tool": "Bash", "input": {"command": "ls -la"}}
    assert httpx.post(f"{url}/api/v1/evaluate", headers=agent, json=read).status_code == 200
    # Approved and run over SSH: completed.
    ids["restart"] = _op(s, agent, "service.restart", "web-staging", service="web")["card"]["id"]
    assert httpx.post(f"{url}/api/v1/cards/{ids['restart']}/approve", json={},
                      headers=admin).status_code == 200  # fmt: skip
    assert _wait(url, ids["restart"], agent)["state"] == "completed"
    # Approved and run: fails on purpose (exit 3), printing the canary every way it can.
    ids["leak"] = _op(s, agent, "test.leak", "web-staging", token="secret:canary")["card"]["id"]
    assert httpx.post(f"{url}/api/v1/cards/{ids['leak']}/approve", json={},
                      headers=admin).status_code == 200  # fmt: skip
    assert _wait(url, ids["leak"], agent)["state"] == "failed"
    # Refused by Production Protection: no card.
    refused = _op(s, agent, "service.restart", "web-prod", service="web")
    assert refused["decision"]["decision"] == "deny" and refused["card"] is None
    # A card a person denies; the agent put the secret it saw into its reasoning.
    denied = httpx.post(f"{url}/api/v1/propose", headers=agent, json={
        "tool": "Bash", "input": {"command": "kubectl --context staging delete namespace shop"},
        "reasoning": f"clean up; the token was {CANARY}", "rollback": "kubectl apply -f shop.yaml",
    }).json()  # fmt: skip
    ids["denied"] = denied["card"]["id"]
    assert httpx.post(f"{url}/api/v1/cards/{ids['denied']}/deny", headers=admin,
                      json={"reason": "not during the incident"}).status_code == 200  # fmt: skip
    # A card approved, then the identical retry runs on its grant (the agent runs it).
    rollout = {
        "tool": "Bash",
        "input": {"command": "kubectl --context staging rollout restart deploy/api"},
    }
    ids["granted"] = httpx.post(f"{url}/api/v1/propose", headers=agent, json=rollout).json()[
        "card"
    ]["id"]
    assert httpx.post(f"{url}/api/v1/cards/{ids['granted']}/approve", json={},
                      headers=admin).status_code == 200  # fmt: skip
    retry = httpx.post(f"{url}/api/v1/propose", headers=agent, json=rollout).json()
    assert retry["decision"]["decision"] == "allow" and retry["grant"] is not None
    # Left pending.
    ids["pending"] = _op(s, agent, "service.reload", "web-staging", service="nginx")["card"]["id"]
    return ids


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with sshd() as ssh:
        home = tmp_path_factory.mktemp("incident") / "home"
        home.mkdir()
        write_ops(home)
        served = Serve(home)
        try:
            owner = login(served.url, "owner", owner_password(served))
            adam = {"name": "adam", "password": "admin password!", "role": "admin"}
            r = httpx.post(f"{served.url}/api/v1/users", headers=owner, json=adam)
            assert r.status_code == 201, r.text
            token = httpx.post(f"{served.url}/api/v1/tokens", headers=owner,
                               json={"name": "claude"}).json()["secret"]  # fmt: skip
            admin = login(served.url, "adam", "admin password!")
            agent = {"Authorization": f"Bearer {token}"}
            ids = _script(served, ssh, admin, agent)
            yield Session(home, served, admin, agent, ids)
        finally:
            served.stop()


@pytest.fixture(scope="module")
def artifacts(session: Session, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("artifacts")
    proc = run("incident", "report", "--since", "1h", "--out", str(out), "--postmortem",
               "--data-dir", str(session.home), home=session.home)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "audit trail intact" in proc.stdout
    return {name: (out / name).read_text("utf-8") for name in FILES}


def _entries(home: Path) -> dict[int, Any]:
    with open_log(home, readonly=True) as log:
        return {e.seq: e for e in log.entries()}


def test_every_citation_resolves_to_a_real_entry(
    session: Session, artifacts: dict[str, str]
) -> None:
    entries = _entries(session.home)
    for name, body in artifacts.items():
        text, _, sources = body.partition("## Sources")
        cited = {int(n) for n in CITATION.findall(text)}
        rows = {int(seq): (event, digest) for seq, event, digest in SOURCE_ROW.findall(sources)}
        assert cited, name
        assert cited == set(rows), f"{name}: citations and Sources differ"
        for seq, (event, digest) in rows.items():
            assert seq in entries, f"{name} cites #{seq}, which does not exist"
            assert (entries[seq].event, entries[seq].hash) == (event, digest), (name, seq)
        head = max(entries)
        assert "Audit trail verified: intact" in body and f"head seq {head}" in body, name
        assert entries[head].hash in body  # the chain head it vouches for


def test_the_report_tells_what_happened(session: Session, artifacts: dict[str, str]) -> None:
    ids = session.ids
    report = artifacts["incident_report.md"]
    pending = report.split("## Still pending")[1].split("##")[0]
    assert ids["pending"] in pending and ids["restart"] not in pending
    for card in (ids["restart"], ids["leak"], ids["denied"], ids["granted"]):
        assert card in report
    assert "adam approved card" in report and "adam denied card" in report
    assert "not during the incident" in report
    assert "settings.production_protection" in report  # the refused production restart
    assert "**failed** (exit 3" in report and "**completed** (exit 0" in report
    assert "ran it on its grant" in report
    record = artifacts["DECISION_RECORD.md"]
    assert "incident drill: service.restart" in record  # the agent's reasoning, cited
    assert "kubectl apply -f shop.yaml" in record  # the proposed rollback, as an option
    assert "approved by adam (admin)" in record
    runbook = artifacts["runbook.md"]
    assert f"opsgate ops undo {ids['restart']}" in runbook
    assert "systemctl restart web" in runbook
    assert runbook.index("## 1.") < runbook.index(ids["restart"]) < runbook.index(ids["leak"])
    assert f"opsgate approve {ids['pending']}" in runbook
    post = artifacts["postmortem.md"]
    for section in ("## Impact", "## Contributing decisions", "## What the guard stopped",
                    "## What the guard let through", "## Follow-ups"):  # fmt: skip
        assert section in post
    stopped = post.split("## What the guard stopped")[1].split("## What the guard let")[0]
    assert ids["denied"] in stopped and "production_protection" in stopped
    assert f"opsgate ops undo {ids['leak']}" in post  # the failed run's follow-up


def test_canary_secrets_never_appear(session: Session, artifacts: dict[str, str]) -> None:
    encoded = base64.b64encode(CANARY.encode()).decode()
    with open_log(session.home, readonly=True) as log:
        trail = " ".join(e.body.decode() for e in log.entries())
    # The agent wrote the stored secret into its reasoning: the server's redactor knows
    # the store's values, so the trail masks it (before, it held it verbatim).
    assert CANARY not in trail and encoded not in trail and "[REDACTED]" in trail
    for name, body in artifacts.items():
        assert CANARY not in body and encoded not in body, name
    # Masked in the trail already, so the record quotes the mask (Markdown-escaped).
    assert "the token was \\[REDACTED\\]" in artifacts["DECISION_RECORD.md"]


def test_the_console_offers_the_same_download(session: Session) -> None:
    url = session.served.url
    got = httpx.get(f"{url}/incident/report.zip", params={"since": "1h"}, headers=session.admin)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        files = {n: archive.read(n).decode() for n in archive.namelist()}
    assert set(files) == set(FILES)
    assert session.ids["leak"] in files["incident_report.md"]
    assert all(CANARY not in body for body in files.values())
    one = httpx.get(f"{url}/incident/report.zip", params={"card": session.ids["denied"]},
                    headers=session.admin)  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(one.content)) as archive:
        record = archive.read("DECISION_RECORD.md").decode()
    assert session.ids["denied"] in record and session.ids["restart"] not in record
    # Agents never read the trail: a token is not a console session.
    assert httpx.get(f"{url}/incident/report.zip", headers=session.agent).status_code == 303
    page = httpx.get(f"{url}/cards/{session.ids['denied']}", headers=session.admin).text
    assert f"/incident/report.zip?card={session.ids['denied']}" in page
    assert "/incident/report.zip?since=24h" in httpx.get(f"{url}/audit", headers=session.admin).text


def test_a_tampered_trail_is_named_in_every_artifact(session: Session, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    source = sqlite3.connect(session.home / "audit.db")
    target = sqlite3.connect(copy / "audit.db")
    source.backup(target)
    source.close()
    shutil.copy(session.home / "audit-signing-key.pem", copy / "audit-signing-key.pem")
    row = target.execute(
        "SELECT seq FROM audit_entries WHERE CAST(body AS TEXT) LIKE "
        "'%settings.production_protection%' AND CAST(body AS TEXT) LIKE '%decision.made%' "
        "ORDER BY seq LIMIT 1"
    ).fetchone()
    assert row is not None
    edited = row[0]
    # Someone turns the refusal into an allow, after the fact.
    body = target.execute("SELECT body FROM audit_entries WHERE seq = ?", (edited,)).fetchone()[0]
    forged = bytes(body).replace(b'"decision":"deny"', b'"decision":"allow"')
    assert forged != bytes(body)
    target.execute("UPDATE audit_entries SET body = ? WHERE seq = ?", (forged, edited))
    target.commit()
    target.close()
    out = tmp_path / "out"
    proc = run("incident", "report", "--since", "1h", "--db", str(copy / "audit.db"),
               "--out", str(out), "--postmortem", home=tmp_path / "none")  # fmt: skip
    assert proc.returncode == 8, proc.stdout + proc.stderr
    assert "failed verification" in proc.stderr and f"seq {edited}" in proc.stderr
    for name in FILES:
        body = (out / name).read_text("utf-8")
        assert "AUDIT TRAIL TAMPERED" in body, name
        assert f"seq {edited}: edited" in body, name
    assert f"[#{edited}] ⚠" in (out / "incident_report.md").read_text("utf-8")
