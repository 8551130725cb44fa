"""The native hook client under every way its service can fail (issue 13, D1/H2).

Each call must end in an answer the agent reads correctly — the service's, the Python
hook's, or the agent's own block — and never in a signal death (exit 141 was "run
the tool" for Codex, Gemini CLI and Copilot CLI).  Per-user clients fall back to the
Python hook with the same stdin; protected clients block.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from agent_payloads import CASES, encode
from test_hook_agents import allowed, blocked, env_for

from fake_services import BEHAVIOURS, FakeService
from opsgate.hooks._native import Protected, build, build_protected

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

# Same-user services that answer allow are trusted by design in per-user mode (that is
# what protected mode is for); every other behaviour is a fault.
FAULTS = sorted(b for b in BEHAVIOURS if b != "allows")
SLOW = ("dribbles", "hangs")  # they time out: a block is as right as an in-process allow
AGENTS = ("claude", "copilot")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path: a Unix socket path has 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="og-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build(str(tmp_path_factory.mktemp("client")))
    assert path is not None
    return path


def run(command: list[str], data: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, input=data, capture_output=True, env=env, timeout=60,
                          check=False)  # fmt: skip


def _home_with(tmp: Path, fault: str) -> tuple[Path, FakeService]:
    home = tmp / str(FAULTS.index(fault))
    run_dir = home / "run"
    run_dir.mkdir(parents=True, mode=0o700)
    (run_dir / "start.lock").touch()  # "someone is starting it": no real service comes up
    return home, FakeService(run_dir / "hook.sock", fault)


def test_per_user_client_answers_through_every_fault(client: Path, short_tmp: Path) -> None:
    homes = {fault: _home_with(short_tmp, fault) for fault in FAULTS}
    jobs = []
    for fault, (home, _) in homes.items():
        env = env_for(home, OPSGATE_HOOK_DAEMON="1")
        for agent in AGENTS:
            destructive, benign, _ = CASES[agent]
            jobs.append((fault, agent, True, encode(destructive), env))
            jobs.append((fault, agent, False, encode(benign), env))
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda j: run([str(client), j[1]], j[3], j[4]), jobs))
    finally:
        for _, service in homes.values():
            service.close()
    for (fault, agent, destructive, _, _), proc in zip(jobs, results, strict=True):
        assert proc.returncode >= 0, f"{fault}/{agent}: killed by signal {-proc.returncode}"
        if destructive:
            reason = blocked(agent, proc)
            assert "destructive" in reason or _overran(reason), (fault, agent, reason)
        elif _answered_allow(agent, proc):
            allowed(agent, proc)
        else:  # a hanging service, or a loaded machine, may cost a harmless call
            reason = blocked(agent, proc)
            assert _overran(reason) or fault in SLOW, (fault, agent, reason)


def _overran(reason: str) -> bool:
    return "took longer than" in reason


def _answered_allow(agent: str, proc: subprocess.CompletedProcess[bytes]) -> bool:
    return proc.returncode == 0 and not proc.stdout.strip()


@pytest.mark.parametrize("agent", sorted(CASES))
def test_oversized_input_is_read_whole_and_blocked(client: Path, tmp_path: Path,
                                                    agent: str) -> None:  # fmt: skip
    """3 MB on stdin: the client reads all of it (the writer never sees a broken
    pipe) and answers with the agent's block — no service involved."""
    data = b'{"tool_name": "Bash", "tool_input": {"command": "rm -rf / #' + b" " * 3_000_000
    env = env_for(tmp_path / "home", OPSGATE_HOOK_DAEMON="1")
    proc = subprocess.Popen([str(client), agent], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip
    stdin, broken = proc.stdin, []
    assert stdin is not None and proc.stdout is not None and proc.stderr is not None

    def feed() -> None:
        try:
            stdin.write(data + b'"}}')  # a client that stopped reading breaks this pipe
            stdin.close()
        except BrokenPipeError:
            broken.append(True)

    writer = threading.Thread(target=feed)
    writer.start()
    with proc.stdout, proc.stderr:
        out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=60)
    writer.join()
    proc.stdin = None
    assert not broken, "the client stopped reading its input"
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert proc.returncode >= 0
    assert "input larger than 1048576 bytes" in blocked(agent, done)


def _protected(tmp: Path, uid: int) -> tuple[Path, Path]:
    sock = tmp / "run" / "hook.sock"
    tmp.mkdir(parents=True, exist_ok=True)
    target = build_protected(tmp / "opsgate-hook-fast", Protected(str(sock), uid))
    assert target is not None
    return target, sock


def test_protected_client_blocks_on_every_fault(short_tmp: Path) -> None:
    """The compiled-in service user is this test's own (root): every fault is a block
    after the healing window, never an answer made up here."""
    jobs = []
    services = []
    for fault in FAULTS:
        binary, sock = _protected(short_tmp / str(FAULTS.index(fault)), os.getuid())
        services.append(FakeService(sock, fault))
        for agent in AGENTS:
            jobs.append((fault, agent, binary, encode(CASES[agent][1])))  # the harmless one
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda j: run([str(j[2]), j[1]], j[3], {}), jobs))
    finally:
        for service in services:
            service.close()
    for (fault, agent, _, _), proc in zip(jobs, results, strict=True):
        assert proc.returncode >= 0, f"{fault}/{agent}: killed by signal {-proc.returncode}"
        blocked(agent, proc)


def test_protected_client_refuses_a_service_run_by_another_user(short_tmp: Path) -> None:
    """A service that answers allow, but as a user other than the compiled-in one (the
    agent's own user replacing the socket, in real life): blocked at once."""
    client, sock = _protected(short_tmp, os.getuid() + 4242)
    with FakeService(sock, "allows"):
        started = time.monotonic()
        for agent in sorted(CASES):
            reason = blocked(agent, run([str(client), agent], encode(CASES[agent][1]), {}))
            assert "another user" in reason
    assert time.monotonic() - started < 10  # no healing wait: a wrong peer is final


def test_protected_client_ignores_the_environment(short_tmp: Path) -> None:
    """OPSGATE_HOME, OPSGATE_HOOK_DAEMON=0 and HOME point elsewhere: the compiled-in
    socket is still the only one asked (here: nobody answers, so it blocks)."""
    client, _ = _protected(short_tmp / "system", os.getuid())
    elsewhere = short_tmp / "elsewhere"
    with FakeService(elsewhere / "run" / "hook.sock", "allows"):
        env = {"OPSGATE_HOME": str(elsewhere), "OPSGATE_HOOK_DAEMON": "0", "HOME": str(elsewhere)}
        proc = run([str(client), "claude"], encode(CASES["claude"][1]), env)
    assert "not answering" in blocked("claude", proc)
