"""``opsgate audit backup DEST``: a consistent copy of the SQLite audit database
while opsgate runs (SQLite's online backup API: a plain ``cp`` of ``audit.db``
misses what is still in its write-ahead log), with the signing key's public half
beside it, so that the copy verifies offline anywhere."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from pathlib import Path

from opsgate.audit.store_sqlite import DB_FILE
from opsgate.config import current
from opsgate.errors import InputError

__all__ = ["backup"]


def backup(ns: argparse.Namespace, key_path: Path) -> int:
    """SQLite's online backup API: a consistent copy, the write-ahead log included."""
    config = current()
    if getattr(ns, "db", None) is None and config.database_url is not None:
        raise InputError("the audit trail is in PostgreSQL: back it up with pg_dump",
                         hint="docs/deploy.md (Backups); --data-dir names a local one")  # fmt: skip
    source = Path(getattr(ns, "db", None) or config.data_dir / DB_FILE)
    dest: Path = ns.dest
    if dest.exists() and not ns.force:
        raise InputError(f"{dest} exists", hint="pass --force to replace it")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    if not source.is_file():
        raise InputError(f"no audit database at {source}",
                         hint="--data-dir or --db names the one to copy")  # fmt: skip
    # The copy holds what the original does: private to this user from its first byte.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    copy = sqlite3.connect(tmp)
    try:
        src.backup(copy)
        entries = int(copy.execute("SELECT count(*) FROM audit_entries").fetchone()[0])
    finally:
        copy.close()
        src.close()
    tmp.replace(dest)
    public = _write_public_key(key_path, dest)
    if ns.json:
        print(json.dumps({"dest": str(dest), "entries": entries,
                          "public_key": str(public) if public else None}, indent=2))  # fmt: skip
        return 0
    print(f"backed up {entries} entries to {dest}")
    key = f" --key {public}" if public else ""
    print(f"verify it anywhere: opsgate audit verify --db {dest}{key}")
    return 0


def _write_public_key(key_path: Path, dest: Path) -> Path | None:
    """The signing key's public half beside the copy (never the private key)."""
    if not key_path.is_file():
        return None
    from opsgate.audit.checkpoint import load_or_create_key, public_key_pem

    public = dest.with_name(dest.name + ".pub.pem")
    public.write_text(public_key_pem(load_or_create_key(key_path)))
    return public
