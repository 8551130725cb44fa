"""Exactly once, with real processes: an executor killed with SIGKILL mid-run
leaves its card failed as "interrupted; outcome unknown", never re-run; two
executor processes racing over the same approved cards run each exactly once.
Also: the local runner is off unless configured, and canaries never leak."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from execute_env import CANARY, Org, everything_stored, org
from opsgate.approvals.model import CardState
from opsgate.environments import InventoryTarget
from opsgate.execute import ExecutionError, Executor
from opsgate.execute._records import INTERRUPTED
from opsgate.execute.catalog import load_catalog
from opsgate.models import Environment

WORKER = Path(__file__).resolve().parents[1] / "execute_worker.py"
LOCAL = (("runner", "local"),)


def box(o: Org) -> None:
    o.cp.put_target(
        o.owner, InventoryTarget("box", "server", Environment.STAGING, connection=LOCAL)
    )


def approved(o: Org, params: dict[str, object], operation: str = "test.append") -> str:
    card = o.ex.propose_operation(o.agent, operation, "box", params, "test").card
    assert card is not None
    o.cp.approve(o.admin, card.id, None)
    return card.id


def worker(home: Path, lease: float, *cards: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPSGATE_DATABASE_URL"}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(home), str(lease), *cards],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_local_runner_is_off_unless_configured(tmp_path: Path, hook_env: None) -> None:
    with org(tmp_path / "home", local_runner=False) as o:
        box(o)
        with pytest.raises(ExecutionError, match="local runner is off"):
            o.ex.propose_operation(o.agent, "test.say", "box", {"text": "hi"})


def test_kill_9_mid_run_fails_the_card_and_never_reruns(tmp_path: Path, hook_env: None) -> None:
    home, out = tmp_path / "home", tmp_path / "ran.txt"
    with org(home, local_runner=True) as o:
        box(o)
        card = approved(o, {"file": str(out), "line": "once", "sleep": 5})
        proc = worker(home, 0.3, card)
        deadline = time.monotonic() + 30
        while not (out.exists() and out.read_text()):  # the command has started
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        # A live run of another process is not "stale": its heartbeat is fresh.
        assert o.ex.recover(stale_after=2.0) == []
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
        assert o.cp.get_card(o.admin, card).state is CardState.EXECUTING
        time.sleep(0.5)
        fresh = Executor(o.cp, catalog=load_catalog(home, env={}), local_runner=True)
        assert fresh.recover(stale_after=0.4) == [card]
        final = o.cp.get_card(o.admin, card)
        assert final.state is CardState.FAILED and final.reason == INTERRUPTED
        assert asyncio.run(fresh.run(card)) is None  # never re-run
        assert out.read_text() == "once\n"
        assert o.events()[-1] == "execution.failed"


def test_two_processes_racing_run_each_card_once(tmp_path: Path, hook_env: None) -> None:
    home, out = tmp_path / "home", tmp_path / "ran.txt"
    with org(home, local_runner=True) as o:
        box(o)
        cards = [approved(o, {"file": str(out), "line": f"card_{i}"}) for i in range(12)]
    procs = [worker(home, 5.0, *cards), worker(home, 5.0, *reversed(cards))]
    reports = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        reports.extend(stdout.split())
    lines = out.read_text().split()
    assert sorted(lines) == sorted(f"card_{i}" for i in range(12))  # each ran exactly once
    assert reports.count("ran") == 12 and reports.count("lost") == 12
    assert reports.count("ready") == 2


def test_canaries_in_env_dumps_and_errors_never_leak(tmp_path: Path, hook_env: None) -> None:
    home = tmp_path / "home"
    os.environ["OPSGATE_TEST_CANARY_PASSWORD"] = CANARY  # opsgate's own env: never passed on
    try:
        with org(home, local_runner=True) as o:
            box(o)
            card = approved(o, {"token": "secret:canary"}, "test.leak")
            result = asyncio.run(o.ex.run(card))
            assert result is not None and result.status == "failed"
            assert "OPSGATE_TEST_CANARY_PASSWORD" not in result.output
            assert "error: bad token [REDACTED]" in result.output
            texts = [str(result), str(o.cp.get_card(o.admin, card)),
                     str([e.data for e in o.cp.audit.entries()])]  # fmt: skip
            assert all(CANARY not in t for t in texts)
        assert CANARY.encode() not in everything_stored(home)
    finally:
        del os.environ["OPSGATE_TEST_CANARY_PASSWORD"]
