"""The native fast-path client: same answers as the Python hook through the service,
and the Python hook itself (same stdin) whenever the service cannot answer."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_payloads import CASES, encode
from test_hook_agents import AGENTS, blocked, env_for, hook, service  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")


@pytest.fixture(scope="module")
def client(service: Path) -> Iterator[Path]:  # noqa: F811 — the shared service fixture
    from opsgate.hooks._native import build

    path = build(str(service))
    assert path is not None
    yield path


def fast(client: Path, agent: str, data: bytes, env: dict[str, str]) -> (
        subprocess.CompletedProcess[bytes]):  # fmt: skip
    return subprocess.run([str(client), agent], input=data, capture_output=True, env=env,
                          timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize("agent", AGENTS)
def test_same_answers_as_the_python_hook(agent: str, client: Path, service: Path) -> None:  # noqa: F811
    env = env_for(service, OPSGATE_HOOK_DAEMON="1")
    for data in [encode(p) for p in CASES[agent]] + [b"not json", b" " * (1024 * 1024 + 10)]:
        native, python = fast(client, agent, data, env), hook(agent, data, env)
        assert (native.returncode, native.stdout) == (python.returncode, python.stdout), data[:80]


def test_falls_back_to_python_with_the_same_stdin(client: Path, tmp_path: Path) -> None:
    destructive, benign, _ = CASES["cursor"]
    home = tmp_path / "elsewhere"
    (home / "run").mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX)  # a socket file nobody listens on: refused
    stale.bind(str(home / "run" / "hook.sock"))
    stale.close()
    (home / "run" / "start.lock").touch()  # and the Python hook must not start a service
    for flag in ("1", "0"):  # no service answering / the fast path turned off
        env = env_for(home, OPSGATE_HOOK_DAEMON=flag)
        reason = blocked("cursor", fast(client, "cursor", encode(destructive), env))
        assert "impact: destructive" in reason
        assert fast(client, "cursor", encode(benign), env).returncode == 0


def test_a_refused_request_is_replayed_to_python(client: Path, service: Path) -> None:  # noqa: F811
    """The service refuses other audit settings (RETRY): the client has already read
    stdin, so it must hand the very same bytes to the Python hook."""
    env = env_for(service, OPSGATE_HOOK_DAEMON="1", OPSGATE_AUDIT_CHECKPOINT_EVERY="7")
    destructive = encode(CASES["copilot"][0])
    reason = blocked("copilot", fast(client, "copilot", destructive, env))
    assert "impact: destructive" in reason
