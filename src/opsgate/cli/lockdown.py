"""``opsgate lockdown on | off | status``: the red button from a terminal.

``on [--reason …] [--revoke-tokens]``: every agent write is refused on every
replica from the next decision on; pending cards are cancelled and unused grants
revoked (and every agent token, with ``--revoke-tokens``).  ``off [--reason …]``
restores writes — not what was cancelled or revoked.  ``status [--json]`` says
whether it is on, since when, by whom and why.

Who acts: as every administrative command (``--user`` with a password, or
``--token``), locally or through a server (``--url``, ``opsgate login``); locking
needs an admin or owner, lifting an admin or owner logged in as a person
(``--user``), never a token.  ``--json`` prints the API's answer.  Exit codes:
0 done, 4 refused.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from opsgate.cli._output import print_json
from opsgate.cli.users import common_options

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
    status.set_defaults(func=_status)


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


def _admin() -> Any:
    from opsgate.cli._acting import admin

    return admin()


def _on(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        report = backend.lock_down(ns.reason, ns.revoke_tokens)
    if ns.json:
        print_json(report)
        return 0
    when = _when(report["since"])
    if report["renewed"]:
        print(f"opsgate: already locked down since {when} by {report['by']}; swept again")
    else:
        print(f"opsgate: LOCKED DOWN at {when} by {report['by']}")
    tokens = len(report["revoked_tokens"])
    print(
        f"  every agent write is refused on every replica; reads still work\n"
        f"  {len(report['cancelled_cards'])} pending card(s) cancelled, "
        f"{len(report['revoked_grants'])} unused grant(s) revoked"
        + (f", {tokens} agent token(s) revoked" if ns.revoke_tokens else "")
    )
    print("  lift it with: opsgate lockdown off --user NAME --reason '…' (an admin or owner)")
    return 0


def _off(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        report = backend.lift_lockdown(ns.reason)
    if ns.json:
        print_json(report)
        return 0
    print("opsgate: lockdown lifted; agents may propose writes again")
    print("  cancelled cards and revoked grants and tokens stay so: agents propose again")
    return 0


def _status(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        state = backend.lockdown()
    if ns.json:
        keep = ("locked", "by", "role", "reason", "since")
        print_json({k: state[k] for k in keep})
        return 0
    if not state["locked"]:
        print("opsgate: not locked down")
    else:
        reason = state["reason"] or "no reason given"
        print(
            f"opsgate: LOCKED DOWN since {_when(state['since'])} by {state['by']} "
            f"({state['role']}): {reason}"
        )
    return 0
