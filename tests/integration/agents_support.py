"""Shared helpers for the install / doctor tests: run the real ``opsgate`` CLI in a
temporary project with a temporary HOME and opsgate data directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
OPSGATE = shutil.which("opsgate", path=str(BIN)) or "opsgate"
LAUNCHER = BIN / "opsgate-hook"


@dataclass
class Sandbox:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def data(self) -> Path:
        return self.root / "opsgate-data"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OPSGATE_", "CLAUDE_", "GEMINI_", "CODEX_", "COPILOT_"))
        }
        env.update(HOME=str(self.home), OPSGATE_HOME=str(self.data), OPSGATE_HOOK_DAEMON="0")
        # The Python launcher by default; test_install_fast_client covers the C client.
        env.update(OPSGATE_HOOK_BUILD_CLIENT="0")
        env.update(extra)
        return env

    def opsgate(
        self, *args: str, check: bool = False, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [OPSGATE, *args],
            cwd=self.project,
            env=self.env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc


def make_sandbox(tmp_path: Path) -> Sandbox:
    box = Sandbox(tmp_path)
    for d in (box.home, box.project, box.data):
        d.mkdir(parents=True, exist_ok=True)
    return box


def write_json(path: Path, data: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2) + "\n"
    path.write_text(text)
    return text


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
