"""The connected hook against a real ``opsgate serve``: an approval covers the files,
the directory and the context it was given in (issue 13, review C2 and M1).

The hook runs as a real process, fed the exact JSON Claude Code sends.  After a
member approves ``psql … -f fix.sql`` (which creates an index), swapping fix.sql,
running it from another directory or switching the Kubernetes context each get a
new card; the untouched retry still passes, once.  The file's text reaches the
control plane only to be classified: no answer, card or audit byte holds it."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from agent_payloads import claude, encode
from test_hook_agents import allowed, blocked
from test_server_socket import login, owner_password

from servers import OPSGATE, Serve

CARD = re.compile(r"card (c_[0-9a-f]+) — ")
CANARY = "Cn" + secrets.token_urlsafe(24)
INDEX_SQL = f"-- ticket {CANARY}\nCREATE INDEX idx_orders_created ON orders (created_at);\n"
SWAPPED_SQL = "\\connect postgresql://app@db.prod.internal/shop\nDROP TABLE orders;\n"
COMMAND = "psql -h db.staging.internal -d shop -f fix.sql"


class Org:
    def __init__(self, served: Serve) -> None:
        self.served = served
        owner = login(served.url, "owner", owner_password(served))
        person = {"name": "mia", "password": "member password!", "role": "member"}
        assert httpx.post(f"{served.url}/api/v1/users", headers=owner, json=person).is_success
        self.member = login(served.url, "mia", "member password!")
        token = httpx.post(f"{served.url}/api/v1/tokens", headers=owner, json={"name": "c"})
        self.token = token.json()["secret"]

    def card(self, card_id: str) -> dict:
        answer = httpx.get(f"{self.served.url}/api/v1/cards/{card_id}", headers=self.member)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def approve(self, card_id: str) -> None:
        url = f"{self.served.url}/api/v1/cards/{card_id}/approve"
        answer = httpx.post(url, headers=self.member, json={})
        assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    served = Serve(tmp_path_factory.mktemp("serve") / "home")
    yield Org(served)
    served.stop()


class Agent:
    """The agent's machine: a home with a kubeconfig, a project, the hook."""

    def __init__(self, root: Path, org: Org) -> None:
        self.home = root / "home"
        (self.home / ".kube").mkdir(parents=True)
        self.project = root / "shop"
        self.project.mkdir()
        (self.project / "fix.sql").write_text(INDEX_SQL)
        (root / "opsgate").mkdir()  # as `opsgate install` makes it
        self.use_context("staging-eu")
        ours = ("OPSGATE_", "CLAUDE_", "KUBECONFIG")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        self.env.update(HOME=str(self.home), OPSGATE_HOME=str(root / "opsgate"),
                        OPSGATE_HOOK_DAEMON="0", OPSGATE_URL=org.served.url,
                        OPSGATE_TOKEN=org.token)  # fmt: skip
        self.outputs: list[str] = []

    def use_context(self, name: str) -> None:
        (self.home / ".kube" / "config").write_text(f"apiVersion: v1\ncurrent-context: {name}\n")

    def run(self, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        payload = claude("Bash", {"command": COMMAND, "description": "add the index"})
        payload["cwd"] = str(cwd or self.project)
        proc = subprocess.run([OPSGATE, "hook", "claude"], input=encode(payload),
                              capture_output=True, env=self.env, timeout=60,
                              check=False)  # fmt: skip
        self.outputs += [proc.stdout.decode(), proc.stderr.decode()]
        return proc

    def card(self, cwd: Path | None = None) -> str:
        reason = blocked("claude", self.run(cwd))
        found = CARD.search(reason)
        assert found, reason
        return found.group(1)


def test_swap_cd_and_context_switch_each_need_a_new_card(org: Org, tmp_path: Path) -> None:
    agent = Agent(tmp_path, org)
    first = agent.card()
    card = org.card(first)
    assert card["impact"] == "caution" and card["environment"] == "staging"
    org.approve(first)

    # The file swapped after the approval: a new card, destructive, past a member.
    (agent.project / "fix.sql").write_text(SWAPPED_SQL)
    swapped = agent.card()
    assert swapped != first and org.card(swapped)["impact"] == "destructive"
    (agent.project / "fix.sql").write_text(INDEX_SQL)

    # The card says what its approval covers: the file by hash, the context by name.
    digest = hashlib.sha256(INDEX_SQL.encode()).hexdigest()
    assert card["binding"]["files"] == [
        {"path": str(agent.project / "fix.sql"), "sha256": digest, "read": True}
    ]
    assert card["binding"]["context"]["kube.context"] == "staging-eu"

    # Another directory holding an identical fix.sql: a new card.
    elsewhere = tmp_path / "payments-prod"
    elsewhere.mkdir()
    (elsewhere / "fix.sql").write_text(INDEX_SQL)
    moved = agent.card(elsewhere)
    assert moved not in (first, swapped)

    # kubectl config use-context prod-eu: a new card.
    agent.use_context("prod-eu")
    switched = agent.card()
    assert switched not in (first, swapped, moved)
    assert org.card(switched)["binding"]["context"]["kube.context"] == "prod-eu"
    agent.use_context("staging-eu")

    # Everything as approved: the retry passes, once.
    allowed("claude", agent.run())
    again = agent.card()
    assert again not in (first, swapped, moved, switched)

    shown = [*agent.outputs, *(str(org.card(c)) for c in (first, swapped, moved, switched))]
    assert not any(CANARY in text for text in shown)
    home = org.served.home
    for path in home.iterdir():
        if path.name.startswith(("audit.db", "opsgate.db")):
            assert CANARY.encode() not in path.read_bytes(), path.name
