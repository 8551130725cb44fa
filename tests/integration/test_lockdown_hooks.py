"""Lockdown reaches hooks in connected mode: the hook, a real process fed the
agent's exact JSON, proposes to a real ``opsgate serve`` that is locked down, and
is told no — for a new write, for the identical retry of an action approved just
before (its grant was revoked), in every mode, never as a question — while
ordinary work still passes.  After the lockdown is lifted the retry needs a new
card."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agent_payloads import claude, copilot
from test_hook_agents import allowed, blocked
from test_hook_connected import CARD, run
from test_server_socket import Served, login, owner_password, setup_org


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, str], str]]:
    served = Served(tmp_path_factory.mktemp("lockdown-hooks") / "home")
    owner = login(served.url, "owner", owner_password(served))
    admin, agent = setup_org(served.url, owner)
    yield served, admin, agent["Authorization"].removeprefix("Bearer ")
    served.stop()


def _payload(agent: str, command: str, mode: str) -> dict[str, object]:
    if agent == "claude":
        return {**claude("Bash", {"command": command}), "permission_mode": mode}
    return copilot("bash", {"command": command})


@pytest.mark.parametrize(("agent", "mode"), [("claude", "default"), ("claude", "bypassPermissions"),
                                             ("copilot", "")])  # fmt: skip
def test_a_locked_down_control_plane_refuses_the_hooks_writes(
    agent: str, mode: str, org: tuple[Served, dict[str, str], str], tmp_path: Path
) -> None:
    served, admin, token = org
    env = {"OPSGATE_URL": served.url, "OPSGATE_TOKEN": token}
    approved = f"kubectl --context staging rollout restart deploy/{agent}-{mode or 'x'}"
    first = blocked(agent, run(agent, _payload(agent, approved, mode), tmp_path, **env))
    card_id = CARD.search(first).group(1)  # type: ignore[union-attr]
    r = httpx.post(f"{served.url}/api/v1/cards/{card_id}/approve", headers=admin, json={})
    assert r.status_code == 200, r.text
    r = httpx.post(f"{served.url}/api/v1/lockdown", headers=admin, json={"reason": "incident 9"})
    try:
        # The card as the server holds it, should no grant be revoked: a failure then
        # says which lifecycle step took the grant first.
        card = httpx.get(f"{served.url}/api/v1/cards/{card_id}", headers=admin).text
        assert r.status_code == 200 and r.json()["revoked_grants"], (r.text, card)
        writes = (approved, "rm -rf ./build/../../etc", "kubectl --context staging delete ns x")
        for command in writes:
            proc = run(agent, _payload(agent, command, mode), tmp_path, **env)
            reason = blocked(agent, proc)
            assert "locked down" in reason and "incident 9" in reason, reason
            assert b'"ask"' not in proc.stdout  # never handed to the agent's own prompt
        allowed(agent, run(agent, _payload(agent, "npm test", mode), tmp_path, **env))
    finally:
        r = httpx.post(f"{served.url}/api/v1/lockdown/lift", headers=admin, json={})
        assert r.status_code == 200, r.text
    again = blocked(agent, run(agent, _payload(agent, approved, mode), tmp_path, **env))
    assert CARD.search(again).group(1) != card_id  # type: ignore[union-attr]
