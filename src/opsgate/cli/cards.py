"""``opsgate cards``, ``opsgate approve ID``, ``opsgate deny ID --reason``: the
approval inbox from a terminal, locally or through a server (``--url``).  A thin
client of the control plane: every rule (roles, own requests, typed confirmation,
two approvers, API tokens never approve or deny) is the service's."""

from __future__ import annotations

import argparse
from typing import Any

from opsgate.cli._output import print_json, table
from opsgate.cli.users import common_options

__all__ = ["register"]

_STATES = (
    "pending",
    "approved",
    "executing",
    "completed",
    "failed",
    "denied",
    "expired",
    "cancelled",
    "used",
)
COLUMNS = (("ID", "id"), ("STATE", "state"), ("IMPACT", "impact"),
           ("ENVIRONMENT", "environment"), ("TARGET", "target"),
           ("REQUESTED BY", "requested_by_name"), ("DESCRIPTION", "description"))  # fmt: skip


def register(subparsers: Any) -> None:
    common = common_options()
    cards = subparsers.add_parser("cards", parents=[common], help="list approval cards")
    cards.add_argument(
        "--state",
        action="append",
        choices=_STATES,
        default=[],
        help="repeatable (default: every state)",
    )
    cards.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    cards.set_defaults(func=_cards)
    approve = subparsers.add_parser(
        "approve",
        parents=[common],
        help="approve a card",
        description="Approve a pending card. Destructive cards need the target's name typed "
        "with --confirm; production cards may need a second approver. Exit 4 when the "
        "service refuses (an API token: a person approves, logged in; your own request; a "
        "decided card).",
    )
    approve.add_argument("id")
    approve.add_argument(
        "--confirm", metavar="TEXT", help="the target's name, for destructive cards"
    )
    approve.set_defaults(func=_approve)
    deny = subparsers.add_parser(
        "deny", parents=[common], help="deny a card", description="Deny a pending card."
    )
    deny.add_argument("id")
    deny.add_argument("--reason", required=True, help="why (shown to the requester)")
    deny.set_defaults(func=_deny)


def _admin() -> Any:
    from opsgate.cli._acting import admin

    return admin()


def _cards(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        page = backend.cards(ns.state, ns.limit)
    if ns.json:
        print_json(page["items"])
        return 0
    table(COLUMNS, page["items"])
    for card in page["items"]:  # what happened past the request, under the table
        for line in _after(card):
            print(f"{card['id']}: {line}")
    if page.get("next_cursor"):
        total = page.get("total")
        print(f"… more; raise --limit (total {total if total is not None else '?'})")
    return 0


def _after(card: dict[str, Any]) -> list[str]:
    """What happened past the request: who approved, which retry used it, why it
    closed (a cancellation names the change that closed it)."""
    lines = []
    if card.get("approved_by"):
        lines.append("approved by " + ", ".join(f"{a['name']} at {_clock(a['at'])}"
                                                 for a in card["approved_by"]))  # fmt: skip
    used = card.get("used")
    if used:
        seq = used.get("audit_seq")
        lines.append(f"used by {used.get('by')}'s retry at {_clock(float(used.get('at') or 0))}"
                     + (f" (audit entry {seq})" if seq is not None else ""))  # fmt: skip
    if card.get("reason") and card.get("state") in ("cancelled", "denied", "expired", "failed"):
        lines.append(f"reason: {card['reason']}")
    return lines


def _clock(epoch: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _approve(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        card = backend.approve(ns.id, ns.confirm)
    if ns.json:
        print_json(card)
    elif card["state"] == "pending":
        needed = card["approvers_needed"]
        print(f"card {card['id']}: your approval is in; {needed} approvers needed")
    else:
        print(f"card {card['id']}: {card['state']}")
    return 0


def _deny(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        card = backend.deny(ns.id, ns.reason)
    if ns.json:
        print_json(card)
    else:
        print(f"card {card['id']}: {card['state']}")
    return 0
