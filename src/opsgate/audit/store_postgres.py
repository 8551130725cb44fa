"""The shared store: PostgreSQL, for several replicas on several hosts.

Appends are serialised in the database: each transaction locks the single head
row (``SELECT … FOR UPDATE``), numbers its entries from it, inserts them and
moves the head, then commits.  A second writer blocks on the row lock and reads
the new head, so the chain never forks; ``seq`` is also the primary key, so a
fork would fail rather than be stored.  Schema creation runs under an advisory
lock because concurrent ``CREATE TABLE IF NOT EXISTS`` can still collide.

An append costs two round trips in pipeline mode: ``BEGIN`` + lock-and-read the
head (which also reads the last checkpoint, so the facade need not ask again),
then the inserts, the head update and ``COMMIT`` together.  The commit returns
after PostgreSQL has flushed its WAL (``synchronous_commit`` is left as the
server has it), so a returned append is durable.
"""

from __future__ import annotations

import _thread
import os
from collections.abc import Iterator
from typing import Any

import psycopg

from opsgate.audit.chain import genesis, seal
from opsgate.audit.errors import AuditWriteError
from opsgate.audit.events import Entry

__all__ = ["PostgresStore"]

_SCHEMA_LOCK = 0x6F70_7367_6175_6474 & 0x7FFF_FFFF_FFFF_FFFF  # "opsgaudt"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS audit_entries (
    seq bigint PRIMARY KEY, body bytea NOT NULL, link bytea NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq bigint PRIMARY KEY, epoch double precision NOT NULL, body bytea NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id int PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, link bytea NOT NULL)
"""
_LOCK_HEAD = (
    b"SELECT h.seq, h.link, c.seq, c.epoch FROM audit_head h"
    b" LEFT JOIN LATERAL (SELECT seq, epoch FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) c"
    b" ON true WHERE h.id = 1 FOR UPDATE OF h"
)
_INSERT = b"INSERT INTO audit_entries VALUES (%s, %s, %s)"
_MOVE_HEAD = b"UPDATE audit_head SET seq = %s, link = %s WHERE id = 1"


def _fail(exc: BaseException) -> AuditWriteError:
    return AuditWriteError(f"PostgreSQL: {str(exc).strip() or type(exc).__name__}")


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.location = url.split("@")[-1]  # never print credentials
        self._lock = _thread.allocate_lock()  # one connection, one transaction at a time
        # The last checkpoint as read under the head lock by the latest write (or
        # set by add_checkpoint): checkpoints are only ever added, so it can be
        # stale only by missing a newer one, which a fresh read then finds.
        self._checkpoint: tuple[int, float] | None = None
        try:
            self._db = psycopg.connect(url, autocommit=False, connect_timeout=10)
            self.log_id = self._init()
        except psycopg.Error as exc:
            raise _fail(exc) from exc

    def _init(self) -> str:
        with self._db.transaction(), self._db.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in filter(str.strip, _SCHEMA.split(";")):
                cur.execute(statement.encode())
            cur.execute(
                "INSERT INTO audit_meta VALUES ('log_id', %s) ON CONFLICT DO NOTHING",
                (os.urandom(16).hex(),),
            )
            cur.execute("SELECT value FROM audit_meta WHERE key = 'log_id'")
            row = cur.fetchone()
            assert row is not None
            log_id = str(row[0])
            cur.execute(
                "INSERT INTO audit_head VALUES (1, 0, %s) ON CONFLICT DO NOTHING",
                (genesis(log_id),),
            )
        return log_id

    def write(self, documents: list[dict[str, Any]]) -> list[Entry]:
        with self._lock:
            return self._write(documents)

    def _write(self, documents: list[dict[str, Any]]) -> list[Entry]:
        try:
            with self._db.pipeline(), self._db.transaction(), self._db.cursor() as cur:
                cur.execute(_LOCK_HEAD)
                head = cur.fetchone()  # sends BEGIN and the locking read together
                assert head is not None
                seq, prev = int(head[0]), bytes(head[1])
                rows = []
                for doc in documents:
                    seq += 1
                    body, prev = seal(doc, seq, prev)
                    rows.append((seq, body, prev))
                cur.executemany(_INSERT, rows)
                cur.execute(_MOVE_HEAD, (seq, prev))
            # leaving the pipeline sends the inserts, the update and COMMIT, and
            # waits for the commit (a WAL flush); an error in any of them raises here
        except psycopg.Error as exc:
            raise _fail(exc) from exc
        if head[2] is not None:
            self._remember(int(head[2]), float(head[3]))
        return [Entry(s, b, lk, d) for (s, b, lk), d in zip(rows, documents, strict=True)]

    def _remember(self, seq: int, epoch: float) -> None:
        if self._checkpoint is None or seq >= self._checkpoint[0]:
            self._checkpoint = (seq, epoch)

    def head(self) -> tuple[int, bytes]:
        row = self._one("SELECT seq, link FROM audit_entries ORDER BY seq DESC LIMIT 1")
        return (int(row[0]), bytes(row[1])) if row else (0, genesis(self.log_id))

    def last_checkpoint(self, *, cached: bool = False) -> tuple[int, float] | None:
        """The newest checkpoint's (seq, epoch).  ``cached``: as seen by this
        process's latest write, saving a round trip per append."""
        if cached and self._checkpoint is not None:
            return self._checkpoint
        row = self._one("SELECT seq, epoch FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
        if row is None:
            return None
        self._remember(int(row[0]), float(row[1]))
        return int(row[0]), float(row[1])

    def add_checkpoint(self, seq: int, epoch: float, body: bytes) -> None:
        try:
            with self._lock, self._db.transaction():
                self._db.execute(
                    "INSERT INTO audit_checkpoints VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (seq, epoch, body),
                )
        except psycopg.Error as exc:
            raise _fail(exc) from exc
        self._remember(seq, epoch)

    def checkpoint_bodies(self) -> list[bytes]:
        try:
            with self._lock, self._db.transaction():
                return [
                    bytes(r[0])
                    for r in self._db.execute("SELECT body FROM audit_checkpoints ORDER BY seq")
                ]
        except psycopg.Error as exc:
            raise _fail(exc) from exc

    def rows(self, *, descending: bool = False) -> Iterator[tuple[int, bytes, bytes]]:
        order = "DESC" if descending else "ASC"
        try:
            with self._db.transaction(), self._db.cursor(name="audit_rows") as cur:
                cur.itersize = 10_000  # a server-side cursor: a million rows never sit in memory
                cur.execute(
                    f"SELECT seq, body, link FROM audit_entries ORDER BY seq {order}".encode()  # noqa: S608 - fixed words
                )
                for seq, body, link in cur:
                    yield int(seq), bytes(body), bytes(link)
        except psycopg.Error as exc:
            raise _fail(exc) from exc

    def _one(self, sql: str) -> tuple[Any, ...] | None:
        try:
            with self._lock, self._db.transaction():
                return self._db.execute(sql.encode()).fetchone()
        except psycopg.Error as exc:
            raise _fail(exc) from exc

    def close(self) -> None:
        self._db.close()
