"""``opsgate users …`` and ``opsgate tokens …``; and how every control-plane command
finds out who is acting.

A thin client of :mod:`opsgate.approvals`: these commands open the control plane
(the same store the server uses) and call the service as an authenticated
principal, so the service's role rules apply exactly as over HTTP.  Who acts:
``--token``/``OPSGATE_TOKEN`` (an API token), else ``--user``/``OPSGATE_USER``
with ``OPSGATE_PASSWORD`` or a password prompt.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.errors import InputError, OpsgateError

if TYPE_CHECKING:
    from opsgate.approvals.service import ControlPlane, Principal

__all__ = ["Refused", "acting", "common_options", "register"]

_ROLES = ("viewer", "member", "admin", "owner")


class Refused(OpsgateError):
    """The service refused the request (a role rule, a safeguard, a state conflict)."""

    code = "denied"
    exit_code = 4


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory (default: $OPSGATE_HOME or ~/.opsgate)",
    )
    common.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="act with this API token (default: $OPSGATE_TOKEN)",
    )
    common.add_argument(
        "--user",
        default=argparse.SUPPRESS,
        help="act as this user; password from $OPSGATE_PASSWORD or a prompt",
    )
    return common


@contextmanager
def control_plane(ns: argparse.Namespace) -> Iterator[ControlPlane]:
    from opsgate.approvals.control import open_control_plane

    # OPSGATE_DATABASE_URL wins over --data-dir here (unlike `opsgate audit`, where
    # --data-dir names a local copy): a replica's data directory then holds only its
    # signing key, and its state is the shared database's.
    control = open_control_plane(
        getattr(ns, "data_dir", None), os.environ.get("OPSGATE_DATABASE_URL") or None
    )
    try:
        yield control
    finally:
        close: Callable[[], None] | None = getattr(control, "close", None)
        if close is not None:
            close()


@contextmanager
def acting(ns: argparse.Namespace) -> Iterator[tuple[ControlPlane, Principal]]:
    """The control plane and the principal acting on it; service refusals become
    ``Refused`` (exit 4) with the service's own reason."""
    from opsgate.approvals.model import Denied

    with control_plane(ns) as control:
        try:
            token = getattr(ns, "token", None) or os.environ.get("OPSGATE_TOKEN")
            if token:
                principal = control.token(token)
                if principal is None:
                    raise Refused("the API token is unknown or revoked")
                yield control, principal
                return
            name = getattr(ns, "user", None) or os.environ.get("OPSGATE_USER")
            if not name:
                raise InputError(
                    "who is acting?", hint="pass --token (or set OPSGATE_TOKEN), or --user NAME"
                )
            password = os.environ.get("OPSGATE_PASSWORD")
            if password is None:
                import getpass

                password = getpass.getpass(f"password for {name}: ")
            _, secret = control.login(name, password)
            session = control.session(secret)
            if session is None:
                raise Refused("the login did not produce a session")
            try:
                yield control, session
            finally:
                control.logout(secret)
        except Denied as exc:
            raise Refused(exc.reason) from exc


def register(subparsers: Any) -> None:
    common = common_options()
    users = subparsers.add_parser("users", help="people and their roles")
    sub = users.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)
    add = sub.add_parser("add", parents=[common], help="add a person")
    add.add_argument("name")
    add.add_argument("--role", choices=_ROLES, default="viewer")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password from stdin (default: prompt)",
    )
    add.set_defaults(func=_add_user)
    lst = sub.add_parser("list", parents=[common], help="list people")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_list_users)
    role = sub.add_parser("set-role", parents=[common], help="change a person's role (owners)")
    role.add_argument("name")
    role.add_argument("role", choices=_ROLES)
    role.set_defaults(func=_set_role)

    tokens = subparsers.add_parser("tokens", help="API tokens for agents and automation")
    tsub = tokens.add_subparsers(dest="tokens_command", metavar="SUBCOMMAND", required=True)
    create = tsub.add_parser("create", parents=[common], help="create a token (secret shown once)")
    create.add_argument("name")
    create.add_argument("--role", choices=("agent", *_ROLES), default="agent")
    create.set_defaults(func=_create_token)
    tlist = tsub.add_parser("list", parents=[common], help="list tokens")
    tlist.add_argument("--json", action="store_true")
    tlist.set_defaults(func=_list_tokens)
    revoke = tsub.add_parser("revoke", parents=[common], help="revoke a token")
    revoke.add_argument("id")
    revoke.set_defaults(func=_revoke_token)


def _new_password(ns: argparse.Namespace) -> str:
    if ns.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        import getpass

        password = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != password:
            raise InputError("the passwords differ")
    if len(password) < 8:
        raise InputError("the password is too short", hint="use at least 8 characters")
    return password


def _add_user(ns: argparse.Namespace) -> int:
    from opsgate.approvals.model import Role

    password = _new_password(ns)
    with acting(ns) as (control, me):
        user = control.create_user(me, ns.name, password, Role(ns.role))
    print(f"added {user.name} ({user.role.value}), id {user.id}")
    return 0


def _list_users(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, me):
        users = control.list_users(me)
    rows = [
        {"id": u.id, "name": u.name, "role": u.role.value, "disabled": u.disabled} for u in users
    ]
    _print_rows(rows, ns.json, ("id", "name", "role", "disabled"))
    return 0


def _set_role(ns: argparse.Namespace) -> int:
    from opsgate.approvals.model import Role

    with acting(ns) as (control, me):
        found = [u for u in control.list_users(me) if u.name == ns.name]
        if not found:
            raise InputError(f"no user named {ns.name!r}", hint="opsgate users list")
        user = control.set_role(me, found[0].id, Role(ns.role))
    print(f"{user.name} is now {user.role.value}")
    return 0


def _create_token(ns: argparse.Namespace) -> int:
    from opsgate.approvals.model import Role

    with acting(ns) as (control, me):
        info, secret = control.create_token(me, ns.name, Role(ns.role))
    print(f"token {info.id} ({info.name}, {info.role.value}); the secret, shown only now:")
    print(secret)
    return 0


def _list_tokens(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, me):
        tokens = control.list_tokens(me)
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "role": t.role.value,
            "prefix": t.prefix,
            "revoked": t.revoked,
            "created_by": t.created_by,
        }
        for t in tokens
    ]
    _print_rows(rows, ns.json, ("id", "name", "role", "prefix", "revoked", "created_by"))
    return 0


def _revoke_token(ns: argparse.Namespace) -> int:
    with acting(ns) as (control, me):
        info = control.revoke_token(me, ns.id)
    print(f"revoked token {info.id} ({info.name})")
    return 0


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        import json

        print(json.dumps(rows, indent=2))
        return
    print("  ".join(c.upper() for c in columns))
    for row in rows:
        print("  ".join(str(row[c]) for c in columns))
