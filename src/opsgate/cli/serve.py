"""``opsgate serve``: the control plane's HTTP API; ``opsgate init``: its first owner.

Settings (flags > environment > defaults):

    --host / --port                 127.0.0.1:8470
    --data-dir / OPSGATE_HOME       SQLite file and signing key live here
    OPSGATE_DATABASE_URL            postgresql://… — shared by every replica
    --public-url / OPSGATE_PUBLIC_URL   base of card links (default http://HOST:PORT)
    OPSGATE_WEBHOOK_URL, OPSGATE_WEBHOOK_SECRET, OPSGATE_SLACK_WEBHOOK_URL  notifications
    --log-format / OPSGATE_LOG_FORMAT          text (default) or json (one object per line)
    --metrics-address / OPSGATE_METRICS_ADDRESS  HOST:PORT of a credential-free /metrics

Opening the control plane migrates its schema.  On a first start with no users,
``serve`` creates an owner with a random password: shown once on a terminal, or
else written to ``<data dir>/initial-owner-password`` (mode 0600) — never to a log.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.audit.log import data_dir_from
from opsgate.cli.users import Refused, control_plane
from opsgate.errors import InputError

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
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="text (default), or json: one object per line with the request id "
        "(default: $OPSGATE_LOG_FORMAT or text)",
    )
    serve.add_argument(
        "--metrics-address",
        metavar="HOST:PORT",
        default=None,
        help="also serve /metrics without credentials on this address, e.g. 127.0.0.1:9470 "
        "(default: $OPSGATE_METRICS_ADDRESS; /metrics on the API needs a viewer credential)",
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


LIMIT_CONCURRENCY = 2048  # open connections and requests at once; beyond: 503
PASSWORD_FILE = "initial-owner-password"  # noqa: S105 - a file name


def _login_hint(user: User, password: str, url: str) -> str:
    return (
        f"opsgate: created the owner account {user.name!r} with password: {password}\n"
        f"  open {url} in a browser to log in to the console, or from this machine:\n"
        f"  OPSGATE_USER={user.name} opsgate tokens create my-agent   (an agent token)\n"
        f"  this password is shown only now; store it in your password manager"
    )


def announce_owner(user: User, password: str, url: str, data_dir: Path) -> str:
    """What to print about a generated first-owner password.  The password itself
    goes only to a terminal: when stdout is not one (a service's log, a pipe), it is
    written to a file only this user can read, and the message names the file."""
    if sys.stdout.isatty():
        return _login_hint(user, password, url)
    path = data_dir / PASSWORD_FILE
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.unlink(missing_ok=True)  # a stale file from an earlier store: never reuse its mode
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return (
        f"opsgate: created the owner account {user.name!r}; its password is in {path}\n"
        f"  (readable by this user only). Open {url} and log in as {user.name!r}, store the\n"
        f"  password in your password manager, then delete the file."
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
        where = "the address `opsgate serve` prints"
        print(announce_owner(user, secret, where, data_dir_from(getattr(ns, "data_dir", None))))
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
    log_json = _log_format(ns) == "json"
    metrics_address = _metrics_address(ns)
    if log_json:
        from opsgate.server._logging import configure_json_logging

        configure_json_logging(ns.log_level)
    with control_plane(ns) as control:
        _check_signing_key(control)
        created = create_first_owner(control, "owner")
        if created is not None:
            home = data_dir_from(getattr(ns, "data_dir", None))
            print(announce_owner(*created, public_url, home), flush=True)
        app = create_app(
            control,
            config=AppConfig(
                public_url=public_url,
                expire_interval=ns.expire_interval,
                cookie_secure=_needs_secure_cookie(public_url),
                access_log=log_json,  # uvicorn's own access lines carry no request id
            ),
            notify=NotifyConfig.from_env(),
            executor=_executor(control),
        )
        from opsgate.server._protocol import with_header_timeout

        if metrics_address is not None:
            app.state.og.metrics.serve(*metrics_address)
        limits = app.state.og.config.limits
        logging: dict[str, Any] = {"log_config": None, "access_log": False} if log_json else {}
        config = uvicorn.Config(
            app,
            host=ns.host,
            port=ns.port,
            log_level=ns.log_level,
            **logging,
            lifespan="on",
            server_header=False,
            http=with_header_timeout(limits.header_timeout),  # slow headers: closed
            # Idle keep-alive connections close after 5 s (uvicorn's default), and
            # past this many open connections new requests are answered 503.
            limit_concurrency=LIMIT_CONCURRENCY,
            # Open event streams (the web console's live updates) never finish by
            # themselves: give them a moment on shutdown, then close them.
            timeout_graceful_shutdown=2,
        )
        from opsgate.server._warm import warm_up_and_freeze

        warm_up_and_freeze()  # the classifier loaded and the heap frozen: no GC stalls
        uvicorn.Server(config).run()
    return 0


def _log_format(ns: argparse.Namespace) -> str:
    chosen = ns.log_format or os.environ.get("OPSGATE_LOG_FORMAT") or "text"
    if chosen not in ("text", "json"):
        raise InputError(
            f"OPSGATE_LOG_FORMAT must be text or json, not {chosen!r}",
            hint="unset it for text logs",
        )
    return chosen


def _metrics_address(ns: argparse.Namespace) -> tuple[str, int] | None:
    """(host, port) of the credential-free metrics listener, or None (not served)."""
    given = ns.metrics_address or os.environ.get("OPSGATE_METRICS_ADDRESS") or ""
    if not given:
        return None
    host, sep, port = given.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(
            f"the metrics address must be HOST:PORT, not {given!r}",
            hint="for example 127.0.0.1:9470 (keep it off networks you do not trust)",
        )
    return host.strip("[]") or "127.0.0.1", int(port)


def _check_signing_key(control: ControlPlane) -> None:
    """Replicas of one audit log share one signing key (docs/scale-out.md): say so
    when the newest checkpoint was signed by a key other than this process's, which
    `audit verify` would report as re-signed."""
    from opsgate.audit import AuditLog
    from opsgate.audit.checkpoint import Checkpoint, load_or_create_key, load_public_key

    audit = getattr(control, "audit", None)
    if not isinstance(audit, AuditLog):
        return
    bodies = audit.store.checkpoint_bodies()
    if not bodies:
        return
    newest = Checkpoint.parse(bodies[-1])
    load_or_create_key(audit.key_path)  # the key this server will sign with
    mine = load_public_key(str(audit.key_path))
    if newest.key_id != mine:
        print(
            f"opsgate: warning: the audit log's newest checkpoint (seq {newest.seq}) was signed "
            f"by {newest.key_id}, this server signs with {mine} ({audit.key_path}).\n"
            f"  Replicas sharing one log must share one key: set OPSGATE_AUDIT_KEY to the same "
            f"key file on every replica (docs/scale-out.md). Otherwise `opsgate audit verify`\n"
            f"  needs every replica's public key (--key, repeated).",
            file=sys.stderr,
            flush=True,
        )


def _needs_secure_cookie(public_url: str) -> bool:
    """Secure cookies everywhere but plain-http loopback (a browser would not send a
    Secure cookie back over http, and loopback traffic never leaves the machine)."""
    from urllib.parse import urlsplit

    parts = urlsplit(public_url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    return not (parts.scheme == "http" and loopback)
