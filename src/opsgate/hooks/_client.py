"""The hook's fast path: ask the resident decision service over a Unix socket.

A hook process lives for one call, and Python spends most of that importing the
classifier and opening the audit log.  The resident service (``_daemon``) keeps
both warm; this client costs little more than starting the interpreter.  It
imports nothing beyond the built-in ``_socket`` and ``time`` modules.

Per-user mode (``ask_daemon``): the service is ``$OPSGATE_HOME/run/hook.sock`` and
must run as this user.  When it is missing or dies mid-call, the first caller
starts a new one (``run/start.lock``) and every caller waits briefly for it, so
that a burst of calls does not all decide in-process at once.  Any other failure
returns ``None`` and the caller decides in-process, so the fast path can only ever
be as strict as the slow one.  ``OPSGATE_HOOK_DAEMON`` set to anything but a true
word (``opsgate._boolean``: ``0``, ``false``, ``no``, ``off``, or a typo) always
decides in-process.  A home named by ``OPSGATE_HOME`` that does not exist is never
created here (nor a service started for it): the in-process decision blocks and says
so, since a mistyped path must not become a fresh, rule-less home.

Protected mode (``ask_system``): everything comes from the root-owned configuration
named by the root-owned launcher, never from the environment; the service must run
as the configured service user; anything short of its answer is a block.
"""

from __future__ import annotations

# `_socket`, not `socket`: socket.py imports selectors and enum (about 7 ms), and this
# module runs once per agent tool call.
import _socket
import os
import sys
import time

__all__ = [
    "FORWARDED_ENV",
    "MATCHED_ENV",
    "SystemConfigError",
    "ask_daemon",
    "ask_system",
    "read_system_config",
    "socket_path",
]

PROTOCOL = b"OPSGATE/1"
CONNECT_TIMEOUT = 0.5
REPLY_TIMEOUT = 3.0
HEAL_SECONDS = 2.5  # how long a caller waits for a (re)started service
LOCK_STALE_SECONDS = 10.0  # a start lock this old belongs to a service that never came up
# What selects the context a grant binds to (``_context.CONTEXT_ENV``; a test keeps
# the two equal): the service must see each call's own values, not its own.
CONTEXT_ENV = (
    "RAILS_ENV", "RACK_ENV", "NODE_ENV", "APP_ENV", "FLASK_ENV", "MIX_ENV", "ENVIRONMENT",
    "ASPNETCORE_ENVIRONMENT", "HELM_KUBECONTEXT", "PULUMI_STACK",
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE", "DATABASE_URL",
    "MYSQL_HOST", "MYSQL_TCP_PORT", "REDIS_URL", "MONGODB_URI", "MONGO_URL", "DOCKER_HOST",
    "KUBECONFIG", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "GOOGLE_APPLICATION_CREDENTIALS",
    "VAULT_ADDR", "NOMAD_ADDR", "CONSUL_HTTP_ADDR", "TF_DATA_DIR",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
    "CLOUDSDK_CONFIG", "CLOUDSDK_ACTIVE_CONFIG_NAME", "CLOUDSDK_CORE_PROJECT",
    "AZURE_CONFIG_DIR", "AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID", "TF_WORKSPACE",
    "DOCKER_CONTEXT", "DOCKER_CONFIG",
)  # fmt: skip
# git's configuration from the environment, which decides what a push sends
# (``classify.families._git_pushcfg``; a ``GIT_CONFIG_KEY_n`` beyond these is unknown).
GIT_CONFIG_ENV = (
    "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT", "XDG_CONFIG_HOME",
    *(f"GIT_CONFIG_{part}_{n}" for n in range(8) for part in ("KEY", "VALUE")),
)  # fmt: skip
# Per-request settings the service applies to the call.
FORWARDED_ENV = (
    "CLAUDE_PROJECT_DIR", "OPSGATE_POLICY", "OPSGATE_URL", "OPSGATE_TOKEN", *CONTEXT_ENV,
    *GIT_CONFIG_ENV,
)  # fmt: skip
# Settings the service was started with; a request with other values is refused.
MATCHED_ENV = (
    "OPSGATE_CONFIG",
    "OPSGATE_DATABASE_URL",
    "OPSGATE_AUDIT_KEY",
    "OPSGATE_AUDIT_WITNESS",
    "OPSGATE_AUDIT_CHECKPOINT_EVERY",
    "OPSGATE_AUDIT_CHECKPOINT_SECONDS",
)
# What a protected-mode client sends: where the agent works, nothing that selects
# opsgate's own settings (the service ignores those lines from such a client anyway).
SYSTEM_ENV = ("CLAUDE_PROJECT_DIR",)


