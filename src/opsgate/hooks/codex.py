"""OpenAI Codex CLI PreToolUse hook (``opsgate hook codex``).

Input (stdin; codex-rs/hooks/schema/generated/pre-tool-use.command.input.schema.json,
https://developers.openai.com/codex/hooks)::

    {"session_id", "turn_id", "transcript_path", "cwd", "hook_event_name": "PreToolUse",
     "model", "permission_mode", "tool_name", "tool_input", "tool_use_id"}

``tool_name`` is ``Bash`` for every shell-like tool (``tool_input: {"command": str}``),
``apply_patch`` for file edits (the raw patch in ``tool_input.command``; see
``_patch``) and ``mcp__server__tool`` for MCP tools (their JSON arguments).

Output (codex-rs/hooks/schema/generated/pre-tool-use.command.output.schema.json;
``additionalProperties: false`` — Codex rejects any other field):

- allow: exit 0 and no output.  (``permissionDecision: "allow"`` without
  ``updatedInput`` is *unsupported* and Codex treats it as a failed hook.)
- deny: ``{"hookSpecificOutput": {"hookEventName": "PreToolUse",
  "permissionDecision": "deny", "permissionDecisionReason": "..."}}``, exit 0.
  ``"ask"`` is unsupported (a failed hook, which Codex ignores), so approvals are
  always denies here.
- fail closed: exit 2 with the reason on stderr.  Codex blocks on exit 2 only when
  stderr is non-empty; any other exit code, a timeout or invalid JSON is a failed
  hook, and Codex then runs the tool.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from opsgate.hooks._respond import Answer, AuditSink
    from opsgate.models import Action

__all__ = ["actions", "fail", "main", "render", "respond"]

KEY = "codex"
AGENT = "codex"
# Codex reads only allow and deny from a PreToolUse hook ("ask" is a failed hook, which
# it ignores): no mode of Codex shows opsgate's prompt to a person.
ASK_MODES: frozenset[str] = frozenset()
_SHELLS = ("Bash", "shell", "local_shell", "exec_command", "unified_exec", "container.exec")


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
    from opsgate.hooks._shapes import tool_call
    from opsgate.models import Action

    tool, data, cwd, session = tool_call(payload)

    def action(name: str, tool_input: dict[str, Any]) -> Action:
        return Action("", name, tool_input, cwd=cwd, project_dir=cwd, agent=AGENT, session=session)

    if tool == "apply_patch":
        return [action(name, args) for name, args in _patch_calls(data)]
    if tool in _SHELLS:
        return [action("Bash", {"command": _command(data)})]
    return [action(tool, data)]  # mcp__server__tool, or a tool opsgate does not know (blocks)


def _command(data: dict[str, Any]) -> str:
    from opsgate.hooks._respond import HookInputError

    command = data.get("command", data.get("cmd"))
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        import shlex

        return shlex.join(command)
    if not isinstance(command, str):
        raise HookInputError("a shell tool call without a command string")
    return command


def _patch_calls(data: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    from opsgate.hooks._patch import PatchError, parse_patch
    from opsgate.hooks._respond import HookInputError

    text = data.get("command", data.get("input", data.get("patch")))
    if not isinstance(text, str):
        raise HookInputError("apply_patch without the patch text in tool_input.command")
    try:
        ops = parse_patch(text)
    except PatchError as exc:
        raise HookInputError(f"apply_patch: {exc}") from exc
    return [call for op in ops for call in op.as_tool_call()]


def render(answer: Answer, payload: dict[str, Any]) -> tuple[str, int]:
    if answer.verdict == "allow":
        return "", 0
    from opsgate.hooks._shapes import pre_tool_use

    return pre_tool_use("deny", answer.reason or "opsgate denied this action.")
