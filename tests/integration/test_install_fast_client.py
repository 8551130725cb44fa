"""``opsgate install`` writes the C hook client (``opsgate-hook-fast``) when it builds,
the Python launcher when it cannot; doctor accepts either, and uninstall recognises
every form opsgate ever wrote — the real CLI and a real compiler."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from agents_support import LAUNCHER, Sandbox, make_sandbox, read_json, write_json

from opsgate.integrations.config import is_ours

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

FAST = {"OPSGATE_HOOK_BUILD_CLIENT": "1"}


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return make_sandbox(tmp_path)


def _claude_command(box: Sandbox) -> str:
    doc = read_json(box.project / ".claude/settings.json")
    command = doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert isinstance(command, str)
    return command


def test_install_writes_the_built_client_and_doctor_passes(box: Sandbox) -> None:
    box.opsgate("install", "claude", "--project", check=True, env=FAST)
    client = box.data / "bin/opsgate-hook-fast"
    assert _claude_command(box) == f"{client} claude"
    assert client.is_absolute() and os.access(client, os.X_OK)
    # The doctor runs it as Claude Code would; with the service off it execs the
    # Python hook, which blocks the canary and audits it.
    proc = box.opsgate("doctor", "claude", env=FAST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{client} exists and is executable" in proc.stdout
    assert "destructive canary (rm -rf /) was blocked" in proc.stdout
    assert "destructive canary audited (decision: require_approval)" in proc.stdout


def test_no_compiler_or_a_failing_one_writes_the_launcher(box: Sandbox) -> None:
    for cc in ("/nonexistent/cc", "/bin/false"):
        box.opsgate("install", "claude", "--project", check=True, env={**FAST, "CC": cc})
        assert _claude_command(box) == f"{LAUNCHER} claude", cc
        assert not (box.data / "bin/opsgate-hook-fast").exists()
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 0, proc.stdout


def test_python_hook_flag_keeps_the_launcher(box: Sandbox) -> None:
    box.opsgate("install", "claude", "--project", "--python-hook", check=True, env=FAST)
    assert _claude_command(box) == f"{LAUNCHER} claude"


def test_switching_forms_replaces_in_place_and_uninstall_removes_every_form(
    box: Sandbox,
) -> None:
    hooks = box.project / ".cursor/hooks.json"
    foreign = {"command": "./scripts/audit.sh"}
    write_json(hooks, {"version": 1, "hooks": {"beforeShellExecution": [
        {"command": "/old/venv/bin/opsgate hook cursor"}, foreign]}})  # fmt: skip
    box.opsgate("install", "cursor", "--project", check=True)  # launcher first
    box.opsgate("install", "cursor", "--project", check=True, env=FAST)  # then the client
    client = box.data / "bin/opsgate-hook-fast"
    shell = read_json(hooks)["hooks"]["beforeShellExecution"]
    assert shell == [{"command": f"{client} cursor", "timeout": 30, "failClosed": True}, foreign]
    # Old forms left behind elsewhere are ours too, and go with uninstall.
    doc = read_json(hooks)
    doc["hooks"]["beforeReadFile"].append({"command": f"{LAUNCHER} cursor"})
    doc["hooks"]["preToolUse"].append({"command": "opsgate hook cursor"})
    write_json(hooks, doc)
    box.opsgate("uninstall", "cursor", "--project", check=True)
    assert read_json(hooks) == {"version": 1, "hooks": {"beforeShellExecution": [foreign]}}


@pytest.mark.parametrize(
    ("command", "ours"),
    [
        ("/home/me/.opsgate/bin/opsgate-hook-fast claude", True),
        ("'/with space/bin/opsgate-hook-fast' cursor", True),
        ("/venv/bin/opsgate-hook codex", True),
        ("/venv/bin/opsgate hook gemini", True),
        ("opsgate hook copilot", True),
        ("/home/me/.opsgate/bin/opsgate-hook-fast", False),  # no agent
        ("/usr/bin/opsgate-hook-faster claude", False),
        ("/usr/local/bin/my-linter", False),
    ],
)
def test_is_ours(command: str, ours: bool) -> None:
    assert is_ours(command) is ours
