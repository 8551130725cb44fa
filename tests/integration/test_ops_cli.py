"""``opsgate ops`` as a real process over a real control plane: the catalog, a
proposal that becomes a card with its link, its status once run, undo, and the
same refusals as the API (Production Protection, an agent token never approves,
an agent sees only its own cards)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_hook_process import OPSGATE

from execute_env import PASSWORD, cheap_argon2, open_cp, people, write_ops
from opsgate.approvals.model import Role
from opsgate.environments import InventoryTarget
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog
from opsgate.models import Environment


@dataclass
class Home:
    path: Path
    agent: str  # an agent token's secret
    other: str  # another agent's


def ops(home: Home, *args: str, token: str | None = None, user: str | None = None,
        **env: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    # The targets are reached with the local runner: this is the dedicated operations host.
    environ.update({"OPSGATE_HOME": str(home.path), "OPSGATE_PUBLIC_URL": "https://og.example",
                    "OPSGATE_LOCAL_RUNNER": "1", **env})  # fmt: skip
    if token:
        environ["OPSGATE_TOKEN"] = token
    if user:
        environ.update({"OPSGATE_USER": user, "OPSGATE_PASSWORD": PASSWORD})
    return subprocess.run([OPSGATE, *args], capture_output=True, text=True, env=environ,
                          timeout=60, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    cheap_argon2()
    path = tmp_path_factory.mktemp("ops") / "home"
    path.mkdir()
    write_ops(path)
    cp = open_cp(path)
    try:
        who = people(cp)
        agent = cp.create_token(who["owner"], "claude-cli", Role.AGENT)[1]
        other = cp.create_token(who["owner"], "codex-cli", Role.AGENT)[1]
        for name, env in (("box", Environment.STAGING), ("prod-box", Environment.PRODUCTION)):
            target = InventoryTarget(name, "server", env, connection=(("runner", "local"),))
            cp.put_target(who["owner"], target)
    finally:
        cp.close()
    yield Home(path, agent, other)


def _run_approved(home: Home, card: str) -> None:
    """What ``opsgate serve`` does for an approved card: run it once."""
    cp = open_cp(home.path)
    try:
        executor = Executor(cp, catalog=load_catalog(home.path, env={}), local_runner=True)
        assert asyncio.run(executor.run(card)) is not None
    finally:
        cp.close()


def test_list_and_show_read_the_catalog(home: Home) -> None:
    listed = ops(home, "ops", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {o["name"] for o in json.loads(listed.stdout)}
    assert {"service.restart", "logs.read", "test.append"} <= names
    table = ops(home, "ops", "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "EFFECT", "IMPACT", "TARGETS", "DESCRIPTION"]
    shown = ops(home, "ops", "show", "service.restart")
    assert "--param service=" in shown.stdout and "systemctl restart {service}" in shown.stdout
    assert json.loads(ops(home, "ops", "show", "logs.read", "--json").stdout)["effect"] == "read"
    missing = ops(home, "ops", "show", "no.such")
    assert missing.returncode != 0 and "no.such" in missing.stderr


def test_propose_prints_the_card_then_status_and_undo(home: Home, tmp_path: Path) -> None:
    marker = tmp_path / "appended"
    proposed = ops(home, "ops", "propose", "test.append", "--target", "box", "--param",
                   f"file={marker}", "--param", "line=first", "--reasoning", "drill",
                   "--json", token=home.agent)  # fmt: skip
    assert proposed.returncode == 0, proposed.stderr
    body = json.loads(proposed.stdout)
    card = body["card"]["id"]
    assert body["decision"]["decision"] == "require_approval"
    assert body["link"] == f"https://og.example/cards/{card}" and body["card"]["state"] == "pending"
    assert not marker.exists()  # nothing runs before a person approves
    # An agent token never approves, whatever the command.
    refused = ops(home, "approve", card, token=home.agent)
    assert refused.returncode == 4 and "agent" in refused.stderr
    assert ops(home, "approve", card, user="adam").returncode == 0
    _run_approved(home, card)
    assert marker.read_text() == "first\n"
    status = json.loads(ops(home, "ops", "status", card, "--json", token=home.agent).stdout)
    assert status["card"]["state"] == "completed" and status["result"]["status"] == "completed"
    text = ops(home, "ops", "status", card, token=home.agent).stdout
    assert f"card {card}: completed" in text
    # Another agent does not see this card (not found, as over the API).
    assert ops(home, "ops", "status", card, token=home.other).returncode == 4
    # test.append's rollback is by hand: undo says so.
    undo = ops(home, "ops", "undo", card, token=home.agent)
    assert undo.returncode == 4 and "remove the line by hand" in undo.stderr


def test_undo_proposes_the_recorded_rollback_as_a_new_card(home: Home) -> None:
    first = ops(home, "ops", "propose", "service.restart", "--target", "box", "--param",
                "service=web", "--json", token=home.agent)  # fmt: skip
    card = json.loads(first.stdout)["card"]["id"]
    assert ops(home, "approve", card, user="adam").returncode == 0
    _run_approved(home, card)  # no systemctl here: the run fails, which is still undoable
    undo = ops(home, "ops", "undo", card, token=home.agent)
    assert undo.returncode == 0, undo.stderr
    assert "card c_" in undo.stdout and "https://og.example/cards/c_" in undo.stdout
    assert "systemctl restart web" in undo.stdout and card not in undo.stdout.split()[1]


def test_production_protection_refuses_as_everywhere(home: Home) -> None:
    refused = ops(home, "ops", "propose", "service.restart", "--target", "prod-box",
                  "--param", "service=web", token=home.agent)  # fmt: skip
    assert refused.returncode == 4
    assert "DENY (decided by settings.production_protection)" in refused.stdout
    assert "Production Protection" in refused.stderr
    bad = ops(home, "ops", "propose", "test.append", "--target", "box", "--param", "nope",
              token=home.agent)  # fmt: skip
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_run_a_read_operation_now(home: Home) -> None:
    ran = ops(home, "ops", "run", "test.say", "--target", "box", "--param", "text=hello there",
              token=home.agent)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "| hello there" in ran.stdout and "completed" in ran.stdout


@pytest.mark.parametrize("args", [["ops"], ["ops", "propose"], ["incident"],
                                  ["incident", "report"], ["policy", "diff"]])  # fmt: skip
def test_help(home: Home, args: list[str]) -> None:
    proc = ops(home, *args, "--help")
    assert proc.returncode == 0 and f"opsgate {' '.join(args)}" in proc.stdout
