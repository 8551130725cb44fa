"""``opsgate lockdown`` as a real process against a real data directory: an admin
locks down with a reason (the agent's next proposal is refused with it, its
pending card cancelled), ``status`` says so in text and JSON, a token — even an
admin's — cannot lift it, a person can; a member cannot lock down."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from test_hook_process import OPSGATE

from opsgate.approvals.control import open_control_plane
from opsgate.approvals.model import CardState, Role
from opsgate.models import Action, Verdict

PASSWORD = "correct horse battery staple"
WHY = "agent dropped a staging table"


def run(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    clean.update(OPSGATE_HOME=str(home), **env)
    return subprocess.run([OPSGATE, *args], capture_output=True, text=True, env=clean,
                          timeout=60, check=False)  # fmt: skip


def test_lockdown_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cp = open_control_plane(data_dir=home)
    try:
        cp.create_user(None, "olive", PASSWORD, Role.OWNER)
        owner = cp.session(cp.login("olive", PASSWORD)[1])
        assert owner is not None
        cp.create_user(owner, "ada", PASSWORD, Role.ADMIN)
        cp.create_user(owner, "max", PASSWORD, Role.MEMBER)
        agent = cp.token(cp.create_token(owner, "claude", Role.AGENT)[1])
        _info, admin_token = cp.create_token(owner, "ops-bot", Role.ADMIN)
        assert agent is not None
        restart = Action("", "Bash", {"command": "kubectl --context staging rollout restart x"})
        card = cp.propose(agent, restart).card
        assert card is not None
    finally:
        cp.close()  # type: ignore[attr-defined]

    member = run("lockdown", "on", "--user", "max", home=home, OPSGATE_PASSWORD=PASSWORD)
    assert member.returncode == 4 and "admin" in member.stderr
    on = run("lockdown", "on", "--user", "ada", "--reason", WHY, home=home,
             OPSGATE_PASSWORD=PASSWORD)  # fmt: skip
    assert on.returncode == 0, on.stderr
    assert "LOCKED DOWN" in on.stdout and "1 pending card(s) cancelled" in on.stdout
    status = run("lockdown", "status", "--json", "--token", admin_token, home=home)
    state = json.loads(status.stdout)
    assert state["locked"] and state["by"] == "ada" and state["reason"] == WHY

    cp = open_control_plane(data_dir=home)
    try:
        decision = cp.propose(agent, restart).decision
        assert decision.verdict is Verdict.DENY and WHY in decision.reasons[0]
        assert cp.get_card(agent, card.id).state is CardState.CANCELLED
    finally:
        cp.close()  # type: ignore[attr-defined]

    by_token = run("lockdown", "off", "--token", admin_token, home=home)
    assert by_token.returncode == 4 and "person" in by_token.stderr
    off = run("lockdown", "off", "--user", "olive", "--reason", "restored", home=home,
              OPSGATE_PASSWORD=PASSWORD)  # fmt: skip
    assert off.returncode == 0, off.stderr
    text = run("lockdown", "status", "--token", admin_token, home=home)
    assert text.stdout.strip() == "opsgate: not locked down"
