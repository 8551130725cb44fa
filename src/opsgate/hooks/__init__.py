"""Agent hook adapters: one module per agent, each speaking that agent's protocol."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["run_hook"]

_AGENTS = {"claude": "claude_code", "claude-code": "claude_code"}


def run_hook(agent: str, argv: Sequence[str]) -> int:
    module_name = _AGENTS.get(agent)
    if module_name is None:
        known = ", ".join(sorted(_AGENTS))
        print(f"opsgate: unknown agent {agent!r}; known agents: {known}", file=sys.stderr)
        return 2
    import importlib

    module = importlib.import_module(f"opsgate.hooks.{module_name}")
    code: int = module.main(argv)
    return code
