"""Migrations on a real SQLite file: each version missing from ``schema_version``
runs, even one below the newest applied (two migrations developed side by side
may be merged in either order), and a database from before secret sources (v5)
gains its column with the stored secrets intact."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from opsgate.store import LATEST, open_store
from opsgate.store._migrate import MIGRATIONS


def _versions(home: Path) -> set[int]:
    store = open_store(home)
    try:
        with store.read() as conn:
            return set(conn.execute(sa.text("SELECT version FROM schema_version")).scalars())
    finally:
        store.close()


def test_every_missing_version_runs(tmp_path: Path, hook_env: None) -> None:
    home = tmp_path / "home"
    assert _versions(home) == {v for v, _, _ in MIGRATIONS} and MIGRATIONS[-1][0] == LATEST
    store = open_store(home)
    with store.write() as conn:
        conn.execute(sa.text(
            "INSERT INTO secrets (name, nonce, ciphertext, created_at, updated_at) "
            "VALUES ('kept', 'n', 'c', 1, 1)"))  # fmt: skip
        # As if v5 had never run, and v3 came after it (a merge in the other order).
        conn.execute(sa.text("DELETE FROM schema_version WHERE version IN (3, 5)"))
        conn.execute(sa.text("ALTER TABLE secrets DROP COLUMN source"))
    store.close()
    assert _versions(home) == {v for v, _, _ in MIGRATIONS}
    store = open_store(home)
    try:
        with store.read() as conn:
            row = conn.execute(sa.text("SELECT name, source FROM secrets")).one()
        assert tuple(row) == ("kept", None)
    finally:
        store.close()
