"""``opsgate users …`` and ``opsgate tokens …``; the options every control-plane
command shares (where it acts, who acts: see ``_acting``).

A thin client of the control plane: locally (a machine that holds the data
directory) or through a server's HTTP API (``--url``/``OPSGATE_URL``), as an
authenticated principal, so the service's role rules apply exactly as in the web
console.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opsgate.cli._flags import add_setting
from opsgate.cli._output import print_json, table
from opsgate.errors import EXIT_REFUSED, InputError, OpsgateError

if TYPE_CHECKING:
    from opsgate.approvals.service import ControlPlane, Principal

__all__ = ["Refused", "acting", "common_options", "control_plane", "register"]

_ROLES = ("viewer", "member", "admin", "owner")
USER_COLUMNS = (("ID", "id"), ("NAME", "name"), ("ROLE", "role"), ("DISABLED", "disabled"))
TOKEN_COLUMNS = (("ID", "id"), ("NAME", "name"), ("ROLE", "role"), ("PREFIX", "prefix"),
                 ("REVOKED", "revoked"), ("CREATED BY", "created_by"))  # fmt: skip


class Refused(OpsgateError):
    """The service refused the request (a role rule, a safeguard, a state conflict)."""

    code = "denied"
    exit_code = EXIT_REFUSED


def common_options(*, json_flag: bool = True) -> argparse.ArgumentParser:
    """Where the command acts and as whom (each a setting: see docs/configuration.md)."""
    common = argparse.ArgumentParser(add_help=False)
    for key in ("data_dir", "url", "token", "user"):
        add_setting(common, key)
    if json_flag:
        common.add_argument("--json", action="store_true", help="print JSON")
    return common


@contextmanager
def control_plane(ns: argparse.Namespace | None = None) -> Iterator[ControlPlane]:
    """The local control plane (its data directory must exist)."""
    from opsgate.cli._acting import local_control

    with local_control() as control:
        yield control


@contextmanager
def acting(ns: argparse.Namespace | None = None) -> Iterator[tuple[ControlPlane, Principal]]:
    """The local control plane and the principal acting on it (``ops``, whose
    executor runs here)."""
    from opsgate.cli._acting import acting_locally
    from opsgate.config import current

    with acting_locally(current()) as pair:
        yield pair


def register(subparsers: Any) -> None:
    common = common_options()
    users = subparsers.add_parser("users", help="people and their roles")
    sub = users.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)
    add = sub.add_parser("add", parents=[common], help="add a person")
    add.add_argument("name")
    add.add_argument("--role", choices=_ROLES, default="viewer", help="(default: viewer)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new password from stdin (default: prompt)",
    )
    add.set_defaults(func=_add_user)
    lst = sub.add_parser("list", parents=[common], help="list people")
    lst.set_defaults(func=_list_users)
    role = sub.add_parser("set-role", parents=[common], help="change a person's role (owners)")
    role.add_argument("name")
    role.add_argument("role", choices=_ROLES)
    role.set_defaults(func=_set_role)

    tokens = subparsers.add_parser("tokens", help="API tokens for agents and automation")
    tsub = tokens.add_subparsers(dest="tokens_command", metavar="SUBCOMMAND", required=True)
    create = tsub.add_parser("create", parents=[common], help="create a token (secret shown once)")
    create.add_argument("name")
    create.add_argument("--role", choices=("agent", *_ROLES), default="agent",
                        help="(default: agent)")  # fmt: skip
    create.set_defaults(func=_create_token)
    tlist = tsub.add_parser("list", parents=[common], help="list tokens")
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


def _admin() -> Any:
    from opsgate.cli._acting import admin

    return admin()


def _add_user(ns: argparse.Namespace) -> int:
    password = _new_password(ns)
    with _admin() as backend:
        user = backend.add_user(ns.name, password, ns.role)
    if ns.json:
        print_json(user)
    else:
        print(f"added {user['name']} ({user['role']}), id {user['id']}")
    return 0


def _list_users(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        users = backend.users()
    print_json(users) if ns.json else table(USER_COLUMNS, users)
    return 0


def _set_role(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        found = [u for u in backend.users() if u["name"] == ns.name]
        if not found:
            raise InputError(f"no user named {ns.name!r}", hint="opsgate users list")
        user = backend.set_role(found[0]["id"], ns.role)
    if ns.json:
        print_json(user)
    else:
        print(f"{user['name']} is now {user['role']}")
    return 0


def _create_token(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        created = backend.create_token(ns.name, ns.role)
    if ns.json:
        print_json(created)
        return 0
    info = created["token"]
    print(f"token {info['id']} ({info['name']}, {info['role']}); the secret, shown only now:")
    print(created["secret"])
    return 0


def _list_tokens(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        tokens = backend.tokens()
    print_json(tokens) if ns.json else table(TOKEN_COLUMNS, tokens)
    return 0


def _revoke_token(ns: argparse.Namespace) -> int:
    with _admin() as backend:
        info = backend.revoke_token(ns.id)
    if ns.json:
        print_json(info)
    else:
        print(f"revoked token {info['id']} ({info['name']})")
    return 0
