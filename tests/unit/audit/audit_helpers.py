"""Shared builders for the audit tests: a real SQLite log in a temp directory,
raw access to its rows for tampering, and a verify run like the CLI's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from opsgate.audit import EventType, open_log
from opsgate.audit.checkpoint import load_public_key
from opsgate.audit.log import AuditLog
from opsgate.audit.verify import Report, verify
from opsgate.audit.witness import read_witness


def make_log(tmp: Path, n: int = 10, *, every: int = 1_000_000) -> AuditLog:
    log = open_log(tmp / "data")
    log.every = every
    for i in range(n):
        log.append(
            EventType.DECISION_MADE,
            actor={"type": "agent", "name": "claude-code", "session": "s1"},
            target="web-prod-1" if i % 2 else "local",
            environment="production" if i % 2 else "local",
            action={"kind": "shell.exec", "tool": "Bash", "input": {"command": f"echo {i}"}},
            decision="allow",
            rule="default",
        )
    return log


def db(log: AuditLog) -> sqlite3.Connection:
    return sqlite3.connect(log.store.location, isolation_level=None)  # type: ignore[attr-defined]


def run_verify(log: AuditLog, witness: Path | None = None, keys: list[str] | None = None) -> Report:
    """Verify from a fresh read-only open, the way `opsgate audit verify` does."""
    ro = open_log(db_file=Path(log.store.location), readonly=True)  # type: ignore[attr-defined]
    try:
        sources = [("store", b) for b in ro.store.checkpoint_bodies()]
        trusted = [load_public_key(k) for k in keys] if keys else None
        if witness is not None:
            record = read_witness(str(witness))
            sources += [("witness", b) for b in record.checkpoints]
            trusted = trusted or record.key_ids or None
        if trusted is None:
            trusted = [load_public_key(str(log.key_path))]
        return verify(ro.log_id, ro.store.rows(), sources, trusted)
    finally:
        ro.close()


def kinds(report: Report) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in report.problems]
