"""Real servers the integration tests start: ``opsgate serve`` on a free loopback
port, and a throwaway PostgreSQL cluster (or a skip where PostgreSQL is missing).

One copy of each, so every test module starts them the same way and a fix to how
a server is waited for or stopped reaches them all.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest

__all__ = ["OPSGATE", "Serve", "free_port", "owner_password", "postgres_or_skip"]

OPSGATE = str(Path(sys.executable).parent / "opsgate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def owner_password(home: Path) -> str | None:
    """The first owner's generated password: ``serve`` (its stdout not a terminal)
    writes it to a 0600 file in its data directory, never to its output."""
    path = home / "initial-owner-password"
    if not path.exists():
        return None
    assert path.stat().st_mode & 0o777 == 0o600, oct(path.stat().st_mode)
    return path.read_text().strip()


@contextmanager
def postgres_or_skip(*, max_connections: int = 50) -> Iterator[str]:
    """A throwaway cluster's URL for the ``with`` block; the test is skipped where
    PostgreSQL is not installed (CI installs it)."""
    from pg_cluster import missing_reason, pg_cluster

    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with pg_cluster(max_connections=max_connections) as url:
        yield url


class Serve:
    """``opsgate serve`` as a real process with ``home`` as its data directory, up
    (``/healthz`` answers) when the constructor returns.  ``lines`` collects its
    stdout (and stderr too with ``merge_stderr``) as it arrives; otherwise
    ``err_lines`` collects stderr.  Both pipes are always read: a server that logs
    a traceback per request must not fill a pipe nobody reads and hang.  ``env``:
    extra ``OPSGATE_*`` settings (a replica's ``OPSGATE_DATABASE_URL``)."""

    def __init__(
        self,
        home: Path,
        *,
        merge_stderr: bool = False,
        port: int | None = None,
        env: dict[str, str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.home = home
        self.port = port or free_port()  # a port of its own, or the one a restart reuses
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")},
               **(env or {})}  # fmt: skip
        env["OPSGATE_HOME"] = str(home)
        env.update(extra_env or {})
        # An explicit --data-dir beats OPSGATE_DATABASE_URL (docs/configuration.md): a
        # replica of a shared database takes its data directory from OPSGATE_HOME.
        where = [] if "OPSGATE_DATABASE_URL" in env else ["--data-dir", str(home)]
        argv = [OPSGATE, "serve", "--port", str(self.port), *where,
                "--create", "--log-level", "warning"]  # fmt: skip
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.err_lines: list[str] = []
        self._readers = [
            threading.Thread(target=_collect, args=(stream, into), daemon=True)
            for stream, into in ((self.proc.stdout, self.lines), (self.proc.stderr, self.err_lines))
            if stream is not None
        ]
        for reader in self._readers:
            reader.start()
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self._exit_text()
            assert time.monotonic() < deadline, "opsgate serve did not start"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)

    def _exit_text(self) -> str:
        """What the exited server said (its readers finish at the pipes' end)."""
        for reader in self._readers:
            reader.join(timeout=5)
        return "".join(self.lines) + "".join(self.err_lines)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        for reader in self._readers:  # the pipes end with the process
            reader.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


def _collect(stream: IO[str], into: list[str]) -> None:
    """Read ``stream`` to its end, line by line, into ``into``."""
    with contextlib.suppress(ValueError, OSError):  # closed under us by stop()
        for line in stream:
            into.append(line)
