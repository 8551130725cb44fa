"""The hook's fast path: ask the resident decision service over a Unix socket.

A hook process lives for one call, and Python spends most of that importing the
classifier and opening the audit log.  The resident service (``_daemon``) keeps
both warm; this client costs little more than starting the interpreter.  It
imports nothing beyond the standard library's ``socket``.

Every failure here returns ``None`` and the caller decides in-process, so the
fast path can only ever be as strict as the slow one.  Set ``OPSGATE_HOOK_DAEMON=0``
to always decide in-process.
"""

from __future__ import annotations

# `_socket`, not `socket`: socket.py imports selectors and enum (about 7 ms), and this
# module runs once per agent tool call.
import _socket
import os
import sys

__all__ = ["FORWARDED_ENV", "MATCHED_ENV", "ask_daemon", "socket_path"]

PROTOCOL = b"OPSGATE/1"
CONNECT_TIMEOUT = 0.5
REPLY_TIMEOUT = 3.0
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
# Per-request settings the service applies to the call.
FORWARDED_ENV = (
    "CLAUDE_PROJECT_DIR", "OPSGATE_POLICY", "OPSGATE_URL", "OPSGATE_TOKEN", *CONTEXT_ENV,
)  # fmt: skip
# Settings the service was started with; a request with other values is refused.
MATCHED_ENV = (
    "OPSGATE_DATABASE_URL",
    "OPSGATE_AUDIT_KEY",
    "OPSGATE_AUDIT_WITNESS",
    "OPSGATE_AUDIT_CHECKPOINT_EVERY",
    "OPSGATE_AUDIT_CHECKPOINT_SECONDS",
)


def home() -> str:
    explicit = os.environ.get("OPSGATE_HOME")
    return explicit if explicit else os.path.join(os.path.expanduser("~"), ".opsgate")


def socket_path(base: str | None = None) -> str:
    return os.path.join(base or home(), "run", "hook.sock")


def ask_daemon(agent: str, raw: bytes) -> tuple[str, str, int] | None:
    """(stdout, stderr, exit code) from the service, or None to decide in-process."""
    if os.environ.get("OPSGATE_HOOK_DAEMON", "1") == "0":
        return None
    path = socket_path()
    if len(path.encode()) > 100:
        return None
    from opsgate import __version__

    lines = [b"%s %s %s" % (PROTOCOL, agent.encode(), __version__.encode())]
    for key in FORWARDED_ENV + MATCHED_ENV:
        value = os.environ.get(key)
        if value is not None and "\n" not in value:
            lines.append(f"{key}={value}".encode())
    request = b"\n".join(lines) + b"\n\n" + raw
    try:
        reply = _exchange(path, request)
    except OSError:
        _start_daemon()
        return None
    return _parse(reply)


def _exchange(path: str, request: bytes) -> bytes:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(path)
        _check_peer(sock)
        sock.settimeout(REPLY_TIMEOUT)
        sock.sendall(request)
        sock.shutdown(_socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    return b"".join(chunks)


def _check_peer(sock: _socket.socket) -> None:
    """The service must run as this user (the socket directory is 0700 as well)."""
    so_peercred = getattr(_socket, "SO_PEERCRED", None)
    if so_peercred is None:
        return
    creds = sock.getsockopt(_socket.SOL_SOCKET, so_peercred, 12)
    uid = int.from_bytes(creds[4:8], sys.byteorder)
    if uid != os.getuid():
        raise OSError("the decision service runs as another user")


def _parse(reply: bytes) -> tuple[str, str, int] | None:
    head, sep, rest = reply.partition(b"\n")
    parts = head.split()
    if not sep or len(parts) != 4 or parts[0] != b"OK":
        return None
    try:
        code, out_len, err_len = int(parts[1]), int(parts[2]), int(parts[3])
    except ValueError:
        return None
    if code not in (0, 2) or out_len + err_len != len(rest):
        return None
    out = rest[:out_len].decode("utf-8", "replace")
    err = rest[out_len:].decode("utf-8", "replace")
    return out, err, code


def _start_daemon() -> None:
    """Start the service in the background for the next call; this call is decided
    in-process.  A lock file keeps concurrent hooks from starting several."""
    base = home()
    run = os.path.join(base, "run")
    try:
        os.makedirs(run, mode=0o700, exist_ok=True)
        lock = os.path.join(run, "start.lock")
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            import time

            if time.time() - os.stat(lock).st_mtime < 10:
                return
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
