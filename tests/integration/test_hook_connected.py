"""Connected mode against a real ``opsgate serve``: the hook proposes, answers at once
with a deny naming the card, and the identical retry after approval passes once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agent_payloads import claude, copilot, encode
from test_hook_agents import allowed, blocked
from test_hook_daemon import service  # noqa: F401  (fixture: a real resident service)
from test_server_socket import Served, login, owner_password, setup_org

from servers import OPSGATE, free_port

CARD = re.compile(r"card (c_[0-9a-f]+) — (\S+)")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, str], str]]:
    served = Served(tmp_path_factory.mktemp("serve") / "home")
    owner = login(served.url, "owner", owner_password(served))
    admin, agent = setup_org(served.url, owner)
    yield served, admin, agent["Authorization"].removeprefix("Bearer ")
    served.stop()


def run(agent: str, payload: dict, home: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    environ.update({"OPSGATE_HOME": str(home), "OPSGATE_HOOK_DAEMON": "0", **env})
    return subprocess.run([OPSGATE, "hook", agent], input=encode(payload), capture_output=True,
                          env=environ, timeout=60, check=False)  # fmt: skip


def bash(agent: str, command: str) -> dict:
    if agent == "claude":
        return claude("Bash", {"command": command, "description": "as asked"})
    return copilot("bash", {"command": command})


@pytest.mark.parametrize("agent", ["claude", "copilot"])
def test_card_approve_retry_once(agent: str, org: tuple, tmp_path: Path) -> None:
    served, admin, token = org
    env = {"OPSGATE_URL": served.url, "OPSGATE_TOKEN": token}
    command = f"kubectl --context staging delete namespace {agent}-api"
    started = time.monotonic()
    first = blocked(agent, run(agent, bash(agent, command), tmp_path, **env))
    assert time.monotonic() - started < 5  # answered at once, never waiting for a human
    card_id, link = CARD.search(first).groups()  # type: ignore[union-attr]
    assert link == f"{served.url}/cards/{card_id}"
    assert "retry the identical action" in first

    card = httpx.get(f"{served.url}/api/v1/cards/{card_id}", headers=admin).json()
    assert card["state"] == "pending" and card["action"]["command"] == command
    # Claude Code's description of the call is the card's reasoning (Copilot sends none).
    assert card["reasoning"] == ("as asked" if agent == "claude" else "")
    assert card["irreversible"] is True  # destructive, and no rollback plan given
    approved = httpx.post(f"{served.url}/api/v1/cards/{card_id}/approve", headers=admin,
                          json={"confirmation": card["confirm"]})  # fmt: skip
    assert approved.status_code == 200, approved.text

    allowed(agent, run(agent, bash(agent, command), tmp_path, **env))  # the grant, used once
    used = httpx.get(f"{served.url}/api/v1/cards/{card_id}", headers=admin).json()
    assert used["state"] == "used" and used["used"]["audit_seq"] is not None
    again = blocked(agent, run(agent, bash(agent, command), tmp_path, **env))
    second_card = CARD.search(again).group(1)  # type: ignore[union-attr]
    assert second_card != card_id  # used up: a new card, not the old grant
    other = blocked(agent, run(agent, bash(agent, command + "-v2"), tmp_path, **env))
    assert CARD.search(other).group(1) not in (card_id, second_card)  # type: ignore[union-attr]


def test_allowed_work_passes_through_the_control_plane(org: tuple, tmp_path: Path) -> None:
    served, _, token = org
    env = {"OPSGATE_URL": served.url, "OPSGATE_TOKEN": token}
    allowed("claude", run("claude", bash("claude", "npm test"), tmp_path, **env))


def test_unreachable_control_plane_decides_locally_and_never_asks(tmp_path: Path) -> None:
    env = {"OPSGATE_URL": f"http://127.0.0.1:{free_port()}", "OPSGATE_TOKEN": "og_x"}
    allowed("claude", run("claude", bash("claude", "npm test"), tmp_path, **env))
    restart = 'eval "$CLEANUP_CMD"'  # a local caution action: asked when nothing is connected
    default_mode = {**bash("claude", restart), "permission_mode": "default"}  # a person watches
    local = run("claude", default_mode, tmp_path)
    assert json.loads(local.stdout)["hookSpecificOutput"]["permissionDecision"] == "ask"
    proc = run("claude", default_mode, tmp_path, **env)
    out = json.loads(proc.stdout)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"  # would be "ask" without the control plane
    assert "unreachable" in out["permissionDecisionReason"]


def test_bad_token_blocks_with_a_clear_message(org: tuple, tmp_path: Path) -> None:
    served, _, _ = org
    env = {"OPSGATE_URL": served.url, "OPSGATE_TOKEN": "og_not_a_real_token"}
    for agent in ("claude", "copilot"):
        reason = blocked(agent, run(agent, bash(agent, "npm test"), tmp_path, **env))
        assert "refused the agent token (401" in reason
        assert "og_not_a_real_token" not in reason


def test_token_file_must_be_private(org: tuple, tmp_path: Path) -> None:
    served, _, token = org
    home = tmp_path / "home"
    home.mkdir()
    config = home / "connect.json"
    config.write_text(json.dumps({"url": served.url, "token": token}))
    config.chmod(0o644)
    reason = blocked("claude", run("claude", bash("claude", "npm test"), home))
    assert "chmod 600" in reason and token not in reason
    config.chmod(0o600)
    allowed("claude", run("claude", bash("claude", "npm test"), home))


def through_service(payload: dict) -> subprocess.CompletedProcess[bytes]:
    """Ask the resident service exactly as ``opsgate hook claude`` does first
    (``_client.ask_daemon``, with this process's environment forwarded); fails the
    test if the service did not answer (the hook would then decide in-process)."""
    from opsgate.hooks._client import ask_daemon

    answer = ask_daemon("claude", encode(payload))
    assert answer is not None, "the resident service did not answer"
    out, err, code = answer
    return subprocess.CompletedProcess([], code, out.encode(), err.encode())


def test_connected_mode_through_the_resident_service(
    org: tuple,
    service: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The service was started without OPSGATE_URL/OPSGATE_TOKEN: only the forwarded
    variables can make it propose to the control plane."""
    served, admin, token = org
    for key in [k for k in os.environ if k.startswith("OPSGATE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OPSGATE_HOME", str(service))
    monkeypatch.setenv("OPSGATE_URL", served.url)
    monkeypatch.setenv("OPSGATE_TOKEN", token)
    command = "kubectl --context staging delete namespace daemon-api"

    first = blocked("claude", through_service(bash("claude", command)))
    card_id, link = CARD.search(first).groups()  # type: ignore[union-attr]
    assert link == f"{served.url}/cards/{card_id}"
    card = httpx.get(f"{served.url}/api/v1/cards/{card_id}", headers=admin).json()
    assert card["state"] == "pending" and card["action"]["command"] == command
    assert card["reasoning"] == "as asked"  # the description, through the service too
    approved = httpx.post(f"{served.url}/api/v1/cards/{card_id}/approve", headers=admin,
                          json={"confirmation": card["confirm"]})  # fmt: skip
    assert approved.status_code == 200, approved.text

    allowed("claude", through_service(bash("claude", command)))  # once
    again = blocked("claude", through_service(bash("claude", command)))
    assert CARD.search(again).group(1) != card_id  # type: ignore[union-attr]
    # And the real hook process, service on, agrees: a third card, never the grant.
    env = {"OPSGATE_URL": served.url, "OPSGATE_TOKEN": token, "OPSGATE_HOOK_DAEMON": "1"}
    proc = run("claude", bash("claude", command), service, **env)
    third = CARD.search(blocked("claude", proc)).group(1)  # type: ignore[union-attr]
    assert third not in (card_id, CARD.search(again).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "url", ["http://opsgate.internal:8470", "http://10.0.0.5:8470", "http://[fe80::1]:8470"]
)
def test_plain_http_off_this_machine_is_refused(url: str, tmp_path: Path) -> None:
    env = {"OPSGATE_URL": url, "OPSGATE_TOKEN": "og_secret_agent_token"}
    reason = blocked("claude", run("claude", bash("claude", "npm test"), tmp_path, **env))
    assert "clear text" in reason and "https://" in reason
    assert "og_secret_agent_token" not in reason


def test_a_password_in_opsgate_url_never_reaches_the_model(tmp_path: Path) -> None:
    """A URL with credentials in it (``https://ops:PASSWORD@host`` behind a proxy that
    wants them) is shown masked in every reason the agent reads."""
    unreachable = f"http://ops:hunter2-url-password@127.0.0.1:{free_port()}/?key=sekrit-q"
    env = {"OPSGATE_URL": unreachable, "OPSGATE_TOKEN": "og_x"}
    restart = "kubectl --context staging rollout restart deploy/web"
    down = blocked("claude", run("claude", bash("claude", restart), tmp_path, **env))
    assert "unreachable" in down and "ops:***@127.0.0.1" in down, down
    no_token = {"OPSGATE_URL": unreachable}
    tokenless = blocked("claude", run("claude", bash("claude", "npm test"), tmp_path, **no_token))
    assert "no agent token" in tokenless, tokenless
    for reason in (down, tokenless):
        assert "hunter2" not in reason and "sekrit-q" not in reason, reason
