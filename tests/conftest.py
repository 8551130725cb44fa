"""Shared test setup: make ``tests/helpers.py`` importable as ``helpers``, and keep
every test away from the developer's real ~/.opsgate."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def hook_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A clean opsgate home and no policy from the environment."""
    monkeypatch.setenv("OPSGATE_HOME", str(tmp_path / "opsgate-home"))
    monkeypatch.delenv("OPSGATE_POLICY", raising=False)
    monkeypatch.delenv("OPSGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLAUDE_PROJECT_DIR", raising=False)
    yield
