"""``opsgate login`` and ``opsgate logout``: a person's session with a control plane
(``--url``, ``OPSGATE_URL`` or ``url`` in the config file), kept in
``$OPSGATE_HOME/session.json`` (0600) for the administrative commands that follow."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from opsgate.cli._flags import add_setting
from opsgate.cli._output import print_json
from opsgate.errors import InputError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    login = subparsers.add_parser(
        "login",
        help="log in to a control plane; later commands act as you",
        description="Log in to the control plane with your password and keep the session "
        "in $OPSGATE_HOME/session.json (mode 0600). Administrative commands (cards, approve, "
        "users, …) then go through that server as you, until `opsgate logout` or the "
        "session expires. OPSGATE_TOKEN or an explicit --token/--user still win over it.",
    )
    for key in ("url", "user"):
        add_setting(login, key)
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (default: OPSGATE_PASSWORD or a prompt)",
    )
    login.add_argument("--json", action="store_true", help="print JSON")
    login.set_defaults(func=_login)
    logout = subparsers.add_parser(
        "logout", help="end the session of opsgate login",
        description="End the session on the control plane and remove the session file.",
    )  # fmt: skip
    logout.add_argument("--json", action="store_true", help="print JSON")
    logout.set_defaults(func=_logout)


def _url() -> str:
    from opsgate.cli._acting import remote_url
    from opsgate.config import current

    url = remote_url(current())
    if url is None:
        raise InputError("which control plane?",
                         hint="pass --url https://opsgate.example, or set OPSGATE_URL or url "
                         "in the config file")  # fmt: skip
    return url


def _login(ns: argparse.Namespace) -> int:
    from opsgate.cli import _session
    from opsgate.cli._acting import login
    from opsgate.cli._http import Client, Credential, check_url
    from opsgate.config import current

    config = current()
    url = check_url(_url())
    name = config.text("user") or input("user: ").strip()
    if ns.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        from opsgate.cli._acting import password_for

        password = password_for(config, name)
    secret = login(url, name, password)
    me = Client(url, Credential("session", secret, "login")).get("/session")
    path = _session.save(config.data_dir, _session.Session(url, name, secret, time.time()))
    role = me["principal"]["role"]
    if ns.json:
        print_json({"url": url, "user": name, "role": role, "session_file": str(path)})
    else:
        print(f"logged in to {url} as {name} ({role}); session in {path}")
    if config.value("token").is_set:
        print(f"note: {config.value('token').source} is set and wins over this session: "
              "unset it to act as yourself", file=sys.stderr)  # fmt: skip
    return 0


def _logout(ns: argparse.Namespace) -> int:
    import contextlib

    from opsgate.cli import _session
    from opsgate.cli._http import Client, Credential
    from opsgate.config import current
    from opsgate.errors import OpsgateError

    home = current().data_dir
    found = _session.load(home)
    ended = False
    if found is not None:
        with contextlib.suppress(OpsgateError):  # unreachable: the file goes all the same
            Client(found.url, Credential("session", found.secret, "logout")).call(
                "DELETE", "/session"
            )
            ended = True
        _session.forget(home)
    if ns.json:
        print_json({"logged_out": found is not None, "session_ended": ended})
    elif found is None:
        print("not logged in")
    else:
        note = "" if ended else " (the server could not be told; the session expires by itself)"
        print(f"logged out of {found.url}{note}")
    return 0
