"""The executor over a real OpenSSH server on loopback: built-in operations run
after approval, parameters stay single arguments, host keys are checked, backups
land where the operating account cannot delete them, canaries never leak."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from execute_env import CANARY, Org, everything_stored, org
from opsgate.approvals.model import CardState
from opsgate.environments import InventoryTarget
from opsgate.execute import InvalidParams
from opsgate.models import Environment, Verdict
from sshd_server import SshServer, missing_reason, sshd

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


@pytest.fixture(scope="module")
def server() -> Iterator[SshServer]:
    with sshd() as s:
        yield s


@pytest.fixture
def o(tmp_path: Path, server: SshServer, hook_env: None) -> Iterator[Org]:
    with org(tmp_path / "home") as made:
        made.ex.set_secret(made.admin, "op_key", server.op_key)
        made.ex.set_secret(made.admin, "bk_key", server.bk_key)
        for name, env in (
            ("web-staging", Environment.STAGING),
            ("web-prod", Environment.PRODUCTION),
        ):
            made.cp.put_target(
                made.owner, InventoryTarget(name, "server", env, connection=server.connection())
            )
        yield made


def approve_and_run(o: Org, operation: str, params: dict[str, object], confirm: str | None = None):  # type: ignore[no-untyped-def]
    proposed = o.ex.propose_operation(o.agent, operation, "web-staging", params, "because")
    assert proposed.decision.verdict is Verdict.REQUIRE_APPROVAL, proposed.decision.reasons
    assert proposed.card is not None
    o.cp.approve(o.admin, proposed.card.id, confirm)
    result = asyncio.run(o.ex.run(proposed.card.id))
    assert result is not None
    return proposed.card, result


def test_restart_on_staging_runs_once_after_approval(o: Org, server: SshServer) -> None:
    before = len(server.called())
    proposed = o.ex.propose_operation(o.agent, "service.restart", "web-staging", {"service": "web"})
    card = proposed.card
    assert card is not None and card.state is CardState.PENDING
    assert "systemctl restart web" in card.action["command"]
    assert card.rollback  # the rollback plan is on the card before anything runs
    assert asyncio.run(o.ex.run(card.id)) is None  # not approved: nothing runs
    assert len(server.called()) == before
    o.cp.approve(o.admin, card.id, None)
    result = asyncio.run(o.ex.run(card.id))
    assert result is not None and result.status == "completed", result.output
    assert result.exit_status == 0 and result.duration is not None
    assert server.called()[before:] == ["systemctl restart web", "systemctl is-active web"]
    assert asyncio.run(o.ex.run(card.id)) is None  # never twice
    final = o.cp.get_card(o.agent, card.id)
    assert final.state is CardState.COMPLETED and "is-active" in final.result["output"]
    events = o.events()
    assert events.index("rollback.recorded") < events.index("card.approved")  # at proposal
    after = events[events.index("card.approved") :]
    ran = [e for e in after if e.startswith(("execution.", "rollback."))]
    # Nothing to capture: the plan's rollback, in execution.started, precedes the write.
    assert ran == ["execution.started", "execution.completed"]
    started = [e.data for e in o.cp.audit.entries() if e.event == "execution.started"][-1]
    assert started["result"]["plan"]["rollback"]["description"] == card.rollback


def test_read_operation_runs_at_once_without_a_card(o: Org) -> None:
    result = asyncio.run(
        o.ex.run_read_only(o.agent, "logs.read", "web-staging", {"service": "web", "lines": 5})
    )
    assert result.status == "completed" and "listening on :8080" in result.output
    with pytest.raises(InvalidParams):
        asyncio.run(o.ex.run_read_only(o.agent, "logs.read", "web-staging", {"service": "w;id"}))
    with pytest.raises(InvalidParams):
        asyncio.run(o.ex.run_read_only(o.agent, "logs.read", "web-staging", {"service": "-x"}))


def test_parameters_stay_one_argument(o: Org, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"a b; touch {marker} $(touch {marker}) `touch {marker}` | cat && echo '\"x"
    result = asyncio.run(o.ex.run_read_only(o.agent, "test.say", "web-staging", {"text": text}))
    assert result.status == "completed"
    assert text in result.output.splitlines()
    assert not marker.exists()


def test_production_write_is_refused_by_production_protection(o: Org) -> None:
    proposed = o.ex.propose_operation(o.agent, "service.restart", "web-prod", {"service": "web"})
    assert proposed.decision.verdict is Verdict.DENY and proposed.card is None
    assert proposed.decision.decided_by == "settings.production_protection"


def test_host_key_is_checked(o: Org, server: SshServer, tmp_path: Path) -> None:
    other = server.connection(host_key="ssh-ed25519 " + base64.b64encode(
        b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + b"\x01" * 32).decode())  # fmt: skip
    o.cp.put_target(o.owner, InventoryTarget("web-staging", "server", Environment.STAGING,
                                             connection=other))  # fmt: skip
    before = len(server.called())
    _, result = approve_and_run(o, "service.restart", {"service": "web"})
    assert result.status == "failed" and "host key" in (result.reason or "").lower()
    assert len(server.called()) == before
    # No pin and no known_hosts entry: still checked (the default file knows nothing).
    unpinned = tuple((k, v) for k, v in server.connection(known_hosts=str(tmp_path / "kh"))
                     if k != "host_key")  # fmt: skip
    (tmp_path / "kh").write_text("")
    o.cp.put_target(o.owner, InventoryTarget("web-staging", "server", Environment.STAGING,
                                             connection=unpinned))  # fmt: skip
    _, result = approve_and_run(o, "service.restart", {"service": "web"})
    assert result.status == "failed" and len(server.called()) == before


def test_canary_secrets_never_leak(o: Org, tmp_path: Path) -> None:
    card, result = approve_and_run(o, "test.leak", {"token": "secret:canary"})
    assert result.status == "failed" and result.exit_status == 3
    assert "plain [REDACTED]" in result.output and "API_TOKEN=[REDACTED]" in result.output
    encoded = base64.b64encode(CANARY.encode()).decode()
    channels = [
        result.output,
        result.reason or "",
        str(result.to_json()),
        str(o.cp.get_card(o.agent, card.id)),
        str(o.ex.result(o.agent, card.id)),
        str([e.data for e in o.cp.audit.entries()]),
        str(o.ex.list_secrets(o.agent)),
    ]
    for channel in channels:
        assert CANARY not in channel and encoded not in channel
    stored = everything_stored(tmp_path / "home")
    assert CANARY.encode() not in stored and encoded.encode() not in stored
    assert b"op_key" in stored  # the names are there; only values are secret


@pytest.mark.skipif(os.geteuid() != 0, reason="needs two accounts (root creates them)")
def test_backup_first_and_out_of_the_operators_reach(o: Org, server: SshServer) -> None:
    app = server.app_dir
    (app / "bin").mkdir(exist_ok=True)
    (app / "bin" / "deploy").write_text('#!/bin/sh\necho v2 > "$(dirname "$0")/../VERSION"\n')
    (app / "bin" / "deploy").chmod(0o755)
    (app / "VERSION").write_text("v1\n")
    os.system(f"chown -R {server.op_user} {app}")
    card, result = approve_and_run(o, "deploy.command", {"app_dir": str(app)})
    assert result.status == "completed", result.output
    assert (app / "VERSION").read_text() == "v2\n"
    backup = result.captured["backup_file"]
    path = server.backup_dir / backup
    assert path.exists() and path.stat().st_uid != os.stat(app).st_uid
    # The operating account cannot delete it (the rm's verify step fails).
    _, rm = approve_and_run(o, "test.rm", {"path": str(path)}, confirm="web-staging")
    assert rm.status == "failed" and path.exists()
    # Undo proposes the recorded rollback (a restore of that backup) as a new card.
    undo = o.ex.undo(o.agent, card.id)
    assert undo.card is not None and undo.card.action["params"]["backup"] == backup
    assert undo.card.confirm == "web-staging"  # a restore is destructive: typed confirmation
    o.cp.approve(o.admin, undo.card.id, "web-staging")
    restored = asyncio.run(o.ex.run(undo.card.id))
    assert restored is not None and restored.status == "completed", restored.output
    assert (app / "VERSION").read_text() == "v1\n"
