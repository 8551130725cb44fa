"""Hook payloads exactly as each agent sends them, from each agent's documentation.

Each builder returns the bytes the agent writes to the hook's stdin for one tool
call; the field sets and tool names are the documented ones (sources beside each).
"""

from __future__ import annotations

import json
from typing import Any

PROJECT = "/home/dev/project"


def claude(tool: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    # Claude Code 2.1.328, PreToolUse (issue 5; https://code.claude.com/docs/en/hooks).
    return {
        "session_id": "9f1c2a40-claude",
        "transcript_path": "/home/dev/.claude/t.jsonl",
        "cwd": PROJECT,
        "prompt_id": "p1",
        "permission_mode": "bypassPermissions",
        "effort": {"level": "medium"},
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_01",
    }


def codex(tool: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    # openai/codex codex-rs/hooks/schema/generated/pre-tool-use.command.input.schema.json
    # (required: cwd, hook_event_name, model, permission_mode, session_id, tool_input,
    # tool_name, tool_use_id, transcript_path; turn_id from events/pre_tool_use.rs).
    # tool_name: "Bash" {command}, "apply_patch" {command: patch}, "mcp__server__tool".
    return {
        "session_id": "019a-codex",
        "turn_id": "turn-1",
        "transcript_path": None,
        "cwd": PROJECT,
        "hook_event_name": "PreToolUse",
        "model": "gpt-5-codex",
        "permission_mode": "default",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "call_1",
    }


def gemini(tool: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    # google-gemini/gemini-cli docs/hooks/reference.md: base input (session_id,
    # transcript_path, cwd, hook_event_name, timestamp) + BeforeTool (tool_name,
    # tool_input, mcp_context?).  Tool names: packages/core/src/tools/definitions/
    # base-declarations.ts (run_shell_command, read_file, write_file, replace, …).
    return {
        "session_id": "gemini-s1",
        "transcript_path": "/home/dev/.gemini/tmp/t.json",
        "cwd": PROJECT,
        "hook_event_name": "BeforeTool",
        "timestamp": "2026-01-05T10:00:00Z",
        "tool_name": tool,
        "tool_input": tool_input,
    }


def cursor(event: str, **fields: Any) -> dict[str, Any]:
    # https://cursor.com/docs/agent/hooks: common input (conversation_id, generation_id,
    # model, hook_event_name, cursor_version, workspace_roots, user_email,
    # transcript_path) + beforeShellExecution {command, cwd}, beforeReadFile {file_path,
    # content, attachments}, beforeMCPExecution {tool_name, tool_input, command|url},
    # preToolUse {tool_name, tool_input, tool_use_id, cwd, agent_message}.
    return {
        "conversation_id": "conv-1",
        "generation_id": "gen-1",
        "model": "claude-4-sonnet",
        "hook_event_name": event,
        "cursor_version": "2.0.77",
        "workspace_roots": [PROJECT],
        "user_email": "dev@example.com",
        "transcript_path": None,
        **fields,
    }


def copilot(tool: str, tool_args: dict[str, Any]) -> dict[str, Any]:
    # docs.github.com/en/copilot/reference/copilot-cli-reference/cli-hooks-reference,
    # preToolUse camelCase input {sessionId, timestamp, cwd, toolName, toolArgs}; toolArgs
    # is the arguments as JSON text.  Tools: bash, powershell, view, create, edit, glob,
    # grep, web_fetch, task, ask_user.
    return {
        "sessionId": "copilot-s1",
        "timestamp": 1767607200000,
        "cwd": PROJECT,
        "toolName": tool,
        "toolArgs": json.dumps(tool_args),
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


# Per agent: (destructive payload, benign payload, unknown-tool payload).
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "claude": (
        claude("Bash", {"command": "rm -rf ~", "description": "clean up"}),
        claude("Bash", {"command": "npm test", "description": "run tests"}),
        claude("TeleportTool", {"where": "prod"}),
    ),
    "codex": (
        codex("Bash", {"command": "git push --force origin main"}),
        codex(
            "apply_patch",
            {
                "command": "*** Begin Patch\n*** Add File: src/hello.py\n"
                "+print('hi')\n*** End Patch\n"
            },
        ),
        codex("teleport", {"where": "prod"}),
    ),
    "gemini": (
        gemini("run_shell_command", {"command": "rm -rf ~", "description": "clean"}),
        gemini("read_file", {"file_path": f"{PROJECT}/src/app.py"}),
        gemini("teleport", {"where": "prod"}),
    ),
    "cursor": (
        cursor("beforeShellExecution", command="kubectl delete namespace payments", cwd=PROJECT),
        cursor("beforeShellExecution", command="npm run lint", cwd=PROJECT),
        cursor(
            "preToolUse",
            tool_name="Teleport",
            tool_input={"where": "prod"},
            tool_use_id="t1",
            cwd=PROJECT,
            agent_message="",
        ),
    ),
    "copilot": (
        copilot(
            "bash",
            {"command": "psql -h db.prod.internal -c 'DROP TABLE users'", "description": "drop"},
        ),
        copilot("view", {"path": f"{PROJECT}/README.md"}),
        copilot("teleport", {"where": "prod"}),
    ),
}
