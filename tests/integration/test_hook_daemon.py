"""The hook's resident decision service: same answers as in-process, never weaker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hook_process import OPSGATE, payload

CASES = [
    ("Bash", {"command": "npm test"}),
    ("Bash", {"command": "rm -rf ~"}),
    ("Bash", {"command": "kubectl --context staging rollout restart deploy/api"}),
    ("Bash", {"command": "psql -h db.prod.internal -c 'DROP TABLE users'"}),
    ("Read", {"file_path": "/home/dev/project/.env"}),
    ("Bash", {"command": "$(" * 3000 + "x" + ")" * 3000}),
]


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """The hook's environment for ``home`` (created: the hook refuses a named data
    directory that does not exist)."""
    home.mkdir(parents=True, exist_ok=True)  # as `opsgate install` makes it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env["OPSGATE_HOME"] = str(home)
    env.update(extra)
    return env


def hook(data: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([OPSGATE, "hook", "claude"], input=data, capture_output=True, env=env,
                          timeout=60, check=False)  # fmt: skip


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsgate.hooks._daemon", "--home", str(home), "--idle", "60"],
        env=env_for(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    sock = home / "run" / "hook.sock"
    deadline = time.monotonic() + 30
    while not sock.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    yield home
    proc.terminate()
    proc.wait(timeout=10)
    if proc.stderr:
        proc.stderr.close()


def entries(home: Path) -> int:
    out = subprocess.run([OPSGATE, "audit", "export", "--format", "jsonl"], env=env_for(home),
                         capture_output=True, check=True, timeout=60)  # fmt: skip
    return sum(1 for line in out.stdout.splitlines() if b'"decision.made"' in line)


def test_service_answers_exactly_like_in_process(service: Path, tmp_path: Path) -> None:
    local_home = tmp_path / "local"
    for tool, data in CASES:
        fast = hook(payload(tool, data), env_for(service))
        slow = hook(payload(tool, data), env_for(local_home, OPSGATE_HOOK_DAEMON="0"))
        assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout), data
    assert entries(service) == len(CASES)  # the service wrote every decision


def test_socket_is_private(service: Path) -> None:
    run = service / "run"
    assert run.stat().st_mode & 0o777 == 0o700
    assert (run / "hook.sock").stat().st_mode & 0o777 == 0o600


def test_other_audit_settings_are_decided_in_process(service: Path, tmp_path: Path) -> None:
    witness = tmp_path / "witness"
    env = env_for(service, OPSGATE_AUDIT_WITNESS=str(witness))
    proc = hook(payload("Bash", {"command": "rm -rf ~"}), env)
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"", id="hangs-up"),
        pytest.param(b"garbage\n", id="garbage"),
        pytest.param(b"OK 0 0 5\n", id="length-mismatch"),
        pytest.param(b"OK 1 0 0\n", id="exit-1-is-never-accepted"),
        pytest.param(b"RETRY version\n", id="retry"),
    ],
)
def test_a_broken_service_never_weakens_the_answer(reply: bytes, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = home / "run"
    run.mkdir(parents=True, mode=0o700)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(run / "hook.sock"))
    server.listen(4)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(1 << 20)
            conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        proc = hook(payload("Bash", {"command": "git push --force origin main"}), env_for(home))
    finally:
        server.close()
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
