"""Which decisions a person is offered on a card: exactly those the control plane
would accept, with the reason for any it would refuse ("you requested this",
"waiting for a second approver", the role rule) shown in their place.

The rules are the service's: ``approvals.model.can_approve`` is asked here the way
the control plane asks it when the person clicks, so the page and the server
cannot disagree.  A card requested through an API token counts as requested by
the person who created the token (nobody approves their own request by another
name).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from opsgate.approvals.model import Card, CardState, Denied, Role, User, can_approve
from opsgate.approvals.service import Principal, TokenInfo
from opsgate.web._present import Offer

__all__ = ["offer", "own_tokens"]


def own_tokens(me: Principal, tokens: Iterable[TokenInfo]) -> dict[str, str]:
    """token id → name, of the tokens ``me`` created (from ``list_tokens``)."""
    return {t.id: t.name for t in tokens if t.created_by == me.id}


def offer(me: Principal | None, card: Card, mine: Mapping[str, str], now: float) -> Offer:
    """``mine``: the ids and names of the API tokens ``me`` created."""
    if card.state is not CardState.PENDING or card.expired(now):
        return Offer()
    if me is None or me.role in (Role.VIEWER, Role.AGENT):
        role = me.role.value if me else "none"
        return Offer(why=f"Read only: your role ({role}) cannot approve or deny.")
    user = me.user or User(id=me.id, name=me.name, role=me.role)
    if card.requested_by == user.id:
        return Offer(why="You requested this; another person decides.")
    token = mine.get(card.requested_by)
    if token is not None:
        return Offer(why=f"You requested this through your token {token}; another person decides.")
    try:  # whoever may approve may deny, a first approver included
        can_approve(user, dataclasses.replace(card, approvals=()), now=now)
    except Denied as exc:
        return Offer(why=_sentence(exc.reason))
    if user.id in card.approvals:
        return Offer(
            deny=True,
            why=f"You approved ({len(card.approvals)} of {card.approvers_needed}); "
            "waiting for a second approver.",
        )
    try:
        can_approve(user, card, now=now)
    except Denied as exc:
        return Offer(deny=True, why=_sentence(exc.reason))
    return Offer(allow=True, deny=True)


def _sentence(reason: str) -> str:
    reason = reason.strip()
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")
