"""What opsgate knows about each agent's hook configuration, as data.

One :class:`Agent` per supported coding agent: where its hook configuration lives
(per project and per user), the shape of a hook entry, the events and tool matchers
opsgate must cover, the agent's timeout for a hook, and — for ``opsgate doctor`` —
how the agent reads a hook's answer and what payload it sends.  Adding an agent is
adding a row here; the installer and the doctor have no per-agent branches.

Sources (each agent's documentation): Claude Code "Hooks reference"; Codex
"Hooks" (developers.openai.com/codex/hooks); Gemini CLI "Hooks reference"
(docs/hooks/reference.md, shipped in the npm package); Cursor "Hooks"
(cursor.com/docs/agent/hooks); GitHub Copilot CLI "CLI hooks reference".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opsgate.integrations._protocols import (
    claude_payload,
    copilot_payload,
    cursor_payload,
    gemini_payload,
    read_claude,
    read_copilot,
    read_cursor,
    read_gemini,
)

__all__ = ["AGENTS", "Agent", "Event", "Layout", "Switch", "Verdict", "agent_named"]

# "grouped": {"hooks": {Event: [{"matcher": m, "hooks": [{entry}]}]}} (Claude Code,
# Codex, Gemini CLI).  "flat": {"version": 1, "hooks": {event: [{entry}]}} (Cursor,
# Copilot CLI), where a matcher, if any, sits on the entry itself.
Layout = Literal["grouped", "flat"]
Verdict = Literal["allow", "ask", "block"]
PayloadBuilder = Callable[[str, str, str], dict[str, Any]]  # (event, command, cwd)
AnswerReader = Callable[[int, str], Verdict]  # (exit status, stdout)


@dataclass(frozen=True)
class Event:
    """One hook event opsgate installs itself on.

    ``matcher`` is what opsgate writes (None: the entry has no matcher and sees every
    tool); ``probes`` are tool names the installed matcher must cover, checked by
    ``opsgate doctor``.  ``canary`` marks the event the doctor sends its shell
    canaries through.
    """

    name: str
    matcher: str | None = None
    probes: tuple[str, ...] = ()
    canary: bool = False


@dataclass(frozen=True)
class Switch:
    """A setting that turns all of the agent's hooks off, however well configured:
    ``key`` (a path into the JSON or TOML file) set to ``value``."""

    file: str
    scope: Literal["project", "user"]
    key: tuple[str, ...]
    value: object


def _both(file: str, key: tuple[str, ...], value: object) -> tuple[Switch, ...]:
    return (Switch(file, "project", key, value), Switch(file, "user", key, value))


@dataclass(frozen=True)
class Agent:
    name: str
    title: str
    project_file: str  # relative to the project directory
    user_file: str  # relative to the home directory
    layout: Layout
    events: tuple[Event, ...]
    command_key: str  # the entry field holding the shell command
    timeout_key: str
    timeout: int  # written into each entry, in the agent's unit
    timeout_scale: float  # seconds per unit of ``timeout``
    default_timeout: float  # seconds, when an entry sets none
    entry_extra: Mapping[str, Any]
    file_extra: Mapping[str, Any]
    payload: PayloadBuilder
    read_answer: AnswerReader
    project_env: str | None = None  # the variable the agent sets to the project dir
    switches: tuple[Switch, ...] = ()
    # Entry fields without which the agent runs the tool when the hook crashes, times
    # out or exits oddly; written on every entry and required by ``opsgate doctor``.
    fail_closed: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=())
    # A variable that, when set, replaces the user files' first directory (Codex reads
    # its user hooks and config from $CODEX_HOME, and then not from ~/.codex).
    user_dir_env: str | None = None

    def user_path(self, relative: str, home: Path, env: Mapping[str, str]) -> Path:
        """Where a user-scope file (``user_file``, a user switch's file) really is."""
        moved = env.get(self.user_dir_env, "") if self.user_dir_env else ""
        if moved:
            return Path(moved).joinpath(*Path(relative).parts[1:])
        return home / relative

    def timeout_seconds(self, entry: Mapping[str, Any]) -> float:
        value = entry.get(self.timeout_key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value) * self.timeout_scale
        return self.default_timeout

    @property
    def canary_event(self) -> Event:
        return next(e for e in self.events if e.canary)


# Generous on purpose: the hook's own watchdog (5 s) blocks long before this, and an
# agent that times a hook out runs the tool — so the agent's limit must never be the
# one that fires.
_TIMEOUT_S = 30

CLAUDE = Agent(
    name="claude",
    title="Claude Code",
    project_file=".claude/settings.json",
    user_file=".claude/settings.json",
    layout="grouped",
    events=(
        Event(
            "PreToolUse",
            matcher="Bash|PowerShell|Read|Write|Edit|MultiEdit|NotebookEdit|Grep|WebFetch|mcp__.*",
            probes=(
                "Bash",
                "PowerShell",
                "Read",
                "Write",
                "Edit",
                "MultiEdit",
                "NotebookEdit",
                "Grep",  # prints matching lines (output_mode "content"): a file's text
                "WebFetch",
                "mcp__server__tool",
            ),
            canary=True,
        ),
    ),
    command_key="command",
    timeout_key="timeout",
    timeout=_TIMEOUT_S,
    timeout_scale=1.0,
    default_timeout=600.0,
    entry_extra={"type": "command"},
    file_extra={},
    payload=claude_payload,
    read_answer=read_claude,
    project_env="CLAUDE_PROJECT_DIR",
    # Claude Code >= 2.1.295: a hook that cannot start, times out or exits with a code
    # other than 0 or 2 blocks the tool instead of letting it through.
    fail_closed={"onFailure": "block"},
    switches=(
        *_both(".claude/settings.json", ("disableAllHooks",), True),
        Switch(".claude/settings.local.json", "project", ("disableAllHooks",), True),
    ),
)

CODEX = Agent(
    name="codex",
    title="Codex CLI",
    project_file=".codex/hooks.json",
    user_file=".codex/hooks.json",
    layout="grouped",
    events=(
        Event(
            "PreToolUse",
            matcher="Bash|apply_patch|mcp__.*",
            probes=("Bash", "apply_patch", "mcp__server__tool"),
            canary=True,
        ),
    ),
    command_key="command",
    timeout_key="timeout",
    timeout=_TIMEOUT_S,
    timeout_scale=1.0,
    default_timeout=600.0,
    entry_extra={"type": "command"},
    file_extra={},
    payload=claude_payload,  # Codex sends the Claude Code shape (plus model, turn_id)
    read_answer=read_claude,
    switches=(
        *_both(".codex/config.toml", ("features", "hooks"), False),
        *_both(".codex/config.toml", ("features", "codex_hooks"), False),
    ),
    user_dir_env="CODEX_HOME",
    notes=(
        # Codex 0.171.0, tested: an untrusted hook (or one changed since it was
        # trusted) is skipped without a word, and `codex exec` never asks.
        "Codex runs these hooks only once you trust them, and skips them silently until "
        "then: start `codex` here once and choose 'Trust and continue' for the folder "
        "(project installs), then 'Trust all and continue' at 'Hooks need review'.",
    ),
)

GEMINI = Agent(
    name="gemini",
    title="Gemini CLI",
    project_file=".gemini/settings.json",
    user_file=".gemini/settings.json",
    layout="grouped",
    events=(
        Event(
            "BeforeTool",
            matcher=(
                "run_shell_command|write_file|replace|read_file|read_many_files|grep_search|"
                "search_file_content|web_fetch|mcp_.*"
            ),
            probes=(
                "run_shell_command",
                "write_file",
                "replace",
                "read_file",
                "read_many_files",
                "grep_search",  # prints matching lines: a file's text
                "search_file_content",  # its name before Gemini CLI 0.10
                "web_fetch",
                "mcp_server_tool",
            ),
            canary=True,
        ),
    ),
    command_key="command",
    timeout_key="timeout",
    timeout=_TIMEOUT_S * 1000,
    timeout_scale=0.001,
    default_timeout=60.0,
    entry_extra={"type": "command", "name": "opsgate"},
    file_extra={},
    payload=gemini_payload,
    read_answer=read_gemini,
    project_env="GEMINI_PROJECT_DIR",
    switches=_both(".gemini/settings.json", ("hooksConfig", "enabled"), False),
    notes=("Gemini CLI ignores a project's settings (and hooks) until you trust the folder.",),
)

CURSOR = Agent(
    name="cursor",
    title="Cursor",
    project_file=".cursor/hooks.json",
    user_file=".cursor/hooks.json",
    layout="flat",
    events=(
        Event("beforeShellExecution", canary=True),
        Event("beforeReadFile"),
        Event("beforeMCPExecution"),
        Event("preToolUse"),
    ),
    command_key="command",
    timeout_key="timeout",
    timeout=_TIMEOUT_S,
    timeout_scale=1.0,
    default_timeout=_TIMEOUT_S,
    entry_extra={},
    file_extra={"version": 1},
    payload=cursor_payload,
    read_answer=read_cursor,
    # Cursor runs the action when a hook crashes, times out or prints no valid JSON,
    # unless the entry says ``failClosed: true``.
    fail_closed={"failClosed": True},
)

COPILOT = Agent(
    name="copilot",
    title="GitHub Copilot CLI",
    project_file=".github/hooks/opsgate.json",
    user_file=".copilot/hooks/opsgate.json",
    layout="flat",
    events=(Event("preToolUse", canary=True),),
    command_key="bash",
    timeout_key="timeoutSec",
    timeout=_TIMEOUT_S,
    timeout_scale=1.0,
    default_timeout=30.0,
    entry_extra={"type": "command"},
    file_extra={"version": 1},
    payload=copilot_payload,
    read_answer=read_copilot,
    notes=(
        "Copilot CLI ignores a failing or timed-out hook (the tool runs), so only an "
        "explicit deny blocks: run `opsgate doctor copilot` to prove it.",
    ),
)

AGENTS: tuple[Agent, ...] = (CLAUDE, CODEX, GEMINI, CURSOR, COPILOT)
_ALIASES = {"claude-code": "claude", "codex-cli": "codex", "gemini-cli": "gemini"}


def agent_named(name: str) -> Agent:
    """The agent called ``name`` (or an alias); KeyError when there is none."""
    wanted = _ALIASES.get(name, name)
    for agent in AGENTS:
        if agent.name == wanted:
            return agent
    raise KeyError(name)
