"""200 concurrent hook processes while the decision service is killed mid-burst
(issue 13 deliverable 6; reliability review D1 and D5).

The first caller that finds the service gone starts a new one and the others wait
for it, instead of each deciding in-process at once (which, at 200 calls on two
cores, made every call — harmless ones too — overrun the 5 s watchdog).  Bound: every
destructive call is blocked, no process dies of a signal, and (native client, the
hook ``opsgate install`` writes) at least 95% of the harmless calls are answered
allow within the watchdog.  The Python hook is held to the safety half only here: at
200 processes its own interpreter start-up alone takes seconds on a busy 2-core box
(figures for both in benchmarks/README.md).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from burst_hook import burst, stop_services

CALLS = 200


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env["OPSGATE_HOME"] = str(home)
    return env


def _safe(summary: dict[str, float]) -> None:
    assert summary["calls"] == CALLS
    assert summary["signal_deaths"] == 0
    assert summary["destructive_blocked"] == summary["destructive"], summary


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_native_client_heals_through_a_killed_service(tmp_path: Path) -> None:
    from opsgate.hooks._native import build

    home = tmp_path / "home"
    client = build(str(home))
    assert client is not None
    try:
        result = burst([str(client), "claude"], home, _env(home), calls=CALLS, kill_after=0.1)
    finally:
        stop_services(home)
    summary = result.summary()
    _safe(summary)
    assert result.restarted, "nobody restarted the service"
    assert summary["harmless_allowed_in_time"] >= 0.95 * summary["harmless"], summary


def test_python_hook_stays_safe_through_a_killed_service(tmp_path: Path) -> None:
    home = tmp_path / "home"
    launcher = Path(sys.executable).with_name("opsgate-hook")
    try:
        result = burst([str(launcher), "claude"], home, _env(home), calls=CALLS, kill_after=0.5)
    finally:
        stop_services(home)
    _safe(result.summary())
