"""GitHub Copilot CLI preToolUse hook (``opsgate hook copilot``).

Input (stdin; docs.github.com/en/copilot/reference/copilot-cli-reference/
cli-hooks-reference, "preToolUse")::

    {"sessionId", "timestamp", "cwd", "toolName", "toolArgs"}

``toolArgs`` is the tool's arguments as JSON text (older builds and the SDK send an
object; both are read).  The VS Code–compatible form (``PreToolUse``: ``session_id``,
``tool_name``, ``tool_input``) is read too.  Tools:

    bash / powershell {command}                 → Bash / PowerShell
    view {path}                                 → Read
    create {path, file_text}                    → Write
    edit {path, old_str, new_str}               → Edit
    glob / grep {pattern, path}                 → Glob / Grep
    web_fetch {url}                             → WebFetch
    task, ask_user, report_intent, update_todo  → nothing to guard
    mcp__server__tool                           → the MCP tool, as named

A tool opsgate does not know is blocked, not guessed at.

Output: allow is exit 0 with no output (Copilot's default behaviour).  Deny is
``{"permissionDecision": "deny", "permissionDecisionReason": "..."}`` with exit 0.
Fail closed: the same deny JSON with exit 0 — Copilot logs and *skips* a hook that
exits non-zero or times out, and then runs the tool, so a non-zero exit would be an
allow.  ``ask`` is honoured only in interactive mode, so approvals are denies here.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from opsgate.hooks._respond import Answer, AuditSink
    from opsgate.models import Action

__all__ = ["actions", "fail", "main", "render", "respond"]

KEY = "copilot"
AGENT = "copilot-cli"
# Copilot CLI shows an ask only in interactive mode, and its payload does not say which
# mode runs (nor --allow-all-tools): approvals are always denies.
ASK_MODES: frozenset[str] = frozenset()
_SIMPLE = {"bash": "Bash", "powershell": "PowerShell", "web_fetch": "WebFetch"}
_FILES = {"view": "Read", "create": "Write", "edit": "Edit", "glob": "Glob", "grep": "Grep"}
_NOTHING_TO_GUARD = ("task", "ask_user", "report_intent", "update_todo", "think")


def main(argv: Sequence[str] = ()) -> int:
    import sys

    from opsgate.hooks._runner import run

    return run(sys.modules[__name__])


def fail(reason: str) -> tuple[str, str, int]:
    from opsgate.hooks._shapes import BLOCKED

    out, code = _deny(f"{BLOCKED}{reason}")
    return out, "", code


def respond(
    raw: bytes, env: Mapping[str, str] | None = None, audit: AuditSink | None = None
) -> tuple[str, int]:
    from opsgate.hooks._respond import respond_as

    return respond_as(__name__, raw, env, audit)


def actions(payload: dict[str, Any], env: Mapping[str, str]) -> list[Action]:
    from opsgate.hooks._respond import HookInputError
    from opsgate.hooks._shapes import arguments
    from opsgate.models import Action

    tool = payload.get("toolName", payload.get("tool_name"))
    given = payload.get("toolArgs", payload.get("tool_input"))
    data = arguments(given, "toolArgs", missing_ok=True)
    if not isinstance(tool, str):
        raise HookInputError("the hook input needs toolName (string)")
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    session = payload.get("sessionId", payload.get("session_id"))
    name, tool_input = _tool(tool, data)
    return [
        Action("", name, tool_input, cwd=cwd, project_dir=cwd, agent=AGENT,
               session=session if isinstance(session, str) else None)
    ]  # fmt: skip


def _tool(tool: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if tool in _SIMPLE:
        return _SIMPLE[tool], data
    if tool in _FILES:
        path = data.get("path") or data.get("file_path")
        if path is None and tool in ("glob", "grep"):
            path = "."  # searching the working directory
        converted = {**data, "file_path": path}
        if "file_text" in data:
            converted["content"] = data["file_text"]
        if "old_str" in data or "new_str" in data:
            converted["old_string"] = data.get("old_str", "")
            converted["new_string"] = data.get("new_str", "")
        return _FILES[tool], converted
    if tool in _NOTHING_TO_GUARD:
        return "TodoWrite", data
    return tool, data  # mcp__server__tool, or unknown to opsgate (blocks)


def render(answer: Answer, payload: dict[str, Any]) -> tuple[str, int]:
    if answer.verdict == "allow":
        return "", 0
    return _deny(answer.reason or "opsgate denied this action.")


def _deny(reason: str) -> tuple[str, int]:
    import json

    body = {"permissionDecision": "deny", "permissionDecisionReason": reason}
    return json.dumps(body) + "\n", 0
