"""Agent hook adapters: one module per agent, each speaking that agent's protocol.

Each adapter's module docstring documents the exact input it reads and the output
it writes; ``_respond`` holds the one decision path they share, ``_runner`` the one
process (watchdog, fork isolation, fail-closed forms), ``_daemon``/``_client`` the
resident fast path and ``_connect`` connected mode.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["AGENTS", "run_hook"]

# Agent name (as in `opsgate hook <agent>`) → adapter module.
AGENTS = {
    "claude": "claude_code",
    "claude-code": "claude_code",
    "codex": "codex",
    "gemini": "gemini",
    "cursor": "cursor",
    "copilot": "copilot",
}


def run_hook(agent: str, argv: Sequence[str]) -> int:
    module_name = AGENTS.get(agent)
    if module_name is None:
        known = ", ".join(sorted(AGENTS))
        print(f"opsgate: unknown agent {agent!r}; known agents: {known}", file=sys.stderr)
        return 2
    import importlib

    module = importlib.import_module(f"opsgate.hooks.{module_name}")
    code: int = module.main(argv)
    return code
