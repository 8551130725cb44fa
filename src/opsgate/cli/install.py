"""``opsgate install|uninstall <agent>``: put opsgate's hook into a coding agent's
configuration, or take it out again.

A thin client of :mod:`opsgate.integrations.config`: the change is computed first,
shown as a unified diff, and written atomically with a backup of the previous file.
With ``--system`` (as root), a thin client of :mod:`opsgate.system`: protected mode.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from opsgate.errors import InputError

__all__ = ["register"]

_AGENT_HELP = "claude, codex, gemini, cursor or copilot"


def register(sub: Any) -> None:
    install = sub.add_parser(
        "install",
        help="install opsgate's hook into an agent's configuration",
        description="Write or merge the agent's hook configuration so that every relevant "
        "tool call goes through opsgate. Other hooks and settings are kept; re-running is "
        "a no-op. Prints the diff; keeps a backup (<file>.opsgate-backup).",
    )
    _common(install)
    install.add_argument("--dry-run", action="store_true", help="print the diff and write nothing")
    install.add_argument(
        "--python-hook",
        action="store_true",
        help="write the Python launcher (opsgate-hook) even when the C client "
        "(opsgate-hook-fast) can be built",
    )
    install.add_argument(
        "--system-user",
        default=None,
        metavar="NAME",
        help="with --system: the service user (default opsgate; created when missing)",
    )
    install.add_argument(
        "--port",
        type=int,
        default=None,
        help="with --system: the control plane's port on 127.0.0.1 (default 8470)",
    )
    install.add_argument(
        "--no-start",
        action="store_true",
        help="with --system: write the systemd units but do not enable or start them",
    )
    install.add_argument("--json", action="store_true", help="print JSON")
    install.set_defaults(func=_install)
    uninstall = sub.add_parser(
        "uninstall",
        help="remove opsgate's hook from an agent's configuration",
        description="Remove exactly the entries opsgate installed, leaving other hooks.",
    )
    _common(uninstall)
    uninstall.add_argument(
        "--dry-run", action="store_true", help="print the diff and write nothing"
    )
    uninstall.add_argument(
        "--purge",
        action="store_true",
        help="with --system, for the last agent: also remove the data directory (the audit "
        "trail) and the service user if install created it",
    )
    uninstall.add_argument("--json", action="store_true", help="print JSON")
    uninstall.set_defaults(func=_uninstall)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("agent", help=_AGENT_HELP)
    scope = p.add_mutually_exclusive_group()
    scope.add_argument(
        "--user",
        dest="scope",
        action="store_const",
        const="user",
        help="the agent's per-user configuration in your home directory (default)",
    )
    scope.add_argument(
        "--project",
        dest="scope",
        action="store_const",
        const="project",
        help="the configuration of the project in the current directory",
    )
    scope.add_argument(
        "--system",
        dest="scope",
        action="store_const",
        const="system",
        help="protected mode, as root: a dedicated service user owns opsgate's data and "
        "runs its services, and the hook goes into the agent's managed configuration, "
        "where the agent's own user cannot change it (see docs/protected-mode.md)",
    )
    p.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --system: write under DIR as if it were / (packaging, tests); "
        "accounts are still the running system's",
    )
    p.set_defaults(scope="user")


def _target(ns: argparse.Namespace) -> tuple[Any, Path]:
    from opsgate.integrations import agent_named
    from opsgate.integrations.config import config_path

    try:
        agent = agent_named(ns.agent)
    except KeyError:
        raise InputError(f"unknown agent {ns.agent!r}", hint=f"agents: {_AGENT_HELP}") from None
    path = config_path(agent, ns.scope, project=Path.cwd(), home=Path.home())
    return agent, path


def _install(ns: argparse.Namespace) -> int:
    from opsgate.integrations.config import hook_command, plan_install

    if ns.scope == "system":
        return _install_system(ns)
    agent, path = _target(ns)
    created = None if ns.dry_run else _ensure_data_dir()
    change = plan_install(agent, path, hook_command(agent, fast=not ns.python_hook))
    if ns.json:
        return _report_json(change, ns.dry_run, agent, notes=list(agent.notes), created=created)
    if created is not None:
        print(f"created the data directory {created}")
    _report(change, ns.dry_run, f"opsgate's hook for {agent.title}")
    if change.changed and not ns.dry_run:
        for note in agent.notes:
            print(f"note: {note}")
        print(f"next: opsgate doctor {agent.name}   (proves the hook blocks)")
    return 0


def _ensure_data_dir() -> Path | None:
    """Create the hook's data directory (0700) when it is missing; the path when it was
    created.  Installing the hook is a set-up step, like ``init``: the hook refuses
    every call while a data directory named by ``OPSGATE_HOME`` does not exist (a
    typo must not become a fresh home), so the one it will use exists from here on."""
    from opsgate.config import current
    from opsgate.errors import ConfigError

    home = current().data_dir
    if home.is_dir():
        return None
    try:
        home.mkdir(parents=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"cannot create the data directory {home}: {exc.strerror}",
                          hint="check the path and its parent's permissions") from exc  # fmt: skip
    return home


def _uninstall(ns: argparse.Namespace) -> int:
    from opsgate.integrations.config import plan_uninstall

    if ns.scope == "system":
        return _uninstall_system(ns)
    agent, path = _target(ns)
    if ns.json:
        return _report_json(plan_uninstall(agent, path), ns.dry_run, agent, notes=[])
    _report(plan_uninstall(agent, path), ns.dry_run, f"opsgate's hook for {agent.title}")
    return 0


def _system_agent(ns: argparse.Namespace) -> Any:
    from opsgate.integrations import agent_named

    if ns.dry_run:
        raise InputError("--dry-run is not available with --system")
    if ns.json:
        raise InputError("--json is not available with --system (it reports as it goes)")
    try:
        return agent_named(ns.agent)
    except KeyError:
        raise InputError(f"unknown agent {ns.agent!r}", hint=f"agents: {_AGENT_HELP}") from None


def _install_system(ns: argparse.Namespace) -> int:
    from opsgate.system import DEFAULT_PORT, DEFAULT_USER, Layout, Request, install, managed_for

    agent = _system_agent(ns)
    request = Request(
        Layout.at(ns.root),
        agent.name,
        user=ns.system_user or DEFAULT_USER,
        port=ns.port or DEFAULT_PORT,
        python_hook=ns.python_hook,
        start=not ns.no_start,
    )
    install(request, print)
    for note in managed_for(agent.name).caveats:
        print(f"note: {note}")
    print(f"next: opsgate doctor {agent.name}   (says whether {agent.title} is protected)")
    return 0


def _uninstall_system(ns: argparse.Namespace) -> int:
    from opsgate.system import Layout, uninstall

    agent = _system_agent(ns)
    uninstall(Layout.at(ns.root), agent.name, ns.purge, print)
    return 0


def _report_json(
    change: Any, dry_run: bool, agent: Any, *, notes: list[str], created: Path | None = None
) -> int:
    from opsgate.cli._output import print_json
    from opsgate.integrations.config import apply

    backup = apply(change) if change.changed and not dry_run else None
    print_json({"agent": agent.name, "path": str(change.path), "changed": change.changed,
                "written": bool(change.changed and not dry_run), "dry_run": dry_run,
                "backup": str(backup) if backup else None,
                "diff": change.diff() if change.changed else "", "notes": notes,
                "created_data_dir": str(created) if created else None})  # fmt: skip
    return 0


def _report(change: Any, dry_run: bool, what: str) -> None:
    from opsgate.integrations.config import apply

    if not change.changed:
        print(f"{change.path}: already up to date ({what}); nothing to do")
        return
    sys.stdout.write(change.diff())
    if dry_run:
        print(f"dry run: {change.path} was not changed")
        return
    backup = apply(change)
    verb = "removed" if change.after is None else "wrote"
    print(f"{verb} {change.path}" + (f" (backup: {backup})" if backup else ""))
