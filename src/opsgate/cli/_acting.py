"""Where an administrative command acts, and as whom.

Where: an explicit ``--data-dir`` acts on that local directory; otherwise the
``url`` setting (``--url``, ``OPSGATE_URL``, the config file) sends the command
through that control plane's HTTP API, unless a ``database_url`` set more explicitly
(the environment over the file) says to open the shared database here.  Without
either, the local data directory.

Who: an explicit ``--token`` or ``--user`` (flags beat the environment, so an
exported agent token never overrides ``--user owner``); then ``OPSGATE_TOKEN``, then
``OPSGATE_USER``; then, through a server, the session of ``opsgate login``; then a
``user`` in the config file.  A person's password comes from ``OPSGATE_PASSWORD`` or
a prompt.  API tokens never approve or deny a card, whatever their role and
whichever path: the service refuses them (a person decides, logged in).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsgate.config import ENV, FLAG, Config, current, data_dir_missing
from opsgate.errors import InputError

if TYPE_CHECKING:
    from opsgate.approvals.service import ControlPlane, Principal
    from opsgate.cli._admin import Local, Remote
    from opsgate.cli._http import Client

__all__ = ["Identity", "admin", "identity", "local_control", "remote_url", "require_data_dir"]

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8470"


def remote_url(config: Config) -> str | None:
    """The control plane to act through, or None to act on local data."""
    url, data_dir = config.value("url"), config.value("data_dir")
    if data_dir.layer == FLAG:
        if url.layer == FLAG:
            raise InputError("--url and --data-dir name two different control planes",
                             hint="pass one of them")  # fmt: skip
        return None
    if not url.is_set:
        return None
    database = config.value("database_url")
    if database.is_set and database.layer > url.layer:
        return None
    return str(url.value)


def require_data_dir(config: Config, *, create: bool = False) -> Path:
    """The local data directory, which must exist unless ``create``: a mistyped path
    must not become a new, empty store.  A shared database keeps its state there."""
    home = config.data_dir
    if home.is_dir() or config.database_url is not None:
        return home
    if create:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        return home
    raise data_dir_missing(config)


# --- who is acting --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    kind: str  # "token" | "user" | "session"
    value: str  # the token, the user name, or the session secret
    source: str

    def __repr__(self) -> str:
        return f"Identity({self.kind} from {self.source})"


def identity(config: Config, url: str | None) -> Identity:
    token, user = config.value("token"), config.value("user")
    if token.layer == FLAG and user.layer == FLAG:
        raise InputError("--token and --user name two different callers", hint="pass one")
    if user.layer == FLAG:
        return Identity("user", str(user.value), user.source)
    if token.layer >= ENV:
        return Identity("token", str(token.value), token.source)
    if user.layer == ENV:
        return Identity("user", str(user.value), user.source)
    if url is not None:
        from opsgate.cli import _session

        found = _session.load(config.data_dir)
        if found is not None and found.url == url.rstrip("/"):
            source = f"the session of `opsgate login` ({found.user})"
            return Identity("session", found.secret, source)
    if user.is_set:
        return Identity("user", str(user.value), user.source)
    raise InputError(
        "who is acting?",
        hint=("opsgate login, or " if url is not None else "")
        + "pass --user NAME (password from OPSGATE_PASSWORD or a prompt) or --token TOKEN",
    )


def password_for(config: Config, name: str) -> str:
    password = config.text("password")
    if password is None:
        import getpass

        hint = "set OPSGATE_PASSWORD, run `opsgate login` first, or act with --token"
        if not sys.stdin.isatty():
            raise InputError(f"no password for {name!r} and no terminal to ask for it", hint=hint)
        try:
            password = getpass.getpass(f"password for {name}: ")
        except EOFError:
            raise InputError(f"no password for {name!r} was given", hint=hint) from None
    return password


def refusal_hint(who: Identity) -> str | None:
    """What to do when acting as ``who`` was refused: an exported agent token is the
    usual surprise (the hook's variable, in the shell of the person)."""
    if who.kind == "token" and who.source.startswith("environment"):
        return ("you are acting with OPSGATE_TOKEN from the environment (API tokens never "
                "approve or deny a card): pass --user NAME, or unset OPSGATE_TOKEN")  # fmt: skip
    if who.kind == "token":
        return ("you are acting with an API token (tokens never approve or deny a card, nor "
                "lift a lockdown): pass --user NAME, or run opsgate login")  # fmt: skip
    return None


# --- the two backends -----------------------------------------------------------------


@contextmanager
def admin(ns: Any = None) -> Iterator[Local | Remote]:
    """The backend every administrative command acts through."""
    config = current()
    url = remote_url(config)
    if url is not None:
        from opsgate.cli._admin import Remote

        with remote_client(config, url) as client:
            yield Remote(client)
        return
    from opsgate.cli._admin import Local

    public_url = config.text("public_url") or DEFAULT_PUBLIC_URL
    with acting_locally(config) as (control, me):
        yield Local(control, me, public_url)


@contextmanager
def remote_client(config: Config, url: str) -> Iterator[Client]:
    """A client acting as the identity the settings name; a password login made here
    is logged out again afterwards."""
    from opsgate.cli._http import Client, Credential, check_url

    url = check_url(url)
    who = identity(config, url)
    if who.kind != "user":
        kind = "token" if who.kind == "token" else "session"
        yield _hinted(Client(url, Credential(kind, who.value, who.source)), who)
        return
    secret = login(url, who.value, password_for(config, who.value))
    client = _hinted(Client(url, Credential("session", secret, who.source)), who)
    try:
        yield client
    finally:
        # A failed logout leaves a session that expires by itself; the answer stands.
        with contextlib.suppress(Exception):
            client.call("DELETE", "/session")


def _hinted(client: Client, who: Identity) -> Client:
    client.refusal_hint = refusal_hint(who)
    return client


def login(url: str, name: str, password: str) -> str:
    """A new session's secret (the server's session cookie)."""
    from opsgate.cli._http import Client

    _, headers, _ = Client(url).call(
        "POST", "/session", {"name": name, "password": password}, raw=True
    )
    for header in headers.get_all("Set-Cookie") or ():
        key, _, rest = header.partition("=")
        if key.strip() == "opsgate_session":
            return str(rest.partition(";")[0])
    raise InputError(f"the control plane at {url} answered the login without a session")


@contextmanager
def local_control(config: Config | None = None, *, create: bool = False) -> Iterator[ControlPlane]:
    """The control plane in this process, on the configured data directory or database."""
    from opsgate.approvals.control import open_control_plane

    config = config or current()
    require_data_dir(config, create=create)
    control = open_control_plane()
    try:
        yield control
    finally:
        close = getattr(control, "close", None)
        if close is not None:
            close()


@contextmanager
def acting_locally(config: Config) -> Iterator[tuple[ControlPlane, Principal]]:
    """The local control plane and the principal acting on it; the service's refusals
    become ``Refused`` (exit 4) with its own reason."""
    # The control plane's modules first: a core install says which extra it lacks
    # before anything else.
    from opsgate.approvals.control import open_control_plane  # noqa: F401
    from opsgate.approvals.model import Denied
    from opsgate.cli.users import Refused

    require_data_dir(config)  # a mistyped path before asking who acts
    who = identity(config, None)
    with local_control(config) as control:
        try:
            if who.kind == "token":
                principal = control.token(who.value)
                if principal is None:
                    raise Refused(f"the API token ({who.source}) is unknown or revoked")
                yield control, principal
                return
            _, secret = control.login(who.value, password_for(config, who.value))
            session = control.session(secret)
            if session is None:
                raise Refused("the login did not produce a session")
            try:
                yield control, session
            finally:
                control.logout(secret)
        except Denied as exc:
            raise Refused(exc.reason, hint=refusal_hint(who)) from exc
