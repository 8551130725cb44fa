"""A data directory named by ``OPSGATE_HOME`` that does not exist (edge16-F3), and the
hook's boolean switches read as every other boolean setting (edge16-F4), through
every client: the Python hook with its resident service on, and the native client.

A named home that is missing is a typo: nothing is created there (no fresh signing
key, no audit log, no service), and every call is denied with what to do.  The
default ``~/.opsgate`` is another matter: the first call on a new machine creates it,
and ``opsgate install`` creates whichever one the hook will use.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import OPSGATE

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from burst_hook import services_of, stop_services

LS = {
    "hook_event_name": "PreToolUse",
    "session_id": "fix16",
    "cwd": "/home/dev/project",
    "permission_mode": "default",
    "tool_name": "Bash",
    "tool_input": {"command": "ls"},
}
NO_CC = shutil.which("cc") is None


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    return {**env, **settings}


def _run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> (
        subprocess.CompletedProcess[str]):  # fmt: skip
    return subprocess.run(argv, input=json.dumps(LS), capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60, check=False)  # fmt: skip


def _denied_for_the_typo(proc: subprocess.CompletedProcess[str], typo: Path) -> None:
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)["hookSpecificOutput"]
    assert answer["permissionDecision"] == "deny"
    reason = answer["permissionDecisionReason"]
    assert f"{typo} (environment OPSGATE_HOME) does not exist" in reason
    assert "opsgate init" in reason


def _no_service_comes_up(home: Path) -> None:
    time.sleep(0.5)  # a service started in the background would have its socket by now
    found = services_of(home)
    stop_services(home)
    assert not found


@pytest.fixture
def native(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The native client, compiled into a home of its own (as `install` does)."""
    if NO_CC:
        pytest.skip("no C compiler")
    from opsgate.hooks._native import build

    built = build(str(tmp_path_factory.mktemp("native")))
    assert built is not None
    yield built


def test_the_hook_with_its_service_on_creates_nothing_for_a_typo(tmp_path: Path) -> None:
    typo = tmp_path / "opsgaet"
    _denied_for_the_typo(_run([OPSGATE, "hook", "claude"], _env(OPSGATE_HOME=str(typo))), typo)
    _no_service_comes_up(typo)
    assert not typo.exists()


def test_the_native_client_creates_nothing_for_a_typo(native: Path, tmp_path: Path) -> None:
    typo = tmp_path / "opsgaet"
    for daemon in ("1", "0"):
        env = _env(OPSGATE_HOME=str(typo), OPSGATE_HOOK_DAEMON=daemon)
        _denied_for_the_typo(_run([str(native), "claude"], env), typo)
    _no_service_comes_up(typo)
    assert not typo.exists()


@pytest.mark.parametrize("word", ["false", "FALSE", " no ", "off", "0", "fasle"])
def test_no_client_starts_the_service_unless_asked_to(
    native: Path, tmp_path: Path, word: str
) -> None:
    """Every false word (and a typo: the hook then takes the in-process way) keeps the
    resident service off, in the Python and the native client alike."""
    home = tmp_path / "home"
    home.mkdir()
    for client in ([OPSGATE, "hook", "claude"], [str(native), "claude"]):
        proc = _run(client, _env(OPSGATE_HOME=str(home), OPSGATE_HOOK_DAEMON=word))
        assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
    _no_service_comes_up(home)
    assert (home / "audit.db").exists()  # decided and recorded in-process


def test_a_new_machine_gets_its_default_home_on_the_first_call(tmp_path: Path) -> None:
    proc = _run([OPSGATE, "hook", "claude"], _env(HOME=str(tmp_path), OPSGATE_HOOK_DAEMON="0"))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
    assert (tmp_path / ".opsgate" / "audit.db").exists()
    assert (tmp_path / ".opsgate").stat().st_mode & 0o777 == 0o700


def test_install_creates_the_named_home_the_hook_then_uses(tmp_path: Path) -> None:
    home, project = tmp_path / "og-home", tmp_path / "project"
    project.mkdir()
    env = _env(HOME=str(tmp_path), OPSGATE_HOME=str(home), OPSGATE_HOOK_DAEMON="0")
    installed = subprocess.run(
        [OPSGATE, "install", "claude", "--project", "--python-hook"],
        env=env, cwd=project, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert f"created the data directory {home}" in installed.stdout
    assert home.stat().st_mode & 0o777 == 0o700
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    proc = _run(command.split(), env, cwd=project)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
    assert (home / "audit.db").exists()


def test_a_dry_run_install_creates_nothing(tmp_path: Path) -> None:
    home, project = tmp_path / "og-home", tmp_path / "project"
    project.mkdir()
    env = _env(HOME=str(tmp_path), OPSGATE_HOME=str(home), OPSGATE_HOOK_BUILD_CLIENT="0")
    proc = subprocess.run(
        [OPSGATE, "install", "claude", "--project", "--dry-run", "--json"],
        env=env, cwd=project, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["created_data_dir"] is None
    assert not home.exists()
