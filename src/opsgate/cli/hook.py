"""``opsgate hook <agent>``: listed here for --help; the CLI dispatches it directly."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "hook",
        help="answer an agent's pre-tool-use hook (reads the payload on stdin)",
        description="Agent hook adapter: reads the agent's hook payload on stdin and "
        "answers in that agent's protocol. Agents: claude, codex, gemini, cursor, copilot.",
    )
    from opsgate.hooks import AGENTS

    p.add_argument("agent", choices=sorted(AGENTS))
    p.set_defaults(func=_run)


def _run(ns: argparse.Namespace) -> int:
    from opsgate.hooks import run_hook

    return run_hook(ns.agent, [])
