"""``opsgate serve``: the control plane's HTTP API; ``opsgate init``: its first owner.

Settings (flags > environment > defaults):

    --host / --port                 127.0.0.1:8470
    --data-dir / OPSGATE_HOME       SQLite file and signing key live here
    OPSGATE_DATABASE_URL            postgresql://… — shared by every replica
    --public-url / OPSGATE_PUBLIC_URL   base of card links (default http://HOST:PORT)
    OPSGATE_WEBHOOK_URL, OPSGATE_WEBHOOK_SECRET, OPSGATE_SLACK_WEBHOOK_URL  notifications

Opening the control plane migrates its schema.  On a first start with no users,
``serve`` creates an owner with a random password and prints it, once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.cli.users import Refused, control_plane

if TYPE_CHECKING:
    from opsgate.approvals.model import User
    from opsgate.approvals.service import ControlPlane

__all__ = ["register"]


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the control plane's HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8470)
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory (default: $OPSGATE_HOME or ~/.opsgate)",
    )
    serve.add_argument(
        "--public-url",
        help="base URL of card links (default: $OPSGATE_PUBLIC_URL or http://HOST:PORT)",
    )
    serve.add_argument(
        "--expire-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often pending cards past their TTL are expired",
    )
    serve.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    serve.set_defaults(func=_serve)

    init = subparsers.add_parser("init", help="create the first owner account")
    init.add_argument("--owner", default="owner", metavar="NAME")
    init.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    init.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (default: generate one)",
    )
    init.set_defaults(func=_init)


def create_first_owner(
    control: ControlPlane, name: str, password: str | None = None
) -> tuple[User, str] | None:
    """The owner account, or None when the organisation already has people (the
    service refuses an actor-less ``create_user`` then)."""
    import secrets

    from opsgate.approvals.model import Denied, Role

    password = password or secrets.token_urlsafe(18)
    try:
        user = control.create_user(None, name, password, Role.OWNER)
    except Denied:
        return None
    return user, password


def _login_hint(user: User, password: str, url: str) -> str:
    return (
        f"opsgate: created the owner account {user.name!r} with password: {password}\n"
        f"  open {url} in a browser to log in to the console, or from this machine:\n"
        f"  OPSGATE_USER={user.name} opsgate tokens create my-agent   (an agent token)\n"
        f"  this password is shown only now; store it in your password manager"
    )


def _init(ns: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if ns.password_stdin else None
    with control_plane(ns) as control:
        created = create_first_owner(control, ns.owner, password)
    if created is None:
        raise Refused(
            "this organisation already has users", hint="add people with `opsgate users add`"
        )
    user, secret = created
    if password is None:
        print(_login_hint(user, secret, "the address `opsgate serve` prints"))
    else:
        print(f"opsgate: created the owner account {user.name!r} with the password you gave")
    return 0


def _executor(control: ControlPlane) -> Any:
    """Governed execution (runs approved operation cards) on the SQL control plane."""
    from opsgate.approvals.control import SqlControlPlane
    from opsgate.execute import Executor

    return Executor(control) if isinstance(control, SqlControlPlane) else None


def _serve(ns: argparse.Namespace) -> int:
    import uvicorn

    from opsgate.server import AppConfig, create_app
    from opsgate.server.notify import NotifyConfig

    public_url = (
        ns.public_url or os.environ.get("OPSGATE_PUBLIC_URL") or (f"http://{ns.host}:{ns.port}")
    )
    with control_plane(ns) as control:
        created = create_first_owner(control, "owner")
        if created is not None:
            print(_login_hint(*created, public_url), flush=True)
        app = create_app(
            control,
            config=AppConfig(
                public_url=public_url,
                expire_interval=ns.expire_interval,
                cookie_secure=_needs_secure_cookie(public_url),
            ),
            notify=NotifyConfig.from_env(),
            executor=_executor(control),
        )
        config = uvicorn.Config(
            app,
            host=ns.host,
            port=ns.port,
            log_level=ns.log_level,
            lifespan="on",
            server_header=False,
            # The console's event streams are ended first (graceful_server); any
            # other request gets this long to finish.
            timeout_graceful_shutdown=2,
        )
        from opsgate.server._warm import warm_up_and_freeze
        from opsgate.web import graceful_server

        warm_up_and_freeze()  # the classifier loaded and the heap frozen: no GC stalls
        graceful_server(config, app.state.og.bus).run()
    return 0


def _needs_secure_cookie(public_url: str) -> bool:
    """Secure cookies everywhere but plain-http loopback (a browser would not send a
    Secure cookie back over http, and loopback traffic never leaves the machine)."""
    from urllib.parse import urlsplit

    parts = urlsplit(public_url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    return not (parts.scheme == "http" and loopback)
