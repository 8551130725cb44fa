"""``opsgate ops``: the executor's catalog of governed operations from a terminal.

``list`` and ``show`` read the catalog (the built-ins, ``$OPSGATE_HOME/operations``
and ``$OPSGATE_OPERATIONS``; no credentials needed: it holds none).  With a control
plane's ``url``, every subcommand goes through its HTTP API instead (``_ops_remote``).  ``propose``,
``run``, ``status`` and ``undo`` act as an authenticated principal through the same
executor and control plane as the HTTP API and the MCP server, so the same rules
apply: the policy decides, a write becomes a card a person approves (an agent token
never approves), and ``opsgate serve`` runs it once approved.

Exit codes: 0 done (a card was created, a read ran, a status was shown); 4 the
service refused (a deny, a role rule, another agent's card); 2 bad parameters.
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from opsgate.cli.users import Refused, acting, common_options
from opsgate.errors import InputError

__all__ = ["register"]

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8470"


def register(subparsers: Any) -> None:
    common = common_options()  # with --json
    parser = subparsers.add_parser("ops", help="governed operations: list, propose, follow, undo")
    sub = parser.add_subparsers(dest="ops_command", metavar="SUBCOMMAND", required=True)
    lst = sub.add_parser("list", parents=[common], help="the operations this opsgate can run")
    lst.set_defaults(func=_list)
    show = sub.add_parser("show", parents=[common], help="one operation's parameters and steps")
    show.add_argument("name")
    show.set_defaults(func=_show)
    for verb, text in (
        ("propose", "propose an operation: a write becomes an approval card"),
        ("run", "run a read operation the policy allows, now"),
    ):
        p = sub.add_parser(verb, parents=[common], help=text)
        p.add_argument("name")
        p.add_argument("--target", required=True, help="an inventory target's name")
        p.add_argument(
            "--param", action="append", default=[], metavar="KEY=VALUE", help="repeatable"
        )
        p.add_argument("--reasoning", default="", help="why: shown to the approver")
        p.add_argument("--public-url", help="base of card links (default: $OPSGATE_PUBLIC_URL)")
        p.set_defaults(func=_propose if verb == "propose" else _run)
    status = sub.add_parser("status", parents=[common], help="a card's state and its result")
    status.add_argument("card")
    status.set_defaults(func=_status)
    undo = sub.add_parser(
        "undo", parents=[common], help="propose the recorded rollback of a finished card"
    )
    undo.add_argument("card")
    undo.add_argument("--reasoning", default="")
    undo.add_argument("--public-url", help="base of card links (default: $OPSGATE_PUBLIC_URL)")
    undo.set_defaults(func=_undo)


# --- the catalog ------------------------------------------------------------------------------


def _catalog(ns: argparse.Namespace) -> Any:
    from opsgate.audit.log import data_dir_from
    from opsgate.execute.catalog import load_catalog

    return load_catalog(data_dir_from(getattr(ns, "data_dir", None)))


def _list(ns: argparse.Namespace) -> int:
    from opsgate.cli import _ops_remote

    address = _ops_remote.url()
    if address is not None:
        ops = _ops_remote.catalog(address)
    else:
        ops = [op.to_json() for op in _catalog(ns).list()]
    if ns.json:
        print(json.dumps(ops, indent=2))
        return 0
    rows = [(o["name"], o["effect"], o["impact"], ",".join(o["targets"]), o["description"])
            for o in ops]  # fmt: skip
    _table(("NAME", "EFFECT", "IMPACT", "TARGETS", "DESCRIPTION"), rows)
    return 0


def _show(ns: argparse.Namespace) -> int:
    from opsgate.cli import _ops_remote

    address = _ops_remote.url()
    if address is not None:  # the server's catalog: the contract, without its steps
        found = [o for o in _ops_remote.catalog(address) if o["name"] == ns.name]
        if not found:
            raise InputError(f"no operation named {ns.name!r} on {address}",
                             hint="opsgate ops list")  # fmt: skip
        print(json.dumps(found[0], indent=2))
        return 0
    op = _catalog(ns).get(ns.name)
    data = op.to_json()
    data["steps"] = {runner: [_step(s) for s in steps] for runner, steps in op.steps.items()}
    data["verify"] = {runner: [_step(s) for s in steps] for runner, steps in op.verify.items()}
    if ns.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{op.name} — {op.description}")
    print(f"  effect {data['effect']}, impact {data['impact']}, targets {', '.join(op.targets)}"
          + (", backup first" if op.requires_backup else ""))  # fmt: skip
    for name, param in data["params"].items():
        facts = [param["type"], "required" if param.get("required") else "optional"]
        facts += [f"{k} {v}" for k, v in param.items() if k not in ("type", "required")]
        print(f"  --param {name}=…  ({', '.join(str(f) for f in facts)})")
    for title in ("steps", "verify"):
        for runner, steps in data[title].items():
            for step in steps:
                print(f"  {title} [{runner}]: {step}")
    print(f"  rollback: {data['rollback']}")
    return 0


def _step(step: Any) -> str:
    if step.sql:
        return f"SQL {step.sql}"
    if step.argv:  # one element, one argument: quoted only where a space would split it
        return " ".join(shlex.quote(a) if not a or any(c.isspace() for c in a) else a
                        for a in step.argv)  # fmt: skip
    return f"{step.method} {step.path}"


# --- acting through the executor ----------------------------------------------------------


def _params(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"bad --param {pair!r}", hint="use --param KEY=VALUE")
        out[key.strip()] = value
    return out


def _link(ns: argparse.Namespace, card_id: str) -> str:
    from opsgate.config import current

    base = getattr(ns, "public_url", None) or current().text("public_url")
    return f"{(base or DEFAULT_PUBLIC_URL).rstrip('/')}/cards/{card_id}"


def _executor(control: Any) -> Any:
    from opsgate.execute import Executor

    return Executor(control)


def _propose(ns: argparse.Namespace) -> int:
    from opsgate.cli import _ops_remote

    params = _params(ns.param)
    if (address := _ops_remote.url()) is not None:
        return _ops_remote.propose(ns, address, params)
    with acting(ns) as (control, me):
        result = _executor(control).propose_operation(me, ns.name, ns.target, params, ns.reasoning)
    return _proposed(ns, result)


def _undo(ns: argparse.Namespace) -> int:
    from opsgate.cli import _ops_remote

    if (address := _ops_remote.url()) is not None:
        return _ops_remote.undo(ns, address)
    with acting(ns) as (control, me):
        result = _executor(control).undo(me, ns.card, ns.reasoning)
    return _proposed(ns, result)


def _proposed(ns: argparse.Namespace, result: Any) -> int:
    decision = result.decision
    card = _card_json(result.card, _link(ns, result.card.id)) if result.card else None
    if ns.json:
        print(json.dumps({"decision": decision.to_json(), "card": card,
                          "link": card["link"] if card else None}, indent=2))  # fmt: skip
    elif card is not None:
        print(f"card {card['id']}: {card['state']} — {card['description']}")
        print(f"  impact {card['impact']}, environment {card['environment']}, "
              f"requested by {card['requested_by']}")  # fmt: skip
        print(f"  command: {card['action'].get('command', '')}")
        print(f"  rollback: {card['rollback'] or '(none)'}")
        if card["confirm"]:
            print(f"  the approver must type: {card['confirm']}")
        print(f"  approve: opsgate approve {card['id']}   open: {card['link']}")
    else:
        print(f"{decision.verdict.value.upper()} (decided by {decision.decided_by})")
        for reason in decision.reasons:
            print(f"  {reason}")
    if decision.verdict.value == "deny":
        if ns.json:
            return Refused.exit_code
        raise Refused(" ".join(decision.reasons) or "denied", hint=decision.suggestion)
    return 0


def _run(ns: argparse.Namespace) -> int:
    import asyncio

    from opsgate.cli import _ops_remote

    params = _params(ns.param)
    if (address := _ops_remote.url()) is not None:
        data = _ops_remote.run(ns, address, params)
        return _result(ns, data, refused=data.get("status") == "refused")
    with acting(ns) as (control, me):
        executor = _executor(control)
        result = asyncio.run(executor.run_read_only(me, ns.name, ns.target, params))
    return _result(ns, result.to_json(), refused=result.status == "refused")


def _status(ns: argparse.Namespace) -> int:
    from opsgate.cli import _ops_remote

    if (address := _ops_remote.url()) is not None:
        c, found = _ops_remote.status(address, ns.card)
        return _print_status(ns, c, found)
    from opsgate.approvals._describe import shown

    with acting(ns) as (control, me):
        card = shown(control.get_card(me, ns.card))
        result = _executor(control).result(me, ns.card)
    c = _card_json(card, _link(ns, card.id))
    return _print_status(ns, c, result.to_json() if result is not None else None)


def _print_status(ns: argparse.Namespace, c: dict[str, Any], found: dict[str, Any] | None) -> int:
    if ns.json:
        print(json.dumps({"card": c, "result": found}, indent=2))
        return 0
    print(f"card {c['id']}: {c['state']} — {c['description']}")
    if c["decided_by"]:
        print(f"  decided by {c['decided_by']}" + (f": {c['reason']}" if c["reason"] else ""))
    if found is not None:
        _print_result(found)
    return 0


def _result(ns: argparse.Namespace, data: dict[str, Any], *, refused: bool) -> int:
    if ns.json:
        print(json.dumps(data, indent=2))
    else:
        _print_result(data)
    if refused:
        if ns.json:
            return Refused.exit_code
        raise Refused(data.get("reason") or "refused by the policy")
    return 0


def _print_result(r: dict[str, Any]) -> None:
    facts = [f"{r['status']}"]
    if r.get("exit_status") is not None:
        facts.append(f"exit {r['exit_status']}")
    if r.get("duration") is not None:
        facts.append(f"{r['duration']:.2f} s")
    print(f"  {r.get('operation', '')} on {r.get('target', '')}: {', '.join(facts)}")
    if r.get("reason"):
        print(f"  reason: {r['reason']}")
    for line in (r.get("output") or "").splitlines()[-20:]:
        print(f"  | {line}")


def _card_json(card: Any, link: str) -> dict[str, Any]:
    from opsgate.approvals._describe import shown

    card = shown(card)  # agent-controlled text, redacted on its way out
    return {
        "id": card.id,
        "state": card.state.value,
        "description": card.description,
        "target": card.target,
        "environment": card.environment.label,
        "impact": card.impact.label,
        "action": dict(card.action),
        "rollback": card.rollback,
        "confirm": card.confirm,
        "requested_by": card.requested_by_name,
        "approvals": list(card.approvals),
        "approvers_needed": card.approvers_needed,
        "decided_by": card.decided_by,
        "reason": card.reason,
        "expires_at": card.expires_at,
        "link": link,
    }


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        cells = [str(x).ljust(w) for x, w in zip(row[:-1], widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))
