"""The resident decision service behind the hook's fast path.

Per-user mode: one per user and opsgate home, listening on
``$OPSGATE_HOME/run/hook.sock`` (directory 0700, socket 0600, peers checked with
SO_PEERCRED).  It answers exactly what ``respond`` would answer in-process, with the
classifier loaded and the audit log open.  It refuses (and the hook decides
in-process) when the request's opsgate version or audit settings differ from its own,
and it exits when its own source files change, when its socket is removed or
replaced by another, after ``--idle`` seconds without a request, or on SIGTERM.

    python -m opsgate.hooks._daemon --home ~/.opsgate [--idle 900]

Protected mode (``--system /etc/opsgate/hook.conf``, run by systemd as opsgate's
service user): socket, data directory and the user come from that root-owned file.
Any local user may connect (socket 0666 in a directory only the service user can
write); a request's own opsgate settings (policy, control plane, audit) are ignored,
the caller's home comes from the password database by its uid, and the audit entry
names that OS user.  It never exits when idle (systemd restarts it otherwise).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsgate import __version__
from opsgate.hooks import AGENTS
from opsgate.hooks._client import (
    FORWARDED_ENV,
    MATCHED_ENV,
    PROTOCOL,
    SYSTEM_ENV,
    read_system_config,
    socket_path,
)
from opsgate.hooks._runner import MAX_INPUT

__all__ = ["Service", "main"]

MAX_REQUEST = 1024 * 1024 + 64 * 1024
_AGENTS = {name.encode(): module for name, module in AGENTS.items()}


def _source_fingerprint() -> tuple[int, int]:
    """(newest mtime, file count) of opsgate's own modules: a changed install restarts."""
    root = Path(__file__).resolve().parents[1]
    newest, count = 0, 0
    for path in root.rglob("*.py"):
        try:
            newest = max(newest, path.stat().st_mtime_ns)
        except OSError:
            continue
        count += 1
    return newest, count


