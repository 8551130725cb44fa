"""Gemini CLI BeforeTool hook (``opsgate hook gemini``).

Input (stdin; https://geminicli.com/docs/hooks/reference, "BeforeTool")::

    {"session_id", "transcript_path", "cwd", "hook_event_name": "BeforeTool",
     "timestamp", "tool_name", "tool_input", "mcp_context"?}

Tools (packages/core/src/tools/definitions/base-declarations.ts) and what opsgate
reads them as:

    run_shell_command {command, description?, dir_path?} → Bash (cwd: dir_path)
    read_file {file_path}                         → Read
    read_many_files {include: [paths or globs]}   → Read, once per entry
    write_file {file_path, content}               → Write
    replace {file_path, old_string, new_string}   → Edit
    web_fetch {prompt}                            → WebFetch, once per URL in the prompt
    glob / grep_search / list_directory           → Glob / Grep / LS (grep_search
                                                    prints matching lines: output_mode
                                                    "content" unless names_only)
    google_web_search, save_memory, write_todos, ask_user, … → nothing to guard
    mcp__server__tool                             → the MCP tool, as named

A tool opsgate does not know is blocked, not guessed at.

Output: allow is ``{}`` with exit 0 (no opinion, so Gemini's own confirmation still
applies).  Deny is ``{"decision": "deny", "reason": "..."}`` with exit 0; the reason
goes to the agent as the tool's error.  Fail closed: exit 2 with the reason on stderr
("System Block").  Any other exit code is only a warning and Gemini runs the tool.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from opsgate.hooks._respond import Answer, AuditSink
    from opsgate.models import Action

__all__ = ["actions", "fail", "main", "render", "respond"]

KEY = "gemini"
AGENT = "gemini-cli"
# Gemini CLI's BeforeTool decisions are allow and deny only (docs/hooks/reference.md):
# there is no prompt of its own to hand an approval to, in any approval mode.
ASK_MODES: frozenset[str] = frozenset()
_NOTHING_TO_GUARD = frozenset(
    {"google_web_search", "save_memory", "write_todos", "ask_user", "activate_skill",
     "enter_plan_mode", "exit_plan_mode", "update_topic", "get_internal_docs",
     "complete_task"}
)  # fmt: skip
_RENAMED = {"glob": "Glob", "grep_search": "Grep", "search_file_content": "Grep",
            "list_directory": "LS"}  # fmt: skip


def main(argv: Sequence[str] = ()) -> int:
    import sys

    from opsgate.hooks._runner import run

    return run(sys.modules[__name__])


def fail(reason: str) -> tuple[str, str, int]:
    from opsgate.hooks._shapes import fail_exit_2

    return fail_exit_2(reason)


def respond(
    raw: bytes, env: Mapping[str, str] | None = None, audit: AuditSink | None = None
) -> tuple[str, int]:
    from opsgate.hooks._respond import respond_as

    return respond_as(__name__, raw, env, audit)


def actions(payload: dict[str, Any], env: Mapping[str, str]) -> list[Action]:
    from opsgate.hooks._respond import HookInputError
    from opsgate.hooks._shapes import tool_call
    from opsgate.models import Action

    tool, data, cwd, session = tool_call(payload)

    def action(name: str, tool_input: dict[str, Any], where: str | None = cwd) -> Action:
        return Action("", name, tool_input, cwd=where, project_dir=cwd, agent=AGENT,
                      session=session)  # fmt: skip

    if tool == "run_shell_command":
        shell: dict[str, Any] = {"command": data.get("command")}
        if isinstance(data.get("description"), str):
            # The agent's own words for the call: the card's reasoning, never judged.
            shell["description"] = data["description"]
        return [action("Bash", shell, _directory(cwd, data))]
    if tool in ("read_file", "write_file", "replace"):
        name = {"read_file": "Read", "write_file": "Write", "replace": "Edit"}[tool]
        return [action(name, _file_input(data))]
    if tool == "read_many_files":
        paths = data.get("include") or data.get("paths")
        if not isinstance(paths, list) or not paths:
            raise HookInputError("read_many_files without a list of paths")
        return [action("Read", {"file_path": str(p)}) for p in paths]
    if tool == "web_fetch":
        return [action("WebFetch", {"url": url}) for url in _urls(data)] or [action(tool, data)]
    if tool in _RENAMED:
        path = data.get("dir_path") or data.get("path") or cwd or "."
        renamed = {**data, "path": path}
        if _RENAMED[tool] == "Grep":  # grep_search prints matching lines unless names_only
            names = data.get("names_only") is True
            renamed["output_mode"] = "files_with_matches" if names else "content"
        return [action(_RENAMED[tool], renamed)]
    if tool in _NOTHING_TO_GUARD:
        return [action("TodoWrite", data)]  # a tool opsgate knows does nothing outside
    mcp = _mcp_name(tool, payload.get("mcp_context"))
    return [action(mcp, data)]  # mcp__server__tool, or unknown to opsgate (blocks)


def _directory(cwd: str | None, data: dict[str, Any]) -> str | None:
    from pathlib import PurePosixPath

    sub = data.get("dir_path") or data.get("directory")
    if isinstance(sub, str) and sub:
        return str(PurePosixPath(cwd or "/") / sub)
    return cwd


def _file_input(data: dict[str, Any]) -> dict[str, Any]:
    path = data.get("file_path") or data.get("absolute_path") or data.get("path")
    return {**data, "file_path": path}


def _urls(data: dict[str, Any]) -> list[str]:
    import re

    text = " ".join(str(data.get(k) or "") for k in ("prompt", "url"))
    return re.findall(r"https?://[^\s<>\"')\]]+", text)


def _mcp_name(tool: str, context: object) -> str:
    if tool.startswith("mcp__") or not isinstance(context, dict):
        return tool
    server = context.get("server_name")
    return f"mcp__{server}__{tool}" if isinstance(server, str) and server else tool


def render(answer: Answer, payload: dict[str, Any]) -> tuple[str, int]:
    import json

    if answer.verdict == "allow":
        return "{}\n", 0
    body = {"decision": "deny", "reason": answer.reason or "opsgate denied this action."}
    return json.dumps(body) + "\n", 0
