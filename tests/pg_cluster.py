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

__all__ = ["PG_BIN", "missing_reason", "pg_cluster"]

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


@contextmanager
def pg_cluster(bin_dir: Path = PG_BIN, *, max_connections: int = 50) -> Iterator[str]:
    """Start a fresh cluster; yield its URL; stop it and delete its files."""
    root = Path(tempfile.mkdtemp(prefix="opsgate-pg-"))
    root.chmod(0o777)
    data = root / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        _as_postgres(
            str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"
        ),
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on "
        f"-c max_connections={max_connections}"
    )
    try:
        subprocess.run(
            _as_postgres(
                str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
                str(root / "log"), "start",
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
