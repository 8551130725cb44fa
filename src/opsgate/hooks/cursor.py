"""Cursor agent hooks (``opsgate hook cursor``): one command for every gating event.

Input (stdin; https://cursor.com/docs/agent/hooks).  Every event carries
``conversation_id``, ``generation_id``, ``model``, ``hook_event_name``,
``cursor_version``, ``workspace_roots``, ``user_email`` and ``transcript_path``, plus:

    beforeShellExecution  {command, cwd, timeout?}               → Bash
    beforeReadFile        {file_path, content, attachments}      → Read
    beforeMCPExecution    {tool_name, tool_input (object or JSON text), url? | command?}
                          → mcp__<server>__<tool>; the server named by "MCP:server:tool",
                            else by its launch command or URL
    preToolUse            {tool_name, tool_input, tool_use_id, cwd, agent_message}
                          Shell → Bash; Read; Write / Edit / StrReplace / MultiEdit
                          (path or file_path; contents or new_string) → Write / Edit;
                          Delete → ``rm -- path``; Grep, Glob, LS; Task, TodoWrite,
                          WebSearch (nothing to guard); MCP:server:tool → MCP

A tool or event opsgate does not know is blocked, not guessed at.

Output (the permission events all read the same shape):

- allow: ``{"permission": "allow"}``, exit 0 (Cursor expects JSON on every path).
- deny: ``{"permission": "deny", "user_message": ..., "agent_message": ...}`` and
  exit 2, which Cursor documents as a block by itself, so the deny holds even if a
  Cursor version reads the JSON differently.  Cursor may ignore ``ask`` from a hook,
  so approvals are denies here.
- fail closed: the same deny, exit 2.  (A crash or timeout is a block only with
  ``failClosed: true`` in hooks.json, which ``opsgate install cursor`` sets; the hook's
  own watchdog answers with a deny well before Cursor's timeout.)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from opsgate.hooks._respond import Answer, AuditSink
    from opsgate.models import Action

__all__ = ["actions", "fail", "main", "render", "respond"]

KEY = "cursor"
AGENT = "cursor"
# Cursor's hook payload does not say whether a person or auto-run answers a prompt,
# and Cursor may ignore a hook's ask: approvals are always denies.
ASK_MODES: frozenset[str] = frozenset()
_SHELL = ("Shell", "Bash", "run_terminal_cmd", "Terminal")
_READ = ("Read", "read_file")
_WRITE = ("Write", "write", "create_file")
_EDIT = ("Edit", "StrReplace", "MultiEdit", "edit_file", "search_replace")
_DELETE = ("Delete", "delete_file")
_SEARCH = {"Grep": "Grep", "grep": "Grep", "Glob": "Glob", "glob_file_search": "Glob",
           "LS": "LS", "list_dir": "LS"}  # fmt: skip
_NOTHING_TO_GUARD = ("Task", "TodoWrite", "todo_write", "WebSearch", "web_search",
                     "codebase_search", "read_lints", "SemanticSearch")  # fmt: skip


def main(argv: Sequence[str] = ()) -> int:
    import sys

    from opsgate.hooks._runner import run

    return run(sys.modules[__name__])


def fail(reason: str) -> tuple[str, str, int]:
    from opsgate.hooks._shapes import BLOCKED

    out, code = _deny(f"{BLOCKED}{reason}")
    return out, f"{BLOCKED}{reason}\n", code


def respond(
    raw: bytes, env: Mapping[str, str] | None = None, audit: AuditSink | None = None
) -> tuple[str, int]:
    from opsgate.hooks._respond import respond_as

    return respond_as(__name__, raw, env, audit)


def actions(payload: dict[str, Any], env: Mapping[str, str]) -> list[Action]:
    from opsgate.hooks._respond import HookInputError
    from opsgate.models import Action

    event = payload.get("hook_event_name")
    roots = payload.get("workspace_roots")
    root = roots[0] if isinstance(roots, list) and roots and isinstance(roots[0], str) else None
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else root
    session = payload.get("conversation_id")

    def action(name: str, tool_input: dict[str, Any]) -> Action:
        return Action("", name, tool_input, cwd=cwd, project_dir=root or cwd, agent=AGENT,
                      session=session if isinstance(session, str) else None)  # fmt: skip

    if event == "beforeShellExecution":
        return [action("Bash", {"command": _text(payload, "command")})]
    if event == "beforeReadFile":
        return [action("Read", {"file_path": _text(payload, "file_path")})]
    if event == "beforeMCPExecution":
        return [action(_mcp_name(payload), _arguments(payload.get("tool_input")))]
    if event == "preToolUse":
        tool = _text(payload, "tool_name")
        name, data = _tool(tool, _arguments(payload.get("tool_input")))
        return [action(name, data)]
    raise HookInputError(f"opsgate does not guard the Cursor event {event!r}")


def _text(payload: dict[str, Any], key: str) -> str:
    from opsgate.hooks._respond import HookInputError

    value = payload.get(key)
    if not isinstance(value, str):
        raise HookInputError(f"the hook input needs {key} (string)")
    return value


def _arguments(value: object) -> dict[str, Any]:
    from opsgate.hooks._shapes import arguments

    return arguments(value, "tool_input")


def _tool(tool: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    path = data.get("file_path") or data.get("path") or data.get("target_file")
    if tool in _SHELL:
        return "Bash", {"command": data.get("command")}
    if tool in _READ:
        return "Read", {**data, "file_path": path}
    if tool in _WRITE or tool in _EDIT:
        content = data.get("contents", data.get("content", data.get("code_edit")))
        if tool in _WRITE or "old_string" not in data:
            return "Write", {"file_path": path, "content": content if content is not None
                             else data.get("new_string", "")}  # fmt: skip
        return "Edit", {**data, "file_path": path}
    if tool in _DELETE:
        import shlex

        return "Bash", {"command": shlex.join(["rm", "--", str(path)])}
    if tool in _SEARCH:
        return _SEARCH[tool], {**data, "path": path or "."}
    if tool in _NOTHING_TO_GUARD:
        return "TodoWrite", data
    if tool.startswith("MCP:"):
        _, server, name = [*tool.split(":", 2), "", ""][:3]
        return f"mcp__{server}__{name}", data
    return tool, data  # mcp__server__tool, or unknown to opsgate (blocks)


def _mcp_name(payload: dict[str, Any]) -> str:
    tool = _text(payload, "tool_name")
    if tool.startswith("mcp__"):
        return tool
    if tool.startswith("MCP:"):
        _, server, name = [*tool.split(":", 2), "", ""][:3]
        return f"mcp__{server}__{name}"
    return f"mcp__{server_name(payload.get('command'), payload.get('url'))}__{tool}"


def server_name(command: object, url: object) -> str:
    """A server's short name from how it is launched: ``npx -y
    @modelcontextprotocol/server-postgres …`` → postgres, ``https://mcp.linear.app/sse``
    → linear."""
    import re

    if isinstance(command, str) and command.strip():
        words = [w for w in command.split() if not w.startswith("-")]
        skip = {"npx", "uvx", "node", "python", "python3", "docker", "run", "bunx", "pnpm",
                "dlx", "deno"}  # fmt: skip
        word = next((w for w in words if w.rsplit("/", 1)[-1] not in skip), words[-1])
        base = word.rsplit("/", 1)[-1].split("@")[0]
        base = re.sub(r"^(mcp-server-|server-)|(-mcp-server|-mcp|-server)$", "", base)
        return base or "mcp"
    if isinstance(url, str) and url:
        from urllib.parse import urlsplit

        host = (urlsplit(url).hostname or "").split(".")
        parts = [p for p in host if p not in ("mcp", "api", "www", "com", "app", "io", "dev")]
        return parts[0] if parts else "mcp"
    return "mcp"


def render(answer: Answer, payload: dict[str, Any]) -> tuple[str, int]:
    import json

    if answer.verdict == "allow":
        return json.dumps({"permission": "allow"}) + "\n", 0
    return _deny(answer.reason or "opsgate denied this action.")


def _deny(reason: str) -> tuple[str, int]:
    import json

    body = {"permission": "deny", "user_message": reason, "agent_message": reason}
    return json.dumps(body) + "\n", 2