class _Gone(Exception):
    """No service, or it went away mid-call: it is (being) restarted; worth waiting."""


class _Refused(Exception):
    """A service that will not answer this request (another user, a RETRY, a hang)."""


class SystemConfigError(Exception):
    """The protected-mode configuration is missing or not root's alone."""


def home() -> str:
    explicit = os.environ.get("OPSGATE_HOME")
    return explicit if explicit else os.path.join(os.path.expanduser("~"), ".opsgate")


def socket_path(base: str | None = None) -> str:
    return os.path.join(base or home(), "run", "hook.sock")


def _request(agent: str, names: tuple[str, ...]) -> bytes:
    from opsgate import __version__

    lines = [b"%s %s %s" % (PROTOCOL, agent.encode(), __version__.encode())]
    for key in names:
        value = os.environ.get(key)
        if value is not None and "\n" not in value:
            lines.append(f"{key}={value}".encode())
    return b"\n".join(lines) + b"\n\n"


# --- per-user mode ------------------------------------------------------------------


def ask_daemon(agent: str, raw: bytes) -> tuple[str, str, int] | None:
    """(stdout, stderr, exit code) from the service, or None to decide in-process."""
    if not _daemon_wanted():
        return None
    path = socket_path()
    if len(path.encode()) > 100:
        return None
    request = _request(agent, FORWARDED_ENV + MATCHED_ENV) + raw
    started = False
    deadline = 0.0
    while True:
        try:
            return _ask(path, request, os.getuid())
        except _Gone:
            pass
        except (_Refused, OSError):
            return None
        now = time.monotonic()
        if not started:
            if _named_home_missing():
                return None
            started, deadline = True, now + HEAL_SECONDS
            _start_daemon()
        elif now >= deadline:
            return None
        time.sleep(0.025)


def _daemon_wanted() -> bool:
    """``OPSGATE_HOOK_DAEMON`` unset, empty or a true word; anything else (a false
    word, a typo) decides in-process.  The parser is imported only when the variable
    is set: the usual call pays nothing for it."""
    flag = os.environ.get("OPSGATE_HOOK_DAEMON")
    if not flag:
        return True
    from opsgate._boolean import parse_bool

    return parse_bool(flag) is True


def _named_home_missing() -> bool:
    """Whether ``OPSGATE_HOME`` names a directory that does not exist (the default home
    is created on the first call; a named one only by ``opsgate init`` or ``install``)."""
    named = os.environ.get("OPSGATE_HOME")
    return named is not None and named != "" and not os.path.isdir(named)


