"""Without protected mode opsgate still keeps its files to its user: every directory
it creates is 0700 and every file 0600 (0700 for its programs), whichever path
creates them — the in-process hook, the resident service, the control plane's
store.  (Security review M4: a home made by the hook was 0755 and audit.db 0644, so
other local users could read the trail.)"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_hook_process import OPSGATE, payload

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from burst_hook import stop_services


def _loose(home: Path) -> list[str]:
    """Everything under (and including) ``home`` that its group or others may use."""
    return [f"{p} {stat.filemode(p.lstat().st_mode)}" for p in (home, *home.rglob("*"))
            if not p.is_symlink() and p.lstat().st_mode & 0o077]  # fmt: skip


def _env(home: Path, **extra: str) -> dict[str, str]:
    """``~/.opsgate`` is the default home (HOME is its parent, OPSGATE_HOME unset): the
    one the hook creates on its first call.  A home named by OPSGATE_HOME must exist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    if home.name == ".opsgate":
        return {**env, "HOME": str(home.parent), **extra}
    return {**env, "OPSGATE_HOME": str(home), **extra}


def _hook(home: Path, command: str, **extra: str) -> None:
    data = payload("Bash", {"command": command})
    proc = subprocess.run([OPSGATE, "hook", "claude"], input=data, capture_output=True,
                          env=_env(home, **extra), timeout=60, check=False)  # fmt: skip
    assert proc.returncode in (0, 2), proc.stderr


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_in_process_hook_creates_a_private_home(tmp_path: Path, umask: int) -> None:
    home = tmp_path / ".opsgate"
    old = os.umask(umask)
    try:
        _hook(home, "ls", OPSGATE_HOOK_DAEMON="0")
        _hook(home, "rm -rf ~", OPSGATE_HOOK_DAEMON="0")
    finally:
        os.umask(old)
    assert (home / "audit.db").exists()
    assert _loose(home) == []


def test_the_resident_service_keeps_its_home_private(tmp_path: Path) -> None:
    home = tmp_path / ".opsgate"
    old = os.umask(0o022)
    try:
        _hook(home, "ls", OPSGATE_HOOK_BUILD_CLIENT="1")  # starts the service
        deadline = time.monotonic() + 60
        while not (home / "run" / "hook.sock").exists():
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)
        _hook(home, "git status")
        time.sleep(1.0)  # the service builds the native client in the background
    finally:
        os.umask(old)
        stop_services(home)
    assert (home / "audit.db").exists()
    assert _loose(home) == []


def test_the_control_plane_store_is_private(tmp_path: Path) -> None:
    from opsgate.approvals.control import open_control_plane

    data = tmp_path / "data"
    old = os.umask(0o022)
    try:
        control = open_control_plane(data, None)
        close = getattr(control, "close", None)
        if close is not None:
            close()
    finally:
        os.umask(old)
    assert (data / "opsgate.db").exists()
    assert _loose(data) == []
