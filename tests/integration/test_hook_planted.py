"""The real ``opsgate hook claude`` process on the issue's reproduction: an Edit that adds
a force push to main to a CI workflow (an ordinary safe write on e84f392)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

OPSGATE = shutil.which("opsgate", path=str(Path(sys.executable).parent)) or "opsgate"


def _hook(tool_input: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    data = json.dumps(
        {"session_id": "abc123", "transcript_path": "/tmp/transcript.jsonl",
         "cwd": "/home/dev/project", "permission_mode": "default",
         "hook_event_name": "PreToolUse", "tool_name": "Edit", "tool_input": tool_input,
         "tool_use_id": "toolu_01"}
    ).encode()  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    (tmp_path / "home").mkdir(exist_ok=True)  # as `opsgate install` makes it
    env |= {"OPSGATE_HOME": str(tmp_path / "home"), "OPSGATE_HOOK_DAEMON": "0"}
    return subprocess.run([OPSGATE, "hook", "claude"], input=data, capture_output=True, env=env,
                          timeout=60, check=False)  # fmt: skip


WORKFLOW = "/home/dev/project/.github/workflows/ci.yml"


def test_planted_force_push_in_a_workflow_is_denied(tmp_path: Path) -> None:
    added = "      - run: npm test\n      - run: git push --force origin HEAD:main"
    edit = {"file_path": WORKFLOW, "old_string": "      - run: npm test", "new_string": added}
    proc = _hook(edit, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["hookSpecificOutput"]
    assert out["permissionDecision"] == "deny"
    reason = out["permissionDecisionReason"]
    assert "GitHub Actions workflow that runs by itself" in reason
    assert ".github/workflows/ci.yml: added[1].run: git push --force origin HEAD:main" in reason


def test_a_routine_workflow_edit_passes_silently(tmp_path: Path) -> None:
    added = "      - run: npm test\n      - run: npm run lint"
    edit = {"file_path": WORKFLOW, "old_string": "      - run: npm test", "new_string": added}
    proc = _hook(edit, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
