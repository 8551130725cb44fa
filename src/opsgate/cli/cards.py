"""``opsgate cards``, ``opsgate approve ID``, ``opsgate deny ID --reason``: the
approval inbox from a terminal.  A thin client of the control plane: every rule
(roles, own requests, typed confirmation, two approvers) is the service's."""

from __future__ import annotations

import argparse
from typing import Any

from opsgate.cli.users import acting, common_options

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
)


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
    cards.add_argument("--limit", type=int, default=50)
    cards.add_argument("--json", action="store_true")
    cards.set_defaults(func=_cards)
    approve = subparsers.add_parser("approve", parents=[common], help="approve a card")
    approve.add_argument("id")
    approve.add_argument(
        "--confirm", metavar="TEXT", help="the target's name, for destructive cards"
    )
    approve.set_defaults(func=_approve)
    deny = subparsers.add_parser("deny", parents=[common], help="deny a card")
    deny.add_argument("id")
    deny.add_argument("--reason", default="", help="why (optional; the agent reads it on the card)")
    deny.set_defaults(func=_deny)


def _cards(ns: argparse.Namespace) -> int:
    from opsgate.approvals.model import CardState
    from opsgate.approvals.service import CardFilter

    filters = CardFilter(states=tuple(CardState(s) for s in ns.state))
    with acting(ns) as (control, me):
        page = control.list_cards(me, filters, limit=ns.limit)
    if ns.json:
        import json

        print(json.dumps([_card_json(c) for c in page.items], indent=2))
        return 0
    print("ID  STATE  IMPACT  ENVIRONMENT  TARGET  REQUESTED BY  DESCRIPTION")
    for c in page.items:
        print(
            f"{c.id}  {c.state.value}  {c.impact.label}  {c.environment.label}  {c.target}  "
            f"{c.requested_by_name}  {c.description}"
        )
    if page.next_cursor:
        print(f"… more; raise --limit (total {page.total if page.total is not None else '?'})")
    return 0


def _card_json(card: Any) -> dict[str, Any]:
    return {
        "id": card.id,
        "state": card.state.value,
        "impact": card.impact.label,
        "environment": card.environment.label,
        "target": card.target,
        "description": card.description,
        "action": card.action,
        "confirm": card.confirm,
        "requested_by": card.requested_by_name,
        "expires_at": card.expires_at,
        "approvals": list(card.approvals),
        "approvers_needed": card.approvers_needed,
        "decided_by": card.decided_by,
        "reason": card.reason,
    }


def _approve(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, me):
        card = control.approve(me, ns.id, ns.confirm)
    if card.state.value == "pending":
        print(f"card {card.id}: your approval is in; {card.approvers_needed} approvers needed")
    else:
        print(f"card {card.id}: {card.state.value}")
    return 0


def _deny(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, me):
        card = control.deny(me, ns.id, ns.reason.strip() or f"denied by {me.name}")
    print(f"card {card.id}: {card.state.value}")
    return 0
