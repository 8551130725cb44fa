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
    c = sub.add_parser(
        "hook-client",
        help="build the native fast-path hook client ($OPSGATE_HOME/bin/opsgate-hook-fast)",
        description="Build a tiny C client for the hook's resident fast path with the "
        "system C compiler. It falls back to the Python hook whenever the service cannot "
        "answer, so it never decides differently.",
    )
    c.add_argument("action", choices=["build"])
    c.add_argument("--home", help="opsgate home (default: $OPSGATE_HOME or ~/.opsgate)")
    c.set_defaults(func=_client)


def _run(ns: argparse.Namespace) -> int:
    from opsgate.hooks import run_hook

    return run_hook(ns.agent, [])


def _client(ns: argparse.Namespace) -> int:
    from opsgate.hooks._native import main

    return main(["--home", ns.home] if ns.home else [])
