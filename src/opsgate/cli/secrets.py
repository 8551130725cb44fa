"""``opsgate secrets set NAME | list | delete NAME | rotate-key``: the executor's
credentials (``rotate-key``: ``_secrets_rotate``).

The value of ``set`` is read from stdin (never an argument: argv is visible in
``ps`` and shell history); one trailing newline is dropped, so ``opsgate secrets
set db_dsn < dsn.txt`` and ``printf %s "$V" | opsgate secrets set X`` both work.
Values are encrypted at rest and never printed again.  Setting and deleting
need the admin or owner role; listing shows names and dates (and, to admins,
where each comes from).  Locally or through a server (``--url``).

``set NAME [--timeout S] [--env VAR]… [--check] --from-command -- PROGRAM ARG…``
(owners; ``--from-command`` comes last: everything after it is the command):
the secret lives in an external manager; opsgate stores the command (argv, never
a shell string) and runs it on the server each time the secret is used — ``op
read op://vault/db/password``, ``vault kv get -field=password secret/db``, ``aws
secretsmanager get-secret-value --secret-id db --query SecretString --output
text``.  ``--env`` names server environment variables the command may see (it
sees nothing else but PATH, HOME and LANG).  ``--check`` runs it once now, here,
and reports the value's length — never the value.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from opsgate.cli._output import print_json, table
from opsgate.cli.users import Refused, common_options
from opsgate.errors import InputError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    common = common_options()
    parser = subparsers.add_parser("secrets", help="credentials opsgate uses (names only shown)")
    sub = parser.add_subparsers(dest="secrets_command", metavar="SUBCOMMAND", required=True)
    put = sub.add_parser(
        "set", parents=[common], help="set a secret: its value from stdin, or a helper command"
    )
    put.add_argument("name")
    put.add_argument(
        "--from-command", nargs=argparse.REMAINDER, metavar="-- PROGRAM ARG",
        help="the value comes from running this command (owners); last, after the other options",
    )  # fmt: skip
    put.add_argument("--timeout", type=float, metavar="SECONDS", help="the command's (10; ≤ 60)")
    put.add_argument(
        "--env", action="append", default=[], metavar="VAR",
        help="a server environment variable the command may see (repeatable)",
    )  # fmt: skip
    put.add_argument(
        "--check", action="store_true", help="resolve it once now and report its length"
    )
    put.set_defaults(func=_set)
    lst = sub.add_parser("list", parents=[common], help="list secret names")
    lst.set_defaults(func=_list)
    rm = sub.add_parser("delete", parents=[common], help="delete a secret")
    rm.add_argument("name")
    rm.set_defaults(func=_delete)
    from opsgate.cli._secrets_rotate import add_parser as add_rotate

    add_rotate(sub, common)


def _admin() -> Any:
    from opsgate.cli._acting import admin

    return admin()


def _set(ns: argparse.Namespace) -> int:
    if ns.from_command is not None:
        argv = ns.from_command[1:] if ns.from_command[:1] == ["--"] else ns.from_command
        return _set_command(ns, argv)
    if ns.timeout is not None or ns.env:
        raise InputError(
            "--timeout and --env go with --from-command",
            hint=f"opsgate secrets set {ns.name} --env VAR --from-command -- PROGRAM ARG…",
        )
    value = sys.stdin.read()
    value = value[:-1] if value.endswith("\n") else value
    if not value:
        raise InputError("no value on stdin", hint=f"opsgate secrets set {ns.name} < file")
    with _admin() as backend:
        backend.set_secret(ns.name, value)
        _said(ns, {"name": ns.name, "set": True},
              f"opsgate: secret {ns.name!r} set (use it as secret:{ns.name})")  # fmt: skip
        _check(ns, backend)
    return 0


def _set_command(ns: argparse.Namespace, argv: list[str]) -> int:
    from opsgate.execute.secrets import HelperSpec

    spec = HelperSpec.checked(argv, ns.timeout, ns.env)
    with _admin() as backend:
        backend.set_secret_command(ns.name, spec)
        _said(
            ns, {"name": ns.name, "set": True, "source": "command"},
            f"opsgate: secret {ns.name!r} set to come from {spec.program!r} each time it is "
            f"used (use it as secret:{ns.name})",
        )  # fmt: skip
        _check(ns, backend)
    return 0


def _said(ns: argparse.Namespace, as_json: dict[str, Any], text: str) -> None:
    if ns.json:
        print_json(as_json)
    else:
        print(text)


def _check(ns: argparse.Namespace, backend: Any) -> None:
    if ns.check:
        size = backend.check_secret(ns.name)
        _said(ns, {"name": ns.name, "resolves_to_bytes": size},
              f"opsgate: secret {ns.name!r} resolves to a value of {size} bytes")  # fmt: skip


def _list(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        found = backend.secrets()
    if ns.json:
        print_json(found)
        return 0
    rows = [{**s, "updated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(s["updated_at"])),
             "from": "a command" if s.get("source") == "command" else ""}
            for s in found]  # fmt: skip
    table((("NAME", "name"), ("UPDATED", "updated"), ("FROM", "from")), rows)
    return 0


def _delete(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        if not backend.delete_secret(ns.name):
            raise Refused(f"no secret named {ns.name!r}")
    if ns.json:
        print_json({"name": ns.name, "deleted": True})
    else:
        print(f"opsgate: secret {ns.name!r} deleted")
    return 0