class Service:
    def __init__(
        self, home: str, idle: float, *, socket_file: str | None = None, system: bool = False
    ) -> None:
        self.home = home
        self.idle = idle
        self.system = system
        self.path = socket_file or socket_path(home)
        self.fingerprint = _source_fingerprint()
        self.config_stamp: tuple[str, int, int] | None = None  # set when it starts serving
        self.matched = {k: os.environ.get(k) for k in MATCHED_ENV}
        self._environ: dict[str, str] | None = None
        self.last_request = time.monotonic()
        self.stopping = threading.Event()
        self._log: Any = None
        self._log_lock = threading.Lock()
        self._inode = -1
        self._checked = time.monotonic()

    # --- lifecycle ------------------------------------------------------------------------
    def serve(self) -> None:
        self.config_stamp = _config_stamp()
        run = Path(self.path).parent
        if not self.system:  # protected mode: the directory is the installer's (root's)
            run.mkdir(mode=0o700, parents=True, exist_ok=True)
            run.chmod(0o700)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tmp = f"{self.path}.{os.getpid()}"
        try:
            server.bind(tmp)
            # Protected mode: every local user's hook connects; only this user can
            # replace the socket, since only it can write the directory.
            Path(tmp).chmod(0o666 if self.system else 0o600)
            Path(tmp).replace(self.path)  # atomic: never a window with no socket
            self._inode = Path(self.path).stat().st_ino
            server.listen(512)  # a burst of hooks must queue, not be refused
            (run / "start.lock").unlink(missing_ok=True)
            server.settimeout(0.5)
            self._loop(server)
        finally:
            server.close()
            self._unlink_own_socket()
            if self._log is not None:
                self._log.close()

    def _loop(self, server: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                idle = time.monotonic() - self.last_request
                if (self.idle and idle > self.idle) or not self._socket_is_mine():
                    return
                continue
            except OSError:
                return
            self.last_request = time.monotonic()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _socket_is_mine(self) -> bool:
        """Whether the socket path still names this service's socket: once it was
        removed or replaced (another service took over), nobody can reach this one."""
        try:
            return Path(self.path).stat().st_ino == self._inode
        except OSError:
            return False

    def _unlink_own_socket(self) -> None:
        path = Path(self.path)
        try:
            if path.stat().st_ino == self._inode:
                path.unlink()
        except OSError:
            pass

    def _changed(self) -> bool:
        """Whether opsgate's own files or its config file changed (checked at most once
        a second): the audit log was opened with the settings of its start."""
        now = time.monotonic()
        if now - self._checked < 1.0:
            return False
        self._checked = now
        return _source_fingerprint() != self.fingerprint or _config_stamp() != self.config_stamp

    # --- one request ----------------------------------------------------------------------
    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5.0)
                peer = _peer_uid(conn)
                if not self.system and peer not in (None, os.getuid()):
                    return
                request = _read(conn)
                conn.sendall(self._answer(request, peer))
            except OSError:
                return

    def _answer(self, request: bytes, peer: int | None) -> bytes:
        header, _, raw = request.partition(b"\n\n")
        head, _, env_lines = header.partition(b"\n")
        parts = head.split()
        if len(parts) != 3 or parts[0] != PROTOCOL or parts[1] not in _AGENTS:
            return b"RETRY bad-request\n"
        if self._changed():
            self.stopping.set()  # a new install: the next caller starts (systemd restarts) it
            return b"RETRY version\n"
        if parts[2].decode() != __version__:
            if not self.system:  # a client of another version cannot make systemd loop it
                self.stopping.set()
            return b"RETRY version\n"
        env = _env(env_lines)
        if self.system:
            return _frame(*self._respond(_AGENTS[parts[1]], raw, self._system_env(env, peer), peer))
        if {k: env.get(k) for k in MATCHED_ENV} != self.matched:
            return b"RETRY settings\n"
        merged = dict(self._own_env())
        merged.update(env)
        merged["OPSGATE_HOME"] = self.home
        return _frame(*self._respond(_AGENTS[parts[1]], raw, merged, None))

    def _own_env(self) -> dict[str, str]:
        """The service's own environment but what callers send, read once: decoding
        the whole process environment for every request costs more than a decision."""
        if self._environ is None:
            self._environ = {k: v for k, v in os.environ.items() if k not in FORWARDED_ENV}
        return self._environ

    def _system_env(self, env: Mapping[str, str], peer: int | None) -> dict[str, str]:
        """The environment a protected-mode decision sees: the service's own settings
        (never the caller's choice of policy, control plane or audit log), where the
        caller works, and the caller's home and name from the password database."""
        merged = dict(self._own_env())
        merged.update({k: env[k] for k in SYSTEM_ENV if k in env})
        merged.update(_account(peer))
        merged["OPSGATE_HOME"] = self.home
        from opsgate.classify._files import CALLER_ENV_HIDDEN

        merged[CALLER_ENV_HIDDEN] = "1"  # the caller's NODE_ENV, DATABASE_URL … are not here
        return merged

    def _respond(
        self, module: str, raw: bytes, env: Mapping[str, str], peer: int | None
    ) -> tuple[str, str, int]:
        import importlib

        adapter: Any = importlib.import_module(f"opsgate.hooks.{module}")
        if len(raw) > MAX_INPUT:  # clients block oversize input themselves; never decide it
            return adapter.fail(f"input larger than {MAX_INPUT} bytes")  # type: ignore[no-any-return]
        user = env.get("USER") if self.system else None

        def record(action: Any, decision: Any) -> None:
            self._record(action, decision, user)

        try:
            out, code = adapter.respond(raw, env, record)
        except Exception as exc:  # the same fail-closed answer as in-process
            return adapter.fail(f"{type(exc).__name__}: {exc}"[:500])  # type: ignore[no-any-return]
        return out, "", code

    def _record(self, action: Any, decision: Any, os_user: str | None) -> None:
        from opsgate.hooks._audit import record_decision

        with self._log_lock:
            if self._log is None:
                from opsgate.audit import open_log

                self._log = open_log(Path(self.home))
            try:
                record_decision(action, decision, self._log, os_user=os_user)
            except Exception:
                # Reopen on the next request; this one fails closed.
                self._log.close()
                self._log = None
                raise


