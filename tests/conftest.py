"""Shared test setup: make ``tests/helpers.py`` importable as ``helpers``, and keep
every test away from the developer's real ~/.opsgate."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


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
    """A clean opsgate home and no policy from the environment."""
    monkeypatch.setenv("OPSGATE_HOME", str(tmp_path / "opsgate-home"))
    monkeypatch.delenv("OPSGATE_POLICY", raising=False)
    monkeypatch.delenv("OPSGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    yield
