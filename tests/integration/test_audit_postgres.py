"""The audit chain on a real PostgreSQL server: a throwaway cluster started with
initdb/pg_ctl as the ``postgres`` user (the machine runs as root), on a free port.
No mocks.  Skips, saying why, where no server binaries exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import postgres_or_skip

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


@pytest.fixture
def fresh(pg_url: str) -> str:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS audit_meta, audit_entries, audit_checkpoints, audit_head")
    return pg_url


def test_append_and_verify(fresh: str, tmp_path: Path) -> None:
    from opsgate.audit import EventType, open_log
    from opsgate.audit.checkpoint import load_public_key
    from opsgate.audit.verify import verify

    log = open_log(tmp_path, database_url=fresh)
    entry = log.append(
        EventType.DECISION_MADE,
        actor={"type": "agent", "name": "x"},
        action={"kind": "shell.exec", "input": {"command": "PGPASSWORD=s3cretpw psql"}},
        decision="deny",
    )
    assert entry.seq == 1 and b"s3cretpw" not in entry.body
    log.checkpoint()
    report = verify(
        log.log_id,
        log.store.rows(),
        [("db", b) for b in log.store.checkpoint_bodies()],
        [load_public_key(str(log.key_path))],
    )
    log.close()
    assert report.ok and report.entries == 3, report.summary()


def test_four_processes_one_chain(fresh: str, tmp_path: Path) -> None:
    """4 processes × 1,000 appends through PostgreSQL: exactly 4,000 decisions,
    no fork, no gap, one valid chain."""
    code = (
        "import pathlib, sys\n"
        "from opsgate.audit import open_log\n"
        "log = open_log(pathlib.Path(sys.argv[1]), database_url=sys.argv[2])\n"
        "for i in range(1000):\n"
        "    log.append('decision.made', actor={'type': 'agent', 'name': sys.argv[3]},\n"
        "               action={'kind': 'shell.exec', 'input': {'i': i}})\n"
    )
    env = {**os.environ, "OPSGATE_AUDIT_CHECKPOINT_EVERY": "500"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path), fresh, f"w{k}"], env=env)
        for k in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]

    from opsgate.audit import open_log
    from opsgate.audit.checkpoint import load_public_key
    from opsgate.audit.verify import verify

    log = open_log(tmp_path, database_url=fresh)
    rows = list(log.store.rows())
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    decisions = [json.loads(b) for _, b, _ in rows if b'"decision.made"' in b]
    assert len(decisions) == 4000
    for k in range(4):
        assert [
            d["action"]["input"]["i"] for d in decisions if d["actor"]["name"] == f"w{k}"
        ] == list(range(1000))
    checkpoints = log.store.checkpoint_bodies()
    assert len(checkpoints) >= 8  # every 500 entries, from whichever process crossed the mark
    report = verify(
        log.log_id,
        rows,
        [("db", b) for b in checkpoints],
        [load_public_key(str(tmp_path / "audit-signing-key.pem"))],
    )
    log.close()
    assert report.ok, report.summary()


def test_tampering_in_postgres_is_detected(fresh: str, tmp_path: Path) -> None:
    import psycopg

    from opsgate.audit import open_log
    from opsgate.audit.verify import verify

    log = open_log(tmp_path, database_url=fresh)
    for i in range(5):
        log.append("decision.made", action={"kind": "shell.exec", "input": {"n": i}})
    with psycopg.connect(fresh, autocommit=True) as con:
        con.execute("DELETE FROM audit_entries WHERE seq = 3")
    report = verify(
        log.log_id, log.store.rows(), [("db", b) for b in log.store.checkpoint_bodies()], None
    )
    log.close()
    assert [(p.seq, p.kind) for p in report.problems][:1] == [(3, "deleted")]


def test_database_down_fails_closed(fresh: str, tmp_path: Path) -> None:
    import psycopg

    from opsgate.audit import AuditWriteError, open_log

    log = open_log(tmp_path, database_url=fresh)
    log.append("decision.made")
    with psycopg.connect(fresh, autocommit=True) as con:
        # Cut this log's connection, as a server restart or network failure would.
        con.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = 'postgres'"
        )
    with pytest.raises(AuditWriteError, match="audit trail is unavailable"):
        log.append("decision.made")
    log.close()
    with pytest.raises(AuditWriteError):
        open_log(tmp_path, database_url=fresh.replace("@127.0.0.1:", "@127.0.0.1:1"))


def test_checkpoint_schedule_is_read_under_the_head_lock(fresh: str, tmp_path: Path) -> None:
    """The write reads the last checkpoint with the head; a fresh read finds newer ones."""
    from opsgate.audit import open_log

    log = open_log(tmp_path, database_url=fresh)
    log.append("decision.made")  # the first entry is checkpointed
    store: object = log.store
    cached = store.last_checkpoint(cached=True)  # type: ignore[attr-defined]
    assert cached is not None and cached == log.store.last_checkpoint()
    other = open_log(tmp_path, database_url=fresh)
    other.checkpoint()
    newer = other.store.last_checkpoint()
    assert newer is not None and newer[0] > cached[0]
    assert log.store.last_checkpoint() == newer
    log.append("decision.made")
    assert log.store.last_checkpoint(cached=True) == newer
    other.close()
    log.close()
