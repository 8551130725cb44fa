"""``opsgate ops`` through a control plane's HTTP API (``url``): the server's catalog
(``GET /operations``), proposals, reads, a card's state and result, undo — the same
output as locally, from the API's JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

__all__ = ["catalog", "propose", "run", "status", "undo", "url"]


def url() -> str | None:
    from opsgate.cli._acting import remote_url
    from opsgate.config import current

    return remote_url(current())


def _call(address: str, method: str, path: str, body: Any = None) -> Any:
    from opsgate.cli._acting import remote_client
    from opsgate.config import current

    with remote_client(current(), address) as client:
        return client.call(method, path, body)


def catalog(address: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _call(address, "GET", "/operations")
    return found


def _card(card: dict[str, Any]) -> dict[str, Any]:
    """The API's card in the shape ``ops`` prints (the requester by name)."""
    keys = ("id", "state", "description", "target", "environment", "impact", "action",
            "rollback", "confirm", "approvals", "approvers_needed", "decided_by", "reason",
            "expires_at", "link")  # fmt: skip
    return {**{k: card.get(k) for k in keys}, "requested_by": card.get("requested_by_name")}


def _proposed(ns: argparse.Namespace, out: dict[str, Any]) -> int:
    from opsgate.cli.users import Refused

    decision = out["decision"]
    card = _card(out["card"]) if out.get("card") else None
    if ns.json:
        print(json.dumps({"decision": decision, "card": card, "link": out.get("link")}, indent=2))
    elif card is not None:
        print(f"card {card['id']}: {card['state']} — {card['description']}")
        print(f"  impact {card['impact']}, environment {card['environment']}, "
              f"requested by {card['requested_by']}")  # fmt: skip
        print(f"  command: {(card['action'] or {}).get('command', '')}")
        print(f"  rollback: {card['rollback'] or '(none)'}")
        if card["confirm"]:
            print(f"  the approver must type: {card['confirm']}")
        print(f"  approve: opsgate approve {card['id']}   open: {card['link']}")
    else:
        print(f"{decision['decision'].upper()} (decided by {decision.get('decided_by')})")
        for reason in decision.get("reasons") or ():
            print(f"  {reason}")
    if decision["decision"] == "deny":
        if ns.json:
            return Refused.exit_code
        reason = " ".join(decision.get("reasons") or ()) or "denied"
        raise Refused(reason, hint=decision.get("suggestion"))
    return 0


def propose(ns: argparse.Namespace, address: str, params: dict[str, str]) -> int:
    body = {"target": ns.target, "params": params, "reasoning": ns.reasoning}
    out = _call(address, "POST", f"/operations/{quote(ns.name, safe='')}/propose", body)
    return _proposed(ns, out)


def undo(ns: argparse.Namespace, address: str) -> int:
    out = _call(address, "POST", f"/cards/{quote(ns.card, safe='')}/undo",
                {"reasoning": ns.reasoning})  # fmt: skip
    return _proposed(ns, out)


def run(ns: argparse.Namespace, address: str, params: dict[str, str]) -> dict[str, Any]:
    body = {"target": ns.target, "params": params, "reasoning": ns.reasoning}
    result: dict[str, Any] = _call(address, "POST", f"/operations/{quote(ns.name, safe='')}/run",
                                   body)  # fmt: skip
    return result


def status(address: str, card_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from opsgate.cli._acting import remote_client
    from opsgate.config import current
    from opsgate.errors import InputError

    path = f"/cards/{quote(card_id, safe='')}"
    with remote_client(current(), address) as client:
        card = _card(client.get(path))
        try:
            result: dict[str, Any] | None = client.get(f"{path}/result")
        except InputError:  # 404: a card without an operation
            result = None
    return card, result
