"""A PostgreSQL database that is not UTF8 (``SQL_ASCII``): refused with what to do,
by ``serve``, the control plane's store and the audit log — never a bare
``TypeError`` from SQLAlchemy's version check, nor an audit log id read as ``b'…'``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import OPSGATE, free_port, postgres_or_skip

WHAT_TO_DO = "create a UTF8 database"


@pytest.fixture(scope="module")
def ascii_url() -> Iterator[str]:
    import psycopg

    with postgres_or_skip() as url:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "CREATE DATABASE og_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 "
                "LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        yield url.rsplit("/", 1)[0] + "/og_ascii"


def test_serve_refuses_a_sql_ascii_database_and_says_what_to_do(
    ascii_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(OPSGATE_HOME=str(home), OPSGATE_DATABASE_URL=ascii_url)
    proc = subprocess.run(
        [OPSGATE, "serve", "--port", str(free_port()), "--log-level", "warning"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 9, proc.stderr
    assert "SQL_ASCII" in proc.stderr and WHAT_TO_DO in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "TypeError" not in proc.stderr


def test_the_store_and_the_audit_log_each_refuse_it(ascii_url: str, tmp_path: Path) -> None:
    from opsgate._pg_encoding import DatabaseEncodingError
    from opsgate.audit import open_log
    from opsgate.store import open_store

    with pytest.raises(DatabaseEncodingError, match="SQL_ASCII") as store_refused:
        open_store(tmp_path, ascii_url)
    with pytest.raises(DatabaseEncodingError, match="SQL_ASCII") as audit_refused:
        open_log(tmp_path, ascii_url)
    for refused in (store_refused.value, audit_refused.value):
        assert refused.hint is not None and "ENCODING 'UTF8'" in refused.hint
        assert "og_ascii" in refused.message and "postgres@" not in refused.message