def _peer_uid(conn: socket.socket) -> int | None:
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is None:
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, so_peercred, 12)
    return int.from_bytes(creds[4:8], sys.byteorder)


def _account(uid: int | None) -> dict[str, str]:
    """HOME, USER and LOGNAME of the calling user, from the password database (never
    from the caller); a uid without an entry gets a home that exists nowhere."""
    import pwd

    try:
        entry = pwd.getpwuid(uid if uid is not None else -1)
    except (KeyError, OverflowError):
        name = f"uid {uid}"
        return {"HOME": f"/nonexistent/{uid}", "USER": name, "LOGNAME": name}
    return {"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name}


def _read(conn: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_REQUEST:
        chunk = conn.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _env(header: bytes) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in header.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key in FORWARDED_ENV + MATCHED_ENV:
            env[key] = value
    return env


def _frame(out: str, err: str, code: int) -> bytes:
    body_out, body_err = out.encode(), err.encode()
    return b"OK %d %d %d\n" % (code, len(body_out), len(body_err)) + body_out + body_err


def _config_stamp() -> tuple[str, int, int] | None:
    """Which config file this service's settings came from, and its version."""
    from opsgate.config import current

    try:
        path = current().file_path
        if path is None:
            return None
        st = path.stat()
    except Exception:  # a broken file: every decision fails closed until it is fixed
        return ("broken", 0, 0)
    return (str(path), st.st_mtime_ns, st.st_size)


def _build_client(home: str) -> None:
    """Build (or refresh) the C hook client beside the socket; optional, so any
    failure only leaves the Python launcher as the client."""
    from opsgate.config import current

    if not current().boolean("hook.build_client"):
        return
    from opsgate.hooks._native import build

    try:
        build(home)
    except Exception:  # no compiler, a read-only home: the Python hook stays
        return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsgate-hook-daemon")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--home", help="per-user mode: the opsgate home it serves")
    where.add_argument("--system", metavar="CONFIG", help="protected mode: /etc/opsgate/hook.conf")
    parser.add_argument("--idle", type=float, default=900.0, help="exit after this many idle s")
    args = parser.parse_args(argv)
    os.umask(0o077)  # the audit log and everything else it creates: this user's alone
    service = _system_service(args.system) if args.system else Service(args.home, args.idle)
    os.environ["OPSGATE_HOME"] = service.home
    signal.signal(signal.SIGTERM, lambda *_: service.stopping.set())
    _warm_up()
    if not service.system:
        threading.Thread(target=_build_client, args=(service.home,), daemon=True).start()
    service.serve()
    return 0


def _system_service(config_path: str) -> Service:
    try:
        config = read_system_config(config_path)
        home, path, uid = config["data_dir"], config["socket"], int(config["service_uid"])
    except Exception as exc:
        raise SystemExit(f"opsgate-hook-daemon: {config_path}: {exc}") from exc
    if uid != os.getuid():
        raise SystemExit(
            f"opsgate-hook-daemon: {config_path} says the service runs as uid {uid}, "
            f"not {os.getuid()}: start it as that user (systemctl start opsgate-hook)"
        )
    return Service(home, 0.0, socket_file=path, system=True)


def _warm_up() -> None:
    """Load the classifier and every family before the first request."""
    import importlib

    from opsgate.classify.families import handlers

    for module in set(AGENTS.values()):
        importlib.import_module(f"opsgate.hooks.{module}")
    from opsgate.hooks import _connect, _respond  # noqa: F401

    handlers()
    import sqlglot  # noqa: F401 — the first SQL statement should not pay for the import


if __name__ == "__main__":
    sys.exit(main())
