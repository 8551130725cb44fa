"""``opsgate doctor [agent]``: prove, per agent, that the installed hook blocks a
destructive action, lets a harmless one through, and audits both.

Exit status 0 only when every checked agent passes.  Without an agent argument,
every agent that has any opsgate hook configured is checked (none is a failure).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from opsgate.errors import InputError

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="prove that opsgate's hook is enforced in each agent",
        description="Read each agent's hook configuration, run the configured hook as the "
        "agent would with a destructive canary (never executed) and a harmless command, "
        "and check the verdicts and the audit trail. Exit 1 on any failure.",
    )
    p.add_argument("agent", nargs="?", help="claude, codex, gemini, cursor or copilot")
    p.set_defaults(func=_run)


def _run(ns: argparse.Namespace) -> int:
    from opsgate.integrations import AGENTS, agent_named
    from opsgate.integrations.doctor import diagnose

    project, home = Path.cwd(), Path.home()
    if ns.agent:
        try:
            agents = [agent_named(ns.agent)]
        except KeyError:
            raise InputError(
                f"unknown agent {ns.agent!r}", hint="agents: claude, codex, gemini, cursor, copilot"
            ) from None
    else:
        agents = [a for a in AGENTS if _configured(a, project, home)]
        if not agents:
            print("FAIL  no agent has opsgate's hook installed")
            print("      fix: opsgate install claude   (or codex, gemini, cursor, copilot)")
            return 1
    failed = False
    for agent in agents:
        report = diagnose(agent, project=project, home=home)
        failed |= not report.ok
        print(f"{'PASS' if report.ok else 'FAIL'}  {agent.title} ({agent.name})")
        for check in report.checks:
            print(f"  {'ok  ' if check.ok else 'FAIL'}  {check.text}")
            if check.fix:
                print(f"        fix: {check.fix}")
    return 1 if failed else 0


def _configured(agent: Any, project: Path, home: Path) -> bool:
    from opsgate.integrations.config import AgentConfigError, config_path, find_ours, load

    for scope in ("project", "user"):
        path = config_path(agent, scope, project=project, home=home)
        try:
            doc = load(path)
            if doc is not None and find_ours(agent, path, doc):
                return True
        except AgentConfigError:
            return True  # let the doctor report the broken file
    return False
