"""The real ``opsgate hook claude`` process, fed the exact JSON Claude Code sends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

OPSGATE = shutil.which("opsgate", path=str(Path(sys.executable).parent)) or "opsgate"


def payload(tool: str, tool_input: dict, cwd: str = "/home/dev/project") -> bytes:
    return json.dumps(
        {
            "session_id": "abc123",
            "transcript_path": "/tmp/transcript.jsonl",
            "cwd": cwd,
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": tool,
            "tool_input": tool_input,
            "tool_use_id": "toolu_01",
            "extra_future_field": [1, 2],
        }
    ).encode()


def run_hook(data: bytes, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    (tmp_path / "home").mkdir(mode=0o700, exist_ok=True)  # as `opsgate install` makes it
    environ["OPSGATE_HOME"] = str(tmp_path / "home")
    environ["OPSGATE_HOOK_DAEMON"] = "0"  # in-process here; test_hook_daemon covers the service
    environ.update(env)
    return subprocess.run(
        [OPSGATE, "hook", "claude"],
        input=data,
        capture_output=True,
        env=environ,
        timeout=60,
        check=False,
    )


def decision(proc: subprocess.CompletedProcess[bytes]) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["hookSpecificOutput"]


def test_allow_is_silent(tmp_path: Path) -> None:
    proc = run_hook(payload("Bash", {"command": "npm test && rm -rf dist"}), tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == b""


def test_destructive_is_denied_with_reason(tmp_path: Path) -> None:
    proc = run_hook(payload("Bash", {"command": "git push --force origin main"}), tmp_path)
    out = decision(proc)
    assert out["hookEventName"] == "PreToolUse"
    assert out["permissionDecision"] == "deny"
    reason = out["permissionDecisionReason"]
    assert "force-push" in reason
    assert "git push --force origin main" in reason  # the evidence
    assert "Instead:" in reason


def test_local_caution_asks_in_default_mode(tmp_path: Path) -> None:
    # A local caution action: the person watching Claude Code's default mode decides.
    # (Infrastructure, persistence and the guard never ask: test_hook_modes.py.)
    out = decision(run_hook(payload("Bash", {"command": 'eval "$CLEANUP_CMD"'}), tmp_path))
    assert out["permissionDecision"] == "ask"


def test_production_change_is_denied_under_production_protection(tmp_path: Path) -> None:
    cmd = "kubectl --context prod-eu rollout restart deploy/api"
    out = decision(run_hook(payload("Bash", {"command": cmd}), tmp_path))
    assert out["permissionDecision"] == "deny"
    assert "Production Protection is active" in out["permissionDecisionReason"]


def test_secret_read_is_denied(tmp_path: Path) -> None:
    out = decision(run_hook(payload("Read", {"file_path": "/home/dev/project/.env"}), tmp_path))
    assert out["permissionDecision"] == "deny"
    assert "secret" in out["permissionDecisionReason"].lower()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json at all", id="not-json"),
        pytest.param(b"\xff\xfe\x00garbage\x80", id="binary-junk"),
        pytest.param(b"[1, 2, 3]", id="json-array"),
        pytest.param(b'{"tool_name": "Bash"}', id="missing-tool-input"),
        pytest.param(b'{"tool_name": 7, "tool_input": {}}', id="tool-name-not-string"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested-json"),
        pytest.param(b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}', id="oversized"),
    ],
)
def test_malformed_input_fails_closed_with_exit_2(data: bytes, tmp_path: Path) -> None:
    proc = run_hook(data, tmp_path)
    assert proc.returncode == 2
    assert b"opsgate blocked" in proc.stderr
    assert proc.stdout == b""


def test_bash_without_command_string_is_blocked(tmp_path: Path) -> None:
    out = decision(run_hook(payload("Bash", {"command": ["rm", "-rf", "/"]}), tmp_path))
    assert out["permissionDecision"] in ("ask", "deny")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("$(" * 5000 + "rm -rf /" + ")" * 5000, id="thousands-of-nested-substitutions"),
        pytest.param("echo " + "a" * (900 * 1024), id="900KB-command"),
        pytest.param("x" * 300_000 + "; rm -rf /", id="huge-then-destructive"),
    ],
)
def test_pathological_commands_are_denied_quickly(command: str, tmp_path: Path) -> None:
    proc = run_hook(payload("Bash", {"command": command}), tmp_path)
    # Either a JSON deny or a fail-closed exit 2; never an allow, never a hang.
    if proc.returncode == 2:
        return
    assert decision(proc)["permissionDecision"] == "deny"


def test_bad_policy_file_fails_closed(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nrules:\n  - {effect: allow, actoin: shell.exec}\n")
    proc = run_hook(payload("Bash", {"command": "ls"}), tmp_path, OPSGATE_POLICY=str(policy))
    assert proc.returncode == 2
    assert b"policy.yaml:3" in proc.stderr


def test_unknown_agent_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [OPSGATE, "hook", "nosuchagent"], input=b"{}", capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 2
