"""The embedded store: one SQLite file in the data directory.

WAL with ``synchronous=FULL``: a commit returns only after the WAL is fsynced, so
an append that returned survives power loss.  ``BEGIN IMMEDIATE`` takes the write
lock before the head is read, so concurrent processes never fork the chain.
The schema is created once and marked with ``user_version``; later opens read one
pragma and create nothing.
"""

from __future__ import annotations

import _thread
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsgate.audit.chain import genesis, seal
from opsgate.audit.errors import AuditConfigError, AuditWriteError
from opsgate.audit.events import Entry

__all__ = ["DB_FILE", "SQLiteStore"]

DB_FILE = "audit.db"
_VERSION = 1
_BUSY_MS = 30_000  # concurrent writers queue on the file lock rather than fail
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_entries (
    seq INTEGER PRIMARY KEY, body BLOB NOT NULL, link BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY, epoch REAL NOT NULL, body BLOB NOT NULL);
"""
_LAST_CHECKPOINT = "SELECT seq, epoch FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"


def _fail(path: Path, exc: BaseException) -> AuditWriteError:
    return AuditWriteError(f"cannot write {path}: {exc}")


def _not_a_log(path: Path) -> AuditConfigError:
    return AuditConfigError(
        f"{path} holds no audit log (no audit tables)",
        hint="a plain copy of a running server's audit.db looks like this: its entries were "
        "still in audit.db-wal. Copy it with `opsgate audit backup DEST` (safe while opsgate "
        "runs), or stop opsgate before copying",
    )


_FS_IOC_GETFLAGS = 0x80086601  # Linux: the inode flags chattr sets
_FROZEN = 0x10 | 0x20  # FS_IMMUTABLE_FL, FS_APPEND_FL


# -shm path → (inode, descriptor) for ``_frozen``.  Not closed while the path names
# that file: closing any descriptor of a file drops every POSIX lock this process
# holds on it — SQLite's own included — and another process would then take the -shm
# for unused and reset it under this one's mapping.  Once the path names another
# file, the old one was deleted by its last connection (SQLite deletes the -shm only
# then), so no lock on it is left to lose: its descriptor is closed, or a process that
# opens and closes logs again and again (one -shm per opening) runs out of them.
_SHM_FDS: dict[str, tuple[int, int]] = {}


def _frozen(path: str) -> bool:
    """SQLite maps the -shm file and writes into the mapping; if the file was made
    immutable (``chattr +i``), that write kills the process with SIGBUS instead of
    returning an error.  So each use first asks the file's flags (Linux; elsewhere,
    or on a file system without flags, the answer is no)."""
    try:
        inode = Path(path).stat().st_ino
    except OSError:
        return False  # no -shm yet: SQLite creates it writable
    known = _SHM_FDS.get(path)
    if known is None or known[0] != inode:
        if known is not None:
            del _SHM_FDS[path]
            os.close(known[1])  # the file it named is gone
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        known = _SHM_FDS[path] = (os.fstat(fd).st_ino, fd)
    try:
        import fcntl  # a small C module, imported only by code that touches a store

        flags = bytearray(8)
        fcntl.ioctl(known[1], _FS_IOC_GETFLAGS, flags)
    except (OSError, ImportError):
        return False
    return bool(int.from_bytes(flags[:4], "little") & _FROZEN)


class SQLiteStore:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.location = str(path)
        self._shm = f"{path}-shm"
        # One connection shared by the process's threads: statements from a
        # checkpoint must never land inside another thread's open transaction.
        self._lock = _thread.allocate_lock()
        try:
            if readonly:
                self._db = _open_readonly(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # The trail names commands, paths and people: readable by the owner
                # only (SQLite gives its -wal and -shm files the same mode).
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
                self._db = sqlite3.connect(
                    path, isolation_level=None, timeout=_BUSY_MS / 1000, check_same_thread=False
                )
                self._db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
                self._db.execute("PRAGMA synchronous=FULL")
                if self._db.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
                    self._create_racing()
            row = self._db.execute("SELECT value FROM audit_meta WHERE key='log_id'").fetchone()
        except sqlite3.OperationalError as exc:
            if readonly and "no such table" in str(exc):
                raise _not_a_log(path) from exc
            raise _fail(path, exc) from exc
        except (sqlite3.Error, OSError) as exc:
            raise _fail(path, exc) from exc
        if row is None:
            raise AuditWriteError(
                f"{path} has no log identity", hint="is this an opsgate audit database?"
            )
        self.log_id: str = row[0]
        # The last checkpoint as read inside the latest write transaction (or set
        # by add_checkpoint): lets the facade's per-append "checkpoint due?" check
        # skip the connection, which a concurrent batch may hold through its fsync.
        self._checkpoint: tuple[int, float] | None = None

    def _create_racing(self) -> None:
        """Several processes may open a new log at once; switching to WAL can fail with
        "locked" without waiting on the busy handler, so the loser retries."""
        for attempt in range(60):
            try:
                self._create()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 59:
                    raise
                time.sleep(0.02 * (attempt + 1))

    def _create(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._db.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    self._db.execute(statement)
                # Random identity: the genesis hash binds the chain to this log.
                self._db.execute(
                    "INSERT OR IGNORE INTO audit_meta VALUES ('log_id', ?)", (os.urandom(16).hex(),)
                )
                self._db.execute(f"PRAGMA user_version={_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _usable(self) -> None:
        """Refuse (AuditWriteError) rather than let SQLite touch a frozen -shm."""
        if _frozen(self._shm):
            raise AuditWriteError(
                f"cannot write {self.path}: its shared-memory file {self._shm} is immutable",
                hint=f"chattr -i {self._shm}",
            )

    def write(self, documents: list[dict[str, Any]]) -> list[Entry]:
        with self._lock:
            self._usable()
            return self._write(documents)

    def _write(self, documents: list[dict[str, Any]]) -> list[Entry]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq, prev = self._head()
                rows = []
                for doc in documents:
                    seq += 1
                    body, prev = seal(doc, seq, prev)
                    rows.append((seq, body, prev))
                self._db.executemany("INSERT INTO audit_entries VALUES (?, ?, ?)", rows)
                last = self._db.execute(_LAST_CHECKPOINT).fetchone()
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from exc
        if last is not None:
            self._remember(int(last[0]), float(last[1]))
        return [Entry(s, b, lk, d) for (s, b, lk), d in zip(rows, documents, strict=True)]

    def _remember(self, seq: int, epoch: float) -> None:
        if self._checkpoint is None or seq >= self._checkpoint[0]:
            self._checkpoint = (seq, epoch)

    def _head(self) -> tuple[int, bytes]:
        row = self._db.execute(
            "SELECT seq, link FROM audit_entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else (0, genesis(self.log_id))

    def head(self) -> tuple[int, bytes]:
        try:
            with self._lock:
                self._usable()
                return self._head()
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from exc

    def last_checkpoint(self, *, cached: bool = False) -> tuple[int, float] | None:
        if cached and self._checkpoint is not None:
            return self._checkpoint
        with self._lock:
            self._usable()
            row = self._db.execute(_LAST_CHECKPOINT).fetchone()
        if row is None:
            return None
        self._remember(int(row[0]), float(row[1]))
        return int(row[0]), float(row[1])

    def add_checkpoint(self, seq: int, epoch: float, body: bytes) -> None:
        try:
            with self._lock:
                self._usable()
                self._db.execute(
                    "INSERT OR IGNORE INTO audit_checkpoints VALUES (?, ?, ?)", (seq, epoch, body)
                )
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from exc
        self._remember(seq, epoch)

    def probe(self) -> None:
        """Prove the log can be written now: a committed (fsynced) write beside the
        chain, not an entry.  Raises AuditWriteError."""
        try:
            with self._lock:
                self._usable()
                self._db.execute(
                    "INSERT OR REPLACE INTO audit_meta VALUES ('probe', ?)", (repr(time.time()),)
                )
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from exc

    def checkpoint_bodies(self) -> list[bytes]:
        with self._lock:
            self._usable()
            return [
                bytes(r[0])
                for r in self._db.execute("SELECT body FROM audit_checkpoints ORDER BY seq")
            ]

    def rows(
        self, *, descending: bool = False, after: int = 0
    ) -> Iterator[tuple[int, bytes, bytes]]:
        order = "DESC" if descending else "ASC"
        self._usable()
        cursor = self._db.execute(
            f"SELECT seq, body, link FROM audit_entries WHERE seq > ? ORDER BY seq {order}",  # noqa: S608 - fixed words
            (after,),
        )
        while True:
            with self._lock:
                self._usable()
                batch = cursor.fetchmany(16_384)
            if not batch:
                return
            # The common case, checked per batch: every stored value is a BLOB.
            if all(type(b) is bytes and type(lk) is bytes for _, b, lk in batch):
                yield from batch
                continue
            for seq, body, link in batch:
                # A hand edit can turn a BLOB into TEXT (or NULL); verify still sees bytes.
                yield seq, _as_bytes(body), _as_bytes(link)

    def close(self) -> None:
        self._db.close()

    def __del__(self) -> None:
        # A log dropped without close() (a hook's one-shot append, a test) must not
        # keep its file open until the connection is collected (Python 3.13 warns).
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return b"" if value is None else str(value).encode()


def _open_readonly(path: Path) -> sqlite3.Connection:
    """Open for verification without writing: works on a copy in a read-only place."""
    if not path.is_file():
        raise sqlite3.OperationalError(f"no audit database at {path}")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("SELECT 1 FROM audit_meta LIMIT 1").fetchall()
    except sqlite3.OperationalError:
        db.close()
        # A copy without its -wal/-shm in a read-only directory: read it as frozen.
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None
        )
    return db
