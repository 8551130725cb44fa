"""``opsgate secrets set NAME | list | delete NAME``: the executor's credentials.

The value of ``set`` is read from stdin (never an argument: argv is visible in
``ps`` and shell history); one trailing newline is dropped, so ``opsgate secrets
set db_dsn < dsn.txt`` and ``printf %s "$V" | opsgate secrets set X`` both work.
Values are encrypted at rest and never printed again.  Setting and deleting
need the admin or owner role; listing shows names and dates only.  Locally or
through a server (``--url``).
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
    put = sub.add_parser("set", parents=[common], help="set a secret; the value is read from stdin")
    put.add_argument("name")
    put.set_defaults(func=_set)
    lst = sub.add_parser("list", parents=[common], help="list secret names")
    lst.set_defaults(func=_list)
    rm = sub.add_parser("delete", parents=[common], help="delete a secret")
    rm.add_argument("name")
    rm.set_defaults(func=_delete)


def _admin() -> Any:
    from opsgate.cli._acting import admin

    return admin()


def _set(ns: argparse.Namespace) -> int:
    value = sys.stdin.read()
    value = value[:-1] if value.endswith("\n") else value
    if not value:
        raise InputError("no value on stdin", hint=f"opsgate secrets set {ns.name} < file")
    with _admin() as backend:
        backend.set_secret(ns.name, value)
    if ns.json:
        print_json({"name": ns.name, "set": True})
    else:
        print(f"opsgate: secret {ns.name!r} set (use it as secret:{ns.name})")
    return 0


def _list(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        found = backend.secrets()
    if ns.json:
        print_json(found)
        return 0
    rows = [{**s, "updated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(s["updated_at"]))}
            for s in found]  # fmt: skip
    table((("NAME", "name"), ("UPDATED", "updated")), rows)
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
