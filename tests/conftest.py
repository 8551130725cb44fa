"""Shared test setup: make ``tests/helpers.py`` importable as ``helpers``, and keep
every test away from the developer's real ~/.opsgate."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session", autouse=True)
def _stop_hook_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hook calls start the resident decision service for their opsgate home, and it
    outlives the test (it exits after 15 idle minutes, or when its socket goes, but
    pytest keeps its temporary directories).  At the end of the session, stop every
    service whose home lies in this session's temporary directory."""
    yield
    base = str(tmp_path_factory.getbasetemp())
    for pid, argv in _hook_services():
        home = argv[argv.index("--home") + 1] if "--home" in argv[:-1] else ""
        if home.startswith(base + os.sep):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)


def _hook_services() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "opsgate.hooks._daemon" in argv:
            yield int(entry.name), argv


@pytest.fixture(autouse=True)
def _cheap_password_hashing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2id with its production cost (64 MiB, three passes) takes 0.1–1 s per
    hash here, and an org of four people hashes eight times: in-process tests use
    the cheapest parameters.  Servers run as subprocesses keep the real cost, and
    a test marked ``real_argon2`` does too."""
    if request.node.get_closest_marker("real_argon2"):
        return
    from argon2 import PasswordHasher

    from opsgate.approvals import _control_people

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(_control_people, "_HASHER", cheap)


@pytest.fixture
def hook_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A clean opsgate home (created, as `opsgate install` does: the hook refuses a
    named one that does not exist) and no policy from the environment."""
    (tmp_path / "opsgate-home").mkdir(mode=0o700)
    monkeypatch.setenv("OPSGATE_HOME", str(tmp_path / "opsgate-home"))
    monkeypatch.delenv("OPSGATE_POLICY", raising=False)
    monkeypatch.delenv("OPSGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    yield
