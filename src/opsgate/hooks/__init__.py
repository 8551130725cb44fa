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

__all__ = ["AGENTS", "run_hook", "run_protected"]

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


def run_protected(argv: Sequence[str], config: str) -> int:
    """The protected-mode Python hook (``opsgate install <agent> --system`` writes a
    root-owned launcher that calls this with its configuration's path): the answer of
    the service running as opsgate's own user, or the agent's block."""
    import importlib

    from opsgate.hooks._runner import run

    module_name = AGENTS.get(argv[0]) if len(argv) == 1 else None
    if module_name is None:
        from opsgate.hooks._shapes import fail_exit_2

        _, err, code = fail_exit_2("usage: opsgate-hook <agent> (a known agent)")
        sys.stderr.write(err)
        return code
    return run(importlib.import_module(f"opsgate.hooks.{module_name}"), system=config)
