"""Each agent's side of its hook protocol, as ``opsgate doctor`` needs it.

``*_payload`` builds the JSON the agent writes to a hook's stdin for a shell
command; ``read_*`` says what the agent does with a hook's exit status and stdout.
These model the *agent*, not opsgate's hook: the doctor uses them to judge an
installed hook the way the agent would, so they follow each agent's documentation —
including its fail-open rules (a hook that exits 1 is ignored by Claude Code).
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

__all__ = [
    "claude_payload",
    "copilot_payload",
    "cursor_payload",
    "gemini_payload",
    "read_claude",
    "read_copilot",
    "read_cursor",
    "read_gemini",
]

Verdict = Literal["allow", "ask", "block"]
_SESSION = "opsgate-doctor"


def claude_payload(event: str, command: str, cwd: str) -> dict[str, Any]:
    """Claude Code's PreToolUse input (Codex sends the same fields)."""
    return {
        "session_id": _SESSION,
        "transcript_path": "",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": event,
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "opsgate doctor canary"},
        "tool_use_id": "toolu_opsgate_doctor",
    }


def gemini_payload(event: str, command: str, cwd: str) -> dict[str, Any]:
    return {
        "session_id": _SESSION,
        "transcript_path": "",
        "cwd": cwd,
        "hook_event_name": event,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool_name": "run_shell_command",
        "tool_input": {"command": command, "description": "opsgate doctor canary"},
    }


def cursor_payload(event: str, command: str, cwd: str) -> dict[str, Any]:
    """Cursor's beforeShellExecution input."""
    return {
        "conversation_id": _SESSION,
        "generation_id": _SESSION,
        "hook_event_name": event,
        "workspace_roots": [cwd],
        "command": command,
        "cwd": cwd,
    }


def copilot_payload(event: str, command: str, cwd: str) -> dict[str, Any]:
    """Copilot CLI's camelCase preToolUse input; ``toolArgs`` arrives as a JSON string."""
    return {
        "sessionId": _SESSION,
        "timestamp": int(time.time() * 1000),
        "cwd": cwd,
        "toolName": "bash",
        "toolArgs": json.dumps({"command": command, "description": "opsgate doctor canary"}),
    }


def _json(stdout: str) -> dict[str, Any]:
    try:
        data = json.loads(stdout) if stdout.strip() else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def read_claude(status: int, stdout: str) -> Verdict:
    """Exit 2 blocks; exit 0 may carry a decision; any other exit is a non-blocking
    error after which Claude Code (and Codex) run the tool."""
    if status == 2:
        return "block"
    if status != 0:
        return "allow"
    data = _json(stdout)
    specific = data.get("hookSpecificOutput")
    decision = specific.get("permissionDecision") if isinstance(specific, dict) else None
    if decision == "deny" or data.get("decision") == "block" or data.get("continue") is False:
        return "block"
    return "ask" if decision == "ask" else "allow"


def read_gemini(status: int, stdout: str) -> Verdict:
    if status == 2:
        return "block"
    if status != 0:
        return "allow"  # "Other: Warning. … the CLI continues"
    data = _json(stdout)
    if data.get("decision") in ("deny", "block") or data.get("continue") is False:
        return "block"
    return "ask" if data.get("decision") == "ask" else "allow"


def read_cursor(status: int, stdout: str) -> Verdict:
    if status == 2:
        return "block"
    if status != 0:
        return "allow"  # a failed hook does not stop the action
    data = _json(stdout)
    decision = data.get("permission", data.get("decision"))
    if decision == "deny" or data.get("continue") is False:
        return "block"
    return "ask" if decision == "ask" else "allow"


def read_copilot(status: int, stdout: str) -> Verdict:
    """Copilot CLI logs and skips a failing hook (non-zero exit, timeout): only an
    explicit ``permissionDecision: "deny"`` on stdout blocks."""
    if status != 0:
        return "allow"
    decision = _json(stdout).get("permissionDecision")
    if decision == "deny":
        return "block"
    return "ask" if decision == "ask" else "allow"
