"""``opsgate serve``: the control plane's HTTP API; ``opsgate init``: its first owner.

Settings (flags > environment > config file > defaults; docs/configuration.md):
``data_dir``, ``database_url``, ``policy``, ``public_url``, ``server.*`` (address,
log level, expiry sweep, edge limits), ``audit.*``, ``notify.*``, ``execute.*``.
An explicit data directory must exist (``init`` or ``serve --create`` makes it);
the default ``~/.opsgate`` is created on first start.

Opening the control plane migrates its schema.  On a first start with no users,
``serve`` creates an owner with a random password: shown once on a terminal, or
else written to ``<data dir>/initial-owner-password`` (mode 0600) — never to a log.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.cli._flags import add_setting
from opsgate.cli.users import Refused
from opsgate.errors import InputError

if TYPE_CHECKING:
    from opsgate.approvals.model import User
    from opsgate.approvals.service import ControlPlane

__all__ = ["register"]


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the control plane's HTTP API and web console",
        description="Run the control plane: approval cards, users, tokens, inventory, the "
        "audit trail, the web console and the HTTP API. Every flag is also a setting "
        "(OPSGATE_* or the config file: docs/configuration.md). On a first start with no "
        "users it creates an owner account. Exit 13 when it cannot listen.",
    )
    for key in ("data_dir", "policy", "public_url", "server.host", "server.port",
                "server.log_level", "server.log_format", "server.metrics_address",
                "server.expire_interval"):  # fmt: skip
        add_setting(serve, key)
    serve.add_argument(
        "--create", action="store_true", help="create the data directory if it does not exist"
    )
    serve.set_defaults(func=_serve)

    init = subparsers.add_parser(
        "init",
        help="create the data directory and the first owner account",
        description="Create the data directory (if needed), its database and the first "
        "owner account. The generated password is shown once on a terminal, else written to "
        "<data dir>/initial-owner-password (mode 0600).",
    )
    init.add_argument("--owner", default="owner", metavar="NAME",
                      help="the owner's user name (default: owner)")  # fmt: skip
    add_setting(init, "data_dir")
    init.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (default: generate one)",
    )
    init.add_argument("--json", action="store_true", help="print JSON")
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
    from opsgate.cli._acting import local_control
    from opsgate.config import current

    password = sys.stdin.readline().rstrip("\n") if ns.password_stdin else None
    config = current()
    with local_control(config, create=True) as control:
        created = create_first_owner(control, ns.owner, password)
    if created is None:
        raise Refused(
            "this organisation already has users", hint="add people with `opsgate users add`"
        )
    user, secret = created
    if ns.json:
        from opsgate.cli._output import print_json

        # The password goes to the JSON only when the caller chose it (stdin) or reads a
        # terminal; otherwise to the 0600 file, as for people.
        shown = None if password is None and not sys.stdout.isatty() else secret
        if shown is None:
            announce_owner(user, secret, "", config.data_dir)
        print_json(
            {
                "owner": user.name,
                "data_dir": str(config.data_dir),
                "password": shown,
                "password_file": None if shown else str(config.data_dir / PASSWORD_FILE),
            }
        )
        return 0
    if password is None:
        where = "the address `opsgate serve` prints"
        print(announce_owner(user, secret, where, config.data_dir))
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

    from opsgate.cli._acting import local_control
    from opsgate.config import DEFAULT, current
    from opsgate.server import AppConfig, create_app
    from opsgate.server._edge import EdgeLimits
    from opsgate.server.notify import NotifyConfig

    config = current()
    host, port = config.text("server.host") or "127.0.0.1", config.integer("server.port")
    public_url = config.text("public_url") or f"http://{host}:{port}"
    limits = EdgeLimits(
        max_body=config.integer("server.max_body"),
        body_timeout=config.number("server.body_timeout"),
        header_timeout=config.number("server.header_timeout"),
    )
    log_json = config.text("server.log_format") == "json"
    metrics_address = _metrics_address(config.text("server.metrics_address") or "")
    if log_json:
        from opsgate.server._logging import configure_json_logging

        configure_json_logging(config.text("server.log_level") or "info")
    sock = _listen(host, port)  # before anything else: a second server stops here
    create = ns.create or config.layer("data_dir") == DEFAULT
    with sock, local_control(config, create=create) as control:
        _check_signing_key(control)
        created = create_first_owner(control, "owner")
        if created is not None:
            print(announce_owner(*created, public_url, config.data_dir), flush=True)
        app = create_app(
            control,
            config=AppConfig(
                public_url=public_url,
                expire_interval=config.number("server.expire_interval"),
                cookie_secure=_needs_secure_cookie(public_url),
                limits=limits,
                access_log=log_json,  # uvicorn's own access lines carry no request id
            ),
            notify=NotifyConfig.from_env(),
            executor=_executor(control),
        )
        from opsgate.server._protocol import with_header_timeout

        if metrics_address is not None:
            app.state.og.metrics.serve(*metrics_address)
        logging: dict[str, Any] = {"log_config": None, "access_log": False} if log_json else {}
        server = uvicorn.Config(
            app,
            log_level=config.text("server.log_level"),
            **logging,
            lifespan="on",
            server_header=False,
            http=with_header_timeout(limits.header_timeout),  # slow headers: closed
            # Idle keep-alive connections close after 5 s (uvicorn's default), and
            # past this many open connections new requests are answered 503.
            limit_concurrency=LIMIT_CONCURRENCY,
            # The console's event streams are ended first (graceful_server); any
            # other request gets this long to finish.
            timeout_graceful_shutdown=2,
        )
        from opsgate.server._warm import warm_up_and_freeze
        from opsgate.web import graceful_server

        warm_up_and_freeze()  # the classifier loaded and the heap frozen: no GC stalls
        graceful_server(server, app.state.og.bus).run(sockets=[sock])
    return 0


def _metrics_address(given: str) -> tuple[str, int] | None:
    """(host, port) of the credential-free metrics listener, or None (not served)."""
    if not given:
        return None
    host, sep, port = given.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(
            f"the metrics address must be HOST:PORT, not {given!r}",
            hint="for example 127.0.0.1:9470 (keep it off networks you do not trust)",
        )
    return host.strip("[]") or "127.0.0.1", int(port)


def _listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound here so that an address in use is a clear
    error with its own exit code (13) rather than a log line from uvicorn."""
    from opsgate.errors import CannotListen

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc}",
                           hint="check server.host (--host, OPSGATE_HOST)") from exc  # fmt: skip
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CannotListen(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="another process holds the port (another opsgate serve?): stop it, or pick "
            "another with --port / OPSGATE_PORT",
        ) from exc
    sock.set_inheritable(True)
    return sock


