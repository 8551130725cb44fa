"""Claude Code PreToolUse hook (``opsgate hook claude``).

Input (stdin, https://code.claude.com/docs/en/hooks#pretooluse-input)::

    {"session_id", "transcript_path", "cwd", "permission_mode", "hook_event_name":
     "PreToolUse", "tool_name": "Bash", "tool_input": {"command", "description"},
     "tool_use_id", ...}

Tools: Bash, PowerShell, Read, Write, Edit, MultiEdit, NotebookEdit, WebFetch and
MCP tools (``mcp__server__tool``) — opsgate's own vocabulary, passed through as is.

Output: allow is a silent exit 0.  Ask and deny are a JSON ``hookSpecificOutput``
(``permissionDecision`` "ask"/"deny" with ``permissionDecisionReason``) on stdout
with exit 0.  Anything that goes wrong — malformed or oversized input, a crash, an
overrun — exits 2 with the reason on stderr, which Claude Code treats as a block.
Never exit 1: Claude Code runs the tool after a non-blocking error.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from opsgate.hooks._respond import Answer, AuditSink
    from opsgate.models import Action

__all__ = ["actions", "fail", "main", "render", "respond"]

KEY = "claude"
AGENT = "claude-code"
# Permission modes in which an "ask" reaches a person (SPEC §4): ``default`` and ``plan``.
# Never ``bypassPermissions`` (where Claude Code may accept an ask by itself), nor
# ``acceptEdits``, ``dontAsk``, ``auto`` or a mode this list does not know; a payload
# without ``permission_mode`` counts as nobody watching.  See docs/hook-modes.md.
ASK_MODES = frozenset({"default", "plan"})


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
    return [
        Action(
            kind="",
            tool=tool,
            input=data,
            cwd=cwd,
            project_dir=env.get("CLAUDE_PROJECT_DIR") or cwd,
            agent=AGENT,
            session=session,
        )
    ]


def render(answer: Answer, payload: dict[str, Any]) -> tuple[str, int]:
    if answer.verdict == "allow":
        return "", 0
    from opsgate.hooks._shapes import pre_tool_use

    return pre_tool_use(answer.verdict, answer.reason)
