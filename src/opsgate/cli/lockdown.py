"""``opsgate lockdown on | off | status``: the red button from a terminal.

``on [--reason …] [--revoke-tokens]``: every agent write is refused on every
replica from the next decision on; pending cards are cancelled and unused grants
revoked (and every agent token, with ``--revoke-tokens``).  ``off [--reason …]``
restores writes — not what was cancelled or revoked.  ``status [--json]`` says
whether it is on, since when, by whom and why.

Who acts: as every control-plane command (``--user`` with a password, or
``--token``); locking needs an admin or owner, lifting an admin or owner logged
in as a person (``--user``), never a token.  Exit codes: 0 done, 4 refused.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from opsgate.cli.users import acting, common_options

__all__ = ["register"]


def register(subparsers: Any) -> None:
    common = common_options()
    parser = subparsers.add_parser(
        "lockdown", help="lock opsgate down in an incident: every agent write refused"
    )
    sub = parser.add_subparsers(dest="lockdown_command", metavar="SUBCOMMAND", required=True)
    on = sub.add_parser("on", parents=[common], help="lock down (admin, owner)")
    on.add_argument("--reason", default="", help="why; shown to every agent refused")
    on.add_argument(
        "--revoke-tokens", action="store_true", help="also revoke every agent's API token"
    )
    on.set_defaults(func=_on)
    off = sub.add_parser("off", parents=[common], help="lift the lockdown (admin, owner; --user)")
    off.add_argument("--reason", default="", help="why it is safe again")
    off.set_defaults(func=_off)
    status = sub.add_parser("status", parents=[common], help="is opsgate locked down?")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


def _on(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, me):
        report = control.lock_down(me, ns.reason, revoke_tokens=ns.revoke_tokens)
    lock = report.lockdown
    assert lock is not None
    if report.renewed:
        print(f"opsgate: already locked down since {_when(lock.since)} by {lock.by}; swept again")
    else:
        print(f"opsgate: LOCKED DOWN at {_when(lock.since)} by {lock.by}")
    print(
        f"  every agent write is refused on every replica; reads still work\n"
        f"  {len(report.cards)} pending card(s) cancelled, {len(report.grants)} unused grant(s)"
        f" revoked" + (f", {len(report.tokens)} agent token(s) revoked" if ns.revoke_tokens else "")
    )
    print("  lift it with: opsgate lockdown off --user NAME --reason '…' (an admin or owner)")
    return 0


def _off(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, me):
        control.lift_lockdown(me, ns.reason)
    print("opsgate: lockdown lifted; agents may propose writes again")
    print("  cancelled cards and revoked grants and tokens stay so: agents propose again")
    return 0


def _status(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, _me):
        lock = control.lockdown_status()
    if ns.json:
        from opsgate.approvals.service import LockdownReport

        state = LockdownReport(lockdown=lock).to_json()
        keep = ("locked", "by", "role", "reason", "since")
        print(json.dumps({k: state[k] for k in keep}, indent=2))
        return 0
    if lock is None:
        print("opsgate: not locked down")
    else:
        reason = lock.reason or "no reason given"
        print(
            f"opsgate: LOCKED DOWN since {_when(lock.since)} by {lock.by} ({lock.role}): {reason}"
        )
    return 0
