"""A hook whose answer cannot be written still blocks (issue 13.6).

Claude Code and Codex read a deny from JSON on stdout with exit 0; Gemini CLI and
Copilot CLI too.  When stdout does not take that JSON — closed, its reader gone
(EPIPE), a full disk (``/dev/full``), a pipe whose reader never reads — an exit 0 left
behind is an allow.  Every program that answers for an agent (the native client
through the resident service, the Python hook through the service and deciding in
process) must then exit 2, the blocking code of every agent that has one, with a
reason on stderr where stderr is there (Codex reads exit 2 as a block only with one).
Copilot CLI has no blocking exit code (it skips a failing hook): for it exit 2 is the
best a hook can do, and the same code keeps the clients simple and alike.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from agent_payloads import CASES, encode
from test_hook_agents import env_for, stop_services
from test_hook_process import OPSGATE

from opsgate.hooks._native import build

AGENTS = sorted(CASES)
PROGRAMS = ("native", "python-service", "python-local")
F_SETPIPE_SZ = 1031  # Linux fcntl.h (Python's fcntl has it only from 3.10 on some builds)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An opsgate home with its resident service up (so the native client answers from
    it, as installed) and the native client built into it."""
    home = tmp_path_factory.mktemp("unwritable") / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsgate.hooks._daemon", "--home", str(home), "--idle", "120"],
        env=env_for(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (home / "run" / "hook.sock").exists():
        assert proc.poll() is None, "the service died"
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)
    try:
        yield home
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stop_services(home)


def _argv(program: str, agent: str, home: Path) -> tuple[list[str], dict[str, str]]:
    if program == "native":
        if shutil.which("cc") is None:
            pytest.skip("no C compiler")
        client = build(str(home))
        assert client is not None
        return [str(client), agent], env_for(home, OPSGATE_HOOK_DAEMON="1")
    daemon = "1" if program == "python-service" else "0"
    return [OPSGATE, "hook", agent], env_for(home, OPSGATE_HOOK_DAEMON=daemon)


def _run(argv: list[str], env: dict[str, str], data: bytes,
         stdout: int) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    return subprocess.run(argv, input=data, stdout=stdout, stderr=subprocess.PIPE, env=env,
                          timeout=60, check=False)  # fmt: skip


@contextmanager
def _reader_gone() -> Iterator[int]:
    reader, writer = os.pipe()
    os.close(reader)
    try:
        yield writer
    finally:
        os.close(writer)


@contextmanager
def _dev_full() -> Iterator[int]:
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def _full_pipe() -> Iterator[int]:
    """A pipe filled to the brim whose reader is open and never reads."""
    reader, writer = os.pipe()
    fcntl.fcntl(writer, F_SETPIPE_SZ, 4096)
    os.set_blocking(writer, False)
    try:
        while True:
            os.write(writer, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(writer, True)
    try:
        yield writer
    finally:
        os.close(writer)
        os.close(reader)


def _closed(argv: list[str], *, stderr_too: bool = False) -> list[str]:
    """``argv`` started with stdout (and stderr) closed, not redirected."""
    closing = ">&- 2>&-" if stderr_too else ">&-"
    return ["sh", "-c", f'exec "$@" {closing}', "sh", *argv]


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("sink", ["reader-gone", "dev-full"])
def test_a_deny_that_stdout_refuses_is_exit_2(program: str, agent: str, sink: str,
                                              home: Path) -> None:  # fmt: skip
    argv, env = _argv(program, agent, home)
    data = encode(CASES[agent][0])  # destructive: denied in the agent's JSON on stdout
    opened = _reader_gone if sink == "reader-gone" else _dev_full
    with opened() as stdout:
        proc = _run(argv, env, data, stdout)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert b"opsgate" in proc.stderr, "exit 2 without a reason is no block for Codex"


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("agent", AGENTS)
def test_a_hook_started_without_stdout_is_exit_2(program: str, agent: str, home: Path) -> None:
    argv, env = _argv(program, agent, home)
    for data in (encode(CASES[agent][0]), encode(CASES[agent][1])):  # destructive, benign
        proc = _run(_closed(argv), env, data, subprocess.DEVNULL)
        assert proc.returncode == 2, (proc.returncode, proc.stderr)
        assert b"opsgate" in proc.stderr
    proc = _run(_closed(argv, stderr_too=True), env, encode(CASES[agent][0]),
                subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 2


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_reader_that_never_reads_ends_in_exit_2(program: str, home: Path) -> None:
    """The answer cannot be written and the write would wait for ever: the watchdog
    ends it in exit 2, well inside the agent's own hook timeout (every agent at once,
    so that the test waits for one watchdog, not five)."""
    runs = [(_argv(program, agent, home), encode(CASES[agent][0])) for agent in AGENTS]

    def one(run: tuple[tuple[list[str], dict[str, str]], bytes]) -> tuple[int, bytes, float]:
        (argv, env), data = run
        started = time.monotonic()
        with _full_pipe() as stdout:
            proc = _run(argv, env, data, stdout)
        return proc.returncode, proc.stderr, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        results = list(pool.map(one, runs))
    for agent, (code, err, took) in zip(AGENTS, results, strict=True):
        assert code == 2, (agent, code, err)
        assert took < 20, (agent, took)
