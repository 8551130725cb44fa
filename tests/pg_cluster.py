"""A throwaway PostgreSQL cluster, started with initdb/pg_ctl on a free port.

Shared by the PostgreSQL integration tests and ``benchmarks/bench_audit.py`` so
the start/stop recipe lives in one place.  The machine runs as root in CI, so the
server binaries run as the ``postgres`` user via ``runuser``.  ``fsync`` stays on:
durability figures measured against this cluster are real.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PG_BIN", "Cluster", "missing_reason", "pg_cluster", "pg_server"]

PG_BIN = Path(os.environ.get("OPSGATE_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


def missing_reason(bin_dir: Path = PG_BIN) -> str | None:
    """Why a cluster cannot be started here, or None if it can."""
    if not (bin_dir / "initdb").exists() or not (bin_dir / "pg_ctl").exists():
        return f"PostgreSQL server binaries not found in {bin_dir} (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg not installed (pip install 'psycopg[binary]')"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: cannot start PostgreSQL as postgres"
    return None


class Cluster:
    """A running throwaway cluster: its URL, and ``pg_ctl`` on it (a test may stop,
    start or restart the server under load)."""

    def __init__(self, bin_dir: Path, root: Path, port: int, max_connections: int) -> None:
        self.bin_dir, self.root, self.port = bin_dir, root, port
        self.data = root / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._opts = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on "
            f"-c max_connections={max_connections}"
        )

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            _as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args),
            check=check,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("-o", self._opts, "-w", "-l", str(self.root / "log"), "start")

    def stop(self, mode: str = "immediate") -> None:
        self._ctl("-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "immediate") -> None:
        """``pg_ctl restart -m MODE``: returns once the server accepts connections."""
        self._ctl("-m", mode, "-o", self._opts, "-w", "-l", str(self.root / "log"), "restart")


@contextmanager
def pg_server(bin_dir: Path = PG_BIN, *, max_connections: int = 50) -> Iterator[Cluster]:
    """Start a fresh cluster; yield it; stop it and delete its files."""
    root = Path(tempfile.mkdtemp(prefix="opsgate-pg-"))
    root.chmod(0o777)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = Cluster(bin_dir, root, port, max_connections)
    subprocess.run(
        _as_postgres(
            str(bin_dir / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres",
            "--no-sync",
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def pg_cluster(bin_dir: Path = PG_BIN, *, max_connections: int = 50) -> Iterator[str]:
    """Start a fresh cluster; yield its URL; stop it and delete its files."""
    with pg_server(bin_dir, max_connections=max_connections) as cluster:
        yield cluster.url
