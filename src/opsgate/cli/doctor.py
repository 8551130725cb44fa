"""``opsgate doctor [agent]``: prove, per agent, that the installed hook blocks a
destructive action, lets a harmless one through, and audits both — and say plainly
whether the agent's own user could undo it (protected mode) or not.

Exit status 0 only when every checked agent passes (with ``--require-protected``,
only when every one is protected too).  Without an agent argument, every agent that
has any opsgate hook configured is checked (none is a failure).
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
        description="Read each agent's hook configuration (project, user and managed), run "
        "the configured hook as the agent would with a destructive canary (never executed) "
        "and a harmless command, check the verdicts and the audit trail, and say whether "
        "the agent is protected or tamperable by its own user. Exit 1 on any failure.",
    )
    p.add_argument("agent", nargs="?", help="claude, codex, gemini, cursor or copilot")
    p.add_argument(
        "--require-protected",
        action="store_true",
        help="fail unless every checked agent is protected (see docs/protected-mode.md)",
    )
    p.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="DIR",
        help="look for protected mode under DIR instead of / (as install --system --root)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per agent, in a list")
    p.set_defaults(func=_run)


def _run(ns: argparse.Namespace) -> int:
    from opsgate.integrations import AGENTS, agent_named
    from opsgate.system import Layout

    project, home, layout = Path.cwd(), Path.home(), Layout.at(ns.root)
    if ns.agent:
        try:
            agents = [agent_named(ns.agent)]
        except KeyError:
            raise InputError(
                f"unknown agent {ns.agent!r}", hint="agents: claude, codex, gemini, cursor, copilot"
            ) from None
    else:
        agents = [a for a in AGENTS if _configured(a, project, home, layout)]
        if not agents and ns.json:
            print("[]")
            return 1
        if not agents:
            print("FAIL  no agent has opsgate's hook installed")
            print("      fix: opsgate install claude   (or codex, gemini, cursor, copilot)")
            print("           sudo opsgate install claude --system   (protected mode)")
            return 1
    results = [_one(agent, project, home, layout, ns.require_protected) for agent in agents]
    if ns.json:
        from opsgate.cli._output import print_json

        print_json([_json(*r) for r in results])
    else:
        for result in results:
            _print(*result)
    return 0 if all(ok for _, _, _, ok in results) else 1


def _one(
    agent: Any, project: Path, home: Path, layout: Any, require_protected: bool
) -> tuple[Any, Any, Any, bool]:
    from opsgate.integrations.doctor import diagnose
    from opsgate.system import protection

    guard = protection(agent.name, layout, home)
    managed = (
        (guard.managed_file, guard.data_dir) if guard.managed_file and guard.data_dir else None
    )
    report = diagnose(agent, project=project, home=home, managed=managed)
    return agent, report, guard, report.ok and (guard.protected or not require_protected)


def _json(agent: Any, report: Any, guard: Any, ok: bool) -> dict[str, Any]:
    return {
        "agent": agent.name,
        "ok": ok,
        "protected": guard.protected,
        "checks": [{"ok": c.ok, "text": c.text, "fix": c.fix} for c in report.checks],
        "protection": [{"ok": f.ok, "text": f.text, "fix": f.fix} for f in guard.findings],
    }


def _print(agent: Any, report: Any, guard: Any, ok: bool) -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {agent.title} ({agent.name})")
    for check in report.checks:
        print(f"  {'ok  ' if check.ok else 'FAIL'}  {check.text}")
        if check.fix:
            print(f"        fix: {check.fix}")
    _print_protection(agent, guard)


def _print_protection(agent: Any, guard: Any) -> None:
    if guard.protected:
        print(f"  PROTECTED: {agent.title}'s own user cannot change or bypass this guard")
        for finding in guard.findings:
            print(f"        {finding.text}")
        return
    print(f"  TAMPERABLE by the agent's own user: {agent.title} could switch this guard off")
    for finding in guard.findings:
        if not finding.ok:
            print(f"        {finding.text}")
    fixes = dict.fromkeys(f.fix for f in guard.findings if f.fix and not f.ok)
    for fix in fixes:
        print(f"        fix: {fix}")


def _configured(agent: Any, project: Path, home: Path, layout: Any) -> bool:
    from opsgate.integrations.config import AgentConfigError, config_path, find_ours, load
    from opsgate.system._managed import load_managed, managed_for

    row = managed_for(agent.name)
    candidates = [
        (config_path(agent, "project", project=project, home=home), load),
        (config_path(agent, "user", project=project, home=home), load),
        (layout.path(row.path), lambda path: load_managed(row, path)),
    ]
    for path, read in candidates:
        try:
            doc = read(path)
            if doc is not None and find_ours(agent, path, doc):
                return True
        except AgentConfigError:
            return True  # let the doctor report the broken file
    return False
