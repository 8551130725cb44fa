"""Safeguard 6 through a nested agent: an agent CLI started so that it skips the hook.

``claude --settings '{"disableAllHooks": true}' -p …`` starts a second agent with no
guard; so do ``--setting-sources local`` (the user and project settings, where the hook
is installed, are not loaded), ``CLAUDE_CONFIG_DIR=/tmp/x claude``, ``codex -c
features.hooks=false`` and ``CODEX_HOME=/tmp/x codex``.  Starting an agent CLI
otherwise (``claude -p 'summarise the diff'``) is not tampering: its own hook judges
what it does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsgate.classify._command import Command, Context

__all__ = ["AGENT_CLIS", "agent_cli"]

_HOOK_WORDS = ("disableAllHooks", '"hooks"', "'hooks'")
_CODEX_HOOK_KEYS = ("features.hooks", "features.codex_hooks", "hooks")


def _claude(cmd: Command, ctx: Context) -> str | None:
    if "CLAUDE_CONFIG_DIR" in cmd.env:
        return "starts Claude Code with its settings directory moved (CLAUDE_CONFIG_DIR)"
    sources = cmd.option("--setting-sources")
    if sources is not None and not {"user", "project"} <= set(sources.replace(" ", "").split(",")):
        return "starts Claude Code without the user or project settings, where the hook is"
    for value in cmd.options("--settings"):
        text = value if value.lstrip().startswith("{") else ctx.read_text(value, cmd.cwd)
        if text is None or any(word in text for word in _HOOK_WORDS):
            return "starts Claude Code with settings that change or disable its hooks"
    return None


def _codex(cmd: Command, ctx: Context) -> str | None:
    if "CODEX_HOME" in cmd.env:
        return "starts Codex with its configuration directory moved (CODEX_HOME)"
    for value in cmd.options("-c", "--config"):
        key = value.split("=", 1)[0].strip()
        if key in _CODEX_HOOK_KEYS or key.startswith("hooks."):
            return "starts Codex with its hooks reconfigured"
    if any(v in ("hooks", "codex_hooks") for v in cmd.options("--disable")):
        return "starts Codex with its hooks turned off"
    return None


AGENT_CLIS: dict[str, Callable[[Command, Context], str | None]] = {
    "claude": _claude,
    "codex": _codex,
}


def agent_cli(cmd: Command, ctx: Context) -> str | None:
    """Why starting this agent CLI bypasses its guard, or None."""
    check = AGENT_CLIS.get(cmd.name)
    return check(cmd, ctx) if check is not None else None
