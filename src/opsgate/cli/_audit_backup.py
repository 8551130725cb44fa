"""``opsgate audit backup DEST``: a consistent copy of the SQLite audit database
while opsgate runs (SQLite's online backup API: a plain ``cp`` of ``audit.db``
misses what is still in its write-ahead log), with the public keys its checkpoints
need beside it — the signing key's public half and those of ``audit.trusted_keys``
(the earlier keys after a rotation), never a private key — so that the copy
verifies offline anywhere."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path

from opsgate.audit.store_sqlite import DB_FILE
from opsgate.config import current
from opsgate.errors import InputError

__all__ = ["backup", "refuse_postgres"]


def refuse_postgres(ns: argparse.Namespace) -> None:
    """Before the log is opened: on PostgreSQL (even without its driver) say pg_dump."""
    if getattr(ns, "db", None) is None and current().database_url is not None:
        raise InputError("the audit trail is in PostgreSQL: back it up with pg_dump",
                         hint="docs/deploy.md (Backups); --data-dir names a local one")  # fmt: skip


def backup(ns: argparse.Namespace, key_path: Path, trusted_keys: tuple[Path, ...] = ()) -> int:
    """SQLite's online backup API: a consistent copy, the write-ahead log included."""
    refuse_postgres(ns)
    config = current()
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
        signers = _checkpoint_signers(copy)
    finally:
        copy.close()
        src.close()
    tmp.replace(dest)
    public, key_ids = _write_public_keys(key_path, trusted_keys, dest)
    unknown = sorted(signers - set(key_ids))
    if unknown:  # the copy would verify TAMPERED: say so now, not at a restore
        print(f"warning: checkpoints of the copy are signed by {', '.join(unknown)}, neither "
              "the signing key nor listed in audit.trusted_keys: verify reports them "
              "resigned unless you pass that key's public half with --key",
              file=sys.stderr)  # fmt: skip
    if ns.json:
        print(json.dumps({"dest": str(dest), "entries": entries,
                          "public_key": str(public) if public else None,
                          "key_ids": list(key_ids), "unknown_signers": unknown},
                         indent=2))  # fmt: skip
        return 0
    print(f"backed up {entries} entries to {dest}")
    key = f" --key {public}" if public else ""
    print(f"verify it anywhere: opsgate audit verify --db {dest}{key}")
    return 0


def _checkpoint_signers(copy: sqlite3.Connection) -> set[str]:
    from opsgate.audit.checkpoint import Checkpoint

    found = set()
    for (body,) in copy.execute("SELECT body FROM audit_checkpoints"):
        try:
            found.add(Checkpoint.parse(bytes(body)).key_id)
        except ValueError:
            continue  # a malformed checkpoint is verify's to report
    return found


def _write_public_keys(
    key_path: Path, trusted_keys: tuple[Path, ...], dest: Path
) -> tuple[Path | None, tuple[str, ...]]:
    """``DEST.pub.pem``: the signing key's public half, then every public key of
    ``audit.trusted_keys`` (each file checked as verify checks it), each block after a
    comment naming its key id and origin; never a private key."""
    from opsgate.audit._trust import public_pem_blocks, trusted_key_ids
    from opsgate.audit.checkpoint import load_or_create_key, load_public_key, public_key_pem

    blocks: dict[str, tuple[str, str]] = {}  # key id -> (origin, PEM)
    if key_path.is_file():
        pem = public_key_pem(load_or_create_key(key_path))
        blocks[load_public_key(pem)] = (f"the signing key {key_path}", pem)
    for listed in trusted_keys:
        trusted_key_ids(listed)  # refuses a private, missing or non-Ed25519 file
        for block in public_pem_blocks(listed.read_bytes()):
            pem = block.decode() + "\n"
            blocks.setdefault(load_public_key(pem), (f"audit.trusted_keys {listed}", pem))
    if not blocks:
        return None, ()
    text = "".join(f"# key id {kid}: {origin}\n{pem}" for kid, (origin, pem) in blocks.items())
    public = dest.with_name(dest.name + ".pub.pem")
    tmp = public.with_name(f".{public.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(public)
    return public, tuple(blocks)
