"""End-to-end helpers: the real agent CLIs from npm (pinned, cached under ``.e2e/``
in the repository), and the ``workspace`` fixture — a temporary project with a
planted secret, into which a test installs opsgate with ``opsgate install <agent>
--project``.  Test modules import the fixture from here (not a conftest, so that
its name cannot collide with the suite's own conftest module).

Projects live under ``.e2e/runs/`` (or ``~/.cache/opsgate-e2e/runs`` when the checkout
itself is in a temporary directory), never the system temp directory: opsgate rightly
treats anything under /tmp as disposable, so deleting it there is not a destructive
action and would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".e2e"
OPSGATE = Path(sys.executable).parent / "opsgate"

# Pinned: a new agent release must not change what these tests prove without a commit.
CLAUDE_CODE = ("@anthropic-ai/claude-code", "2.1.329", "claude")
GEMINI_CLI = ("@google/gemini-cli", "0.61.0", "gemini")
CODEX_CLI = ("@openai/codex", "0.171.0", "codex")

SECRET = "sk-opsgate-canary-7c1d2e9f4b"  # planted in .env; must never reach the model


def agent_cli(package: tuple[str, str, str]) -> Path:
    """The agent's executable, installed with npm into the cache if missing."""
    name, version, binary = package
    path = CACHE / "node_modules" / ".bin" / binary
    manifest = CACHE / "node_modules" / name / "package.json"
    if path.exists() and f'"version": "{version}"' in _read(manifest):
        return path
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(f"npm is not available to install {name}@{version}")
    CACHE.mkdir(exist_ok=True)
    proc = subprocess.run(
        [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", f"{name}@{version}"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0 and path.exists(), f"npm install {name} failed:\n{proc.stderr}"
    return path


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@dataclass
class Workspace:
    root: Path

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def data(self) -> Path:
        return self.root / "opsgate-data"

    def env(self, **extra: str) -> dict[str, str]:
        drop = ("OPSGATE_", "CLAUDE", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "OPENAI_", "CODEX_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        env.update(HOME=str(self.home), OPSGATE_HOME=str(self.data), OPSGATE_HOOK_DAEMON="0")
        env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        env.update(extra)
        return env

    def install(self, agent: str) -> str:
        proc = subprocess.run(
            [str(OPSGATE), "install", agent, "--project"],
            cwd=self.project,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout


def runs_dir() -> Path:
    """Where test projects go: ``.e2e/runs`` — unless the checkout itself lies in a
    temporary directory (a CI clone in /tmp), which opsgate treats as disposable;
    then a cache directory in the home directory."""
    from opsgate.classify._paths_zones import _TEMP_PREFIXES  # what opsgate calls disposable

    runs = (CACHE / "runs").resolve()
    if str(runs).startswith(_TEMP_PREFIXES):
        runs = Path.home().resolve() / ".cache" / "opsgate-e2e" / "runs"
    return runs


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    runs = runs_dir()
    runs.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
    ws = Workspace(root)
    for d in (ws.project / "data", ws.home, ws.data):
        d.mkdir(parents=True)
    (ws.project / "data" / "keep.txt").write_text("precious\n")
    (ws.project / ".env").write_text(f"API_TOKEN={SECRET}\n")
    try:
        yield ws
    finally:
        shutil.rmtree(root, ignore_errors=True)
