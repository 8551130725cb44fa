"""``opsgate inventory list|add|remove``: the targets the engine resolves
environments and access levels from.  A thin client of the control plane, locally
or through a server (``--url``)."""

from __future__ import annotations

import argparse
from typing import Any

from opsgate.cli._output import print_json, table
from opsgate.cli.users import common_options

__all__ = ["register"]


def register(subparsers: Any) -> None:
    common = common_options()
    parser = subparsers.add_parser("inventory", help="servers, sites, databases, backups, clusters")
    sub = parser.add_subparsers(dest="inventory_command", metavar="SUBCOMMAND", required=True)
    lst = sub.add_parser("list", parents=[common], help="list targets")
    lst.set_defaults(func=_list)
    add = sub.add_parser("add", parents=[common], help="add or replace a target")
    add.add_argument("name")
    add.add_argument(
        "--kind", required=True, choices=("server", "site", "database", "backup", "cluster")
    )
    add.add_argument("--env", required=True, help="production, staging, development, local")
    add.add_argument("--access", choices=("full", "read_only", "no_access"), default="full")
    add.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="PATTERN",
        help="repeatable: host names, globs (*.prod.example.com), IPs",
    )
    _connection_options(add)
    add.set_defaults(func=_add)
    remove = sub.add_parser("remove", parents=[common], help="remove a target")
    remove.add_argument("name")
    remove.set_defaults(func=_remove)


# How the executor reaches the target (docs/execution.md).  Credentials (--key,
# --set dsn=…/token=…/password=…/backup_key=…) are ``secret:NAME`` references only.
_CONNECTION_FLAGS = (
    ("--host", "host", "host name or address (SSH)"),
    ("--port", "port", "SSH port (default 22)"),
    ("--ssh-user", "user", "the operating account (SSH)"),
    ("--key", "key", "its private key, as secret:NAME (opsgate secrets set NAME)"),
    ("--host-key", "host_key", "pinned SSH host key ('ssh-ed25519 AAAA…')"),
)


def _connection_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("connection (how the executor reaches the target)")
    for flag, key, text in _CONNECTION_FLAGS:
        group.add_argument(flag, dest=f"conn_{key}", metavar=key.upper(), help=text)
    group.add_argument(
        "--set",
        dest="conn_set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="repeatable: any other setting (dsn, url, token, known_hosts, backup_user, "
        "backup_key, backup_dir, runner); credentials as secret:NAME",
    )


def _connection(ns: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    from opsgate.errors import InputError

    found = {key: getattr(ns, f"conn_{key}") for _, key, _ in _CONNECTION_FLAGS}
    for item in ns.conn_set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects KEY=VALUE, got {key.strip() or '='!r}")
        found[key.strip()] = value
    if found.get("port") is not None and not str(found["port"]).isdigit():
        raise InputError("--port must be a number")
    return tuple(sorted((k, v) for k, v in found.items() if v is not None))


COLUMNS = (("NAME", "name"), ("KIND", "kind"), ("ENVIRONMENT", "environment"),
           ("ACCESS", "access"), ("MATCH", "match"))  # fmt: skip


def _admin() -> Any:
    from opsgate.cli._acting import admin

    return admin()


def _list(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        targets = backend.targets()
    print_json(targets) if ns.json else table(COLUMNS, targets)
    return 0


def _add(ns: argparse.Namespace) -> int:
    from opsgate.errors import InputError
    from opsgate.models import Environment

    try:
        env = Environment.parse(ns.env)
    except ValueError as exc:
        raise InputError(str(exc), hint="use production, staging, development or local") from exc
    body = {"kind": ns.kind, "environment": env.label, "access": ns.access,
            "match": list(ns.match), "connection": dict(_connection(ns))}  # fmt: skip
    with _admin() as backend:
        saved = backend.put_target(ns.name, body)
    if ns.json:
        print_json(saved)
    else:
        print(f"{saved['name']}: {saved['kind']}, {saved['environment']}, access {saved['access']}")
    return 0


def _remove(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        backend.delete_target(ns.name)
    if ns.json:
        print_json({"removed": ns.name})
    else:
        print(f"removed {ns.name}")
    return 0