def _start_daemon() -> None:
    """Start the service in the background unless another caller already is: the lock
    file is created exclusively and removed by the service once it listens."""
    base = home()
    run = os.path.join(base, "run")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        os.makedirs(run, mode=0o700, exist_ok=True)
        lock = os.path.join(run, "start.lock")
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            if time.time() - os.stat(lock).st_mtime < LOCK_STALE_SECONDS:
                return  # someone else is starting it: wait for the socket
            os.unlink(lock)
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        import subprocess

        subprocess.Popen(
            [sys.executable, "-m", "opsgate.hooks._daemon", "--home", base],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        return


# --- protected mode -----------------------------------------------------------------


def read_system_config(path: str) -> dict[str, str]:
    """``key=value`` lines of the protected-mode configuration.  The file and its
    directory must be root's and writable by nobody else: anything an agent's user
    could change would let that user choose the service its hook trusts."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SystemConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        stat = os.fstat(fd)
        folder = os.stat(os.path.dirname(path) or "/")
        for what, st in ((path, stat), (os.path.dirname(path), folder)):
            if st.st_uid != 0 or st.st_mode & 0o022:
                raise SystemConfigError(f"{what} must be owned by root and writable by root only")
        data = os.read(fd, 65536)
    finally:
        os.close(fd)
    config = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith("#"):
            config[key.strip()] = value.strip()
    return config


def ask_system(config_path: str, agent: str, raw: bytes) -> tuple[str, str, int] | str:
    """The service's answer, or the reason to block (protected mode never decides here)."""
    try:
        config = read_system_config(config_path)
        path, uid = config["socket"], int(config["service_uid"])
    except (SystemConfigError, KeyError, ValueError) as exc:
        return f"the protected-mode configuration is unusable ({exc}): ask an administrator"
    request = _request(agent, SYSTEM_ENV) + raw
    deadline = 0.0
    while True:
        try:
            return _ask(path, request, uid, retry_is_gone=True)
        except _Gone:
            pass
        except _Refused as exc:
            return str(exc)
        except OSError as exc:
            return f"the opsgate decision service failed ({exc})"
        now = time.monotonic()
        if not deadline:
            deadline = now + HEAL_SECONDS
        elif now >= deadline:
            return (
                "the opsgate decision service is not answering: ask an administrator "
                "to check it (systemctl status opsgate-hook)"
            )
        time.sleep(0.025)


# --- one exchange -------------------------------------------------------------------

_GONE_ERRORS = (FileNotFoundError, ConnectionRefusedError, ConnectionResetError, BrokenPipeError)


def _ask(
    path: str, request: bytes, uid: int, *, retry_is_gone: bool = False
) -> tuple[str, str, int]:
    try:
        reply = _exchange(path, request, uid)
    except _GONE_ERRORS as exc:
        raise _Gone from exc
    except TimeoutError as exc:
        raise _Refused("the opsgate decision service did not answer in time") from exc
    answer = _parse(reply)
    if answer is not None:
        return answer
    if reply.startswith(b"RETRY ") and not retry_is_gone:
        raise _Refused(reply.decode("utf-8", "replace").strip())
    raise _Gone  # a short or garbled reply: the service died mid-call


def _exchange(path: str, request: bytes, uid: int) -> bytes:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(path)
        _check_peer(sock, uid)
        sock.settimeout(REPLY_TIMEOUT)
        sock.sendall(request)
        sock.shutdown(_socket.SHUT_WR)
        deadline = time.monotonic() + REPLY_TIMEOUT  # for the whole reply: a dribble hangs
        chunks = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the reply took too long")
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    return b"".join(chunks)


def _check_peer(sock: _socket.socket, uid: int) -> None:
    """The service must run as ``uid``: this user (per-user mode, where the socket
    directory is 0700 as well) or the configured service user (protected mode)."""
    so_peercred = getattr(_socket, "SO_PEERCRED", None)
    if so_peercred is None:
        return
    creds = sock.getsockopt(_socket.SOL_SOCKET, so_peercred, 12)
    if int.from_bytes(creds[4:8], sys.byteorder) != uid:
        raise _Refused(
            "the decision service's socket is served by another user than the one opsgate "
            "trusts: refused"
        )


def _parse(reply: bytes) -> tuple[str, str, int] | None:
    head, sep, rest = reply.partition(b"\n")
    parts = head.split()
    if not sep or len(parts) != 4 or parts[0] != b"OK":
        return None
    try:
        code, out_len, err_len = int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return None
    if code not in (0, 2) or out_len < 0 or err_len < 0 or out_len + err_len != len(rest):
        return None
    out = rest[:out_len].decode("utf-8", "replace")
    err = rest[out_len:].decode("utf-8", "replace")
    return out, err, code
