"""Statements the store runs straight on the driver (``driver_execute``: BEGIN on
SQLite, the organisation's revision on every decision) must fail the way the rest of
the store fails: a ``StoreError`` the API answers with 503 ``store_unavailable``,
never a bare driver exception."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opsgate.store import DB_FILE, StoreError, _engine, open_store
from opsgate.store import _org as org


def test_the_revision_is_read_in_the_callers_transaction(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        with store.read() as conn:
            before = org.revision(conn)
        with store.write() as conn:
            org.save_settings(conn, {"approval_ttl_seconds": 60}, "u_test", 1.0)
            assert org.revision(conn) > before  # its own change, bumped by the trigger
        with store.read() as conn:
            assert org.revision(conn) > before
    finally:
        store.close()


def test_a_write_lock_held_elsewhere_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_engine, "_BUSY_MS", 200)
    store = open_store(tmp_path)
    other = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)  # another process's
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="locked"), store.write():
            pass
        other.execute("ROLLBACK")
        with store.write():  # and once it is free, writes go on
            pass
    finally:
        other.close()
        store.close()


def test_a_failing_revision_read_is_a_store_error(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        with store.write() as conn:
            conn.exec_driver_sql("ALTER TABLE org_revision RENAME TO gone")
        with pytest.raises(StoreError, match="org_revision"), store.read() as conn:
            org.revision(conn)
    finally:
        store.close()