def _check_signing_key(control: ControlPlane) -> None:
    """Every key of ``audit.trusted_keys`` must load (a server that cannot check what
    it was told to trust does not start).  Replicas of one audit log share one
    signing key (docs/scale-out.md): say so when the newest checkpoint was signed by
    a key neither this process's nor a trusted one, which `audit verify` would report
    as re-signed."""
    from opsgate.audit import AuditLog
    from opsgate.audit._trust import previous_key_ids
    from opsgate.audit.checkpoint import Checkpoint, load_or_create_key, load_public_key

    audit = getattr(control, "audit", None)
    if not isinstance(audit, AuditLog):
        return
    trusted = previous_key_ids(audit.trusted_keys)
    bodies = audit.store.checkpoint_bodies()
    if not bodies:
        return
    newest = Checkpoint.parse(bodies[-1])
    load_or_create_key(audit.key_path)  # the key this server will sign with
    mine = load_public_key(str(audit.key_path))
    if newest.key_id != mine and newest.key_id not in trusted:
        print(
            f"opsgate: warning: the audit log's newest checkpoint (seq {newest.seq}) was signed "
            f"by {newest.key_id}, this server signs with {mine} ({audit.key_path}).\n"
            f"  Replicas sharing one log must share one key: set OPSGATE_AUDIT_KEY to the same "
            f"key file on every replica (docs/scale-out.md); after a rotation, or with a key\n"
            f"  per replica, list the other keys' public halves in audit.trusted_keys "
            f"(OPSGATE_AUDIT_TRUSTED_KEYS).",
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
