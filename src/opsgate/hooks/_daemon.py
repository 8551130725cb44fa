"""The resident decision service behind the hook's fast path.

One per user and opsgate home, listening on ``$OPSGATE_HOME/run/hook.sock``
(directory 0700, socket 0600, peers checked with SO_PEERCRED).  It answers exactly
what ``respond`` would answer in-process, with the classifier loaded and the audit
log open.  It refuses (and the hook decides in-process) when the request's opsgate
version or audit settings differ from its own, and it exits when its own source
files change, after ``--idle`` seconds without a request, or on SIGTERM.

    python -m opsgate.hooks._daemon --home ~/.opsgate [--idle 900]
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
from opsgate.hooks._client import FORWARDED_ENV, MATCHED_ENV, PROTOCOL, socket_path
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
    def __init__(self, home: str, idle: float) -> None:
        self.home = home
        self.idle = idle
        self.path = socket_path(home)
        self.fingerprint = _source_fingerprint()
        self.matched = {k: os.environ.get(k) for k in MATCHED_ENV}
        self.last_request = time.monotonic()
        self.stopping = threading.Event()
        self._log: Any = None
        self._log_lock = threading.Lock()
        self._inode = -1
        self._checked = time.monotonic()

    # --- lifecycle ------------------------------------------------------------------------
    def serve(self) -> None:
        run = Path(self.path).parent
        run.mkdir(mode=0o700, parents=True, exist_ok=True)
        run.chmod(0o700)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        tmp = f"{self.path}.{os.getpid()}"
        try:
            server.bind(tmp)
            Path(tmp).chmod(0o600)
            Path(tmp).replace(self.path)  # atomic: never a window with no socket
            self._inode = Path(self.path).stat().st_ino
            server.listen(64)
            (run / "start.lock").unlink(missing_ok=True)
            server.settimeout(1.0)
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
                if time.monotonic() - self.last_request > self.idle:
                    return
                continue
            except OSError:
                return
            self.last_request = time.monotonic()
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _unlink_own_socket(self) -> None:
        path = Path(self.path)
        try:
            if path.stat().st_ino == self._inode:
                path.unlink()
        except OSError:
            pass

    def _changed(self) -> bool:
        """Whether opsgate's own files changed (checked at most once a second)."""
        now = time.monotonic()
        if now - self._checked < 1.0:
            return False
        self._checked = now
        return _source_fingerprint() != self.fingerprint

    # --- one request ----------------------------------------------------------------------
    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5.0)
                if not _same_user(conn):
                    return
                request = _read(conn)
                conn.sendall(self._answer(request))
            except OSError:
                return

    def _answer(self, request: bytes) -> bytes:
        header, _, raw = request.partition(b"\n\n")
        head, _, env_lines = header.partition(b"\n")
        parts = head.split()
        if len(parts) != 3 or parts[0] != PROTOCOL or parts[1] not in _AGENTS:
            return b"RETRY bad-request\n"
        if parts[2].decode() != __version__ or self._changed():
            self.stopping.set()
            return b"RETRY version\n"
        env = _env(env_lines)
        if {k: env.get(k) for k in MATCHED_ENV} != self.matched:
            return b"RETRY settings\n"
        return _frame(*self._respond(_AGENTS[parts[1]], raw, env))

    def _respond(self, module: str, raw: bytes, env: Mapping[str, str]) -> tuple[str, str, int]:
        import importlib

        adapter: Any = importlib.import_module(f"opsgate.hooks.{module}")
        if len(raw) > MAX_INPUT:  # the C client forwards the first MAX_INPUT + 1 bytes
            return adapter.fail(f"input larger than {MAX_INPUT} bytes")  # type: ignore[no-any-return]
        merged = {k: v for k, v in os.environ.items() if k not in FORWARDED_ENV}
        merged.update(env)
        merged["OPSGATE_HOME"] = self.home
        try:
            out, code = adapter.respond(raw, merged, self._record)
        except Exception as exc:  # the same fail-closed answer as in-process
            return adapter.fail(f"{type(exc).__name__}: {exc}"[:500])  # type: ignore[no-any-return]
        return out, "", code

    def _record(self, action: Any, decision: Any) -> None:
        from opsgate.hooks._audit import record_decision

        with self._log_lock:
            if self._log is None:
                from opsgate.audit import open_log

                self._log = open_log(Path(self.home))
            try:
                record_decision(action, decision, self._log)
            except Exception:
                # Reopen on the next request; this one fails closed.
                self._log.close()
                self._log = None
                raise


def _same_user(conn: socket.socket) -> bool:
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is None:
        return True
    creds = conn.getsockopt(socket.SOL_SOCKET, so_peercred, 12)
    return int.from_bytes(creds[4:8], sys.byteorder) == os.getuid()


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


def _build_client(home: str) -> None:
    """Build (or refresh) the C hook client beside the socket; optional, so any
    failure only leaves the Python launcher as the client."""
    if os.environ.get("OPSGATE_HOOK_BUILD_CLIENT", "1") == "0":
        return
    from opsgate.hooks._native import build

    try:
        build(home)
    except Exception:  # no compiler, a read-only home: the Python hook stays
        return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsgate-hook-daemon")
    parser.add_argument("--home", required=True)
    parser.add_argument("--idle", type=float, default=900.0, help="exit after this many idle s")
    args = parser.parse_args(argv)
    os.environ["OPSGATE_HOME"] = args.home
    service = Service(args.home, args.idle)
    signal.signal(signal.SIGTERM, lambda *_: service.stopping.set())
    # Warm up: load the classifier and every family before the first request.
    import importlib

    from opsgate.classify.families import handlers

    for module in set(AGENTS.values()):
        importlib.import_module(f"opsgate.hooks.{module}")
    from opsgate.hooks import _connect, _respond  # noqa: F401

    handlers()
    import sqlglot  # noqa: F401 — the first SQL statement should not pay for the import

    threading.Thread(target=_build_client, args=(args.home,), daemon=True).start()
    service.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
