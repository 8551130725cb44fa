"""Payload and answer shapes that several agents' hooks share.

Claude Code, Codex and Gemini CLI all send ``tool_name``/``tool_input``/``cwd``/
``session_id``; Claude Code and Codex both answer with a ``PreToolUse``
``hookSpecificOutput``; Copilot and Cursor both send tool arguments as an object or
as JSON text; three agents block on exit 2 with the reason on stderr.  One copy of
each, so a fix to how one agent's input is checked reaches every agent that sends it.

Imported by the adapters on the hook's hot path: standard modules only, lazily.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BLOCKED", "arguments", "fail_exit_2", "pre_tool_use", "tool_call"]

BLOCKED = "opsgate blocked this tool call (fail closed): "


def tool_call(payload: dict[str, Any]) -> tuple[str, dict[str, Any], str | None, str | None]:
    """``(tool_name, tool_input, cwd, session_id)`` of a PreToolUse-style payload;
    the tool's name and input are required, the rest are None when not strings."""
    from opsgate.hooks._respond import HookInputError

    tool, data = payload.get("tool_name"), payload.get("tool_input")
    if not isinstance(tool, str) or not isinstance(data, dict):
        raise HookInputError("the hook input needs tool_name (string) and tool_input (object)")
    cwd = payload.get("cwd")
    session = payload.get("session_id")
    return (
        tool,
        data,
        cwd if isinstance(cwd, str) else None,
        session if isinstance(session, str) else None,
    )


def arguments(value: object, field: str, *, missing_ok: bool = False) -> dict[str, Any]:
    """Tool arguments that arrive as an object or as JSON text (empty text: none)."""
    import json

    from opsgate.hooks._respond import HookInputError

    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise HookInputError(f"{field} is text but not JSON") from exc
    if value is None and missing_ok:
        value = {}
    if not isinstance(value, dict):
        raise HookInputError(f"{field} must be {'a JSON' if missing_ok else 'an'} object")
    return value


def pre_tool_use(verdict: str, reason: str) -> tuple[str, int]:
    """The ``hookSpecificOutput`` answer (Claude Code, Codex) for ask or deny."""
    import json

    body = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": verdict,
            "permissionDecisionReason": reason,
        }
    }
    return json.dumps(body) + "\n", 0


def fail_exit_2(reason: str) -> tuple[str, str, int]:
    """Blocked: nothing on stdout, the reason on stderr, exit 2 (Claude Code, Codex,
    Gemini CLI block on exactly this)."""
    return "", f"{BLOCKED}{reason}\n", 2
