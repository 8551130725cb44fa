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

The connection survives its server: a PostgreSQL restart or failover breaks it,
the operation under way fails (``AuditWriteError``: the caller answers 503, never
allow), and the next operation opens a new connection — at most one attempt per
``RECONNECT_INTERVAL``, so an outage costs each caller a fast refusal rather than
a connect timeout.  A failed write is never retried here: a commit whose answer
was lost may have landed, and a retry would store the entries twice.
"""

from __future__ import annotations

import _thread
import os
import time
from collections.abc import Iterator
from typing import Any

import psycopg

from opsgate._pg_encoding import DatabaseEncodingError, require_utf8
from opsgate.audit.chain import genesis, seal
from opsgate.audit.errors import AuditWriteError
from opsgate.audit.events import Entry

__all__ = ["INSERT", "LOCK_HEAD", "MOVE_HEAD", "RECONNECT_INTERVAL", "PostgresStore"]

RECONNECT_INTERVAL = 0.5  # seconds between attempts to reopen a broken connection
_CONNECT = {
    "autocommit": False,
    "connect_timeout": 5,
    # A server that vanished without closing (a failover, a partition) is noticed
    # by TCP keepalives within about 20 s instead of the kernel's two hours.
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
}

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
# For a caller that chains entries in a transaction of its own on the same database
# (the control plane's write batches): lock the head, seal with ``chained``, insert,
# move the head, commit.
LOCK_HEAD, INSERT, MOVE_HEAD = _LOCK_HEAD, _INSERT, _MOVE_HEAD


def _fail(exc: BaseException) -> AuditWriteError:
    return AuditWriteError(
        f"PostgreSQL: {str(exc).strip() or type(exc).__name__}",
        hint="opsgate reconnects by itself once the database answers again",
    )


def _ends_connection(exc: psycopg.Error) -> bool:
    """Errors after which this connection is not worth keeping: it is gone, or it
    reaches a server that can no longer write (a demoted primary after failover)."""
    return isinstance(exc, psycopg.OperationalError | psycopg.errors.ReadOnlySqlTransaction)


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.location = url.split("@")[-1]  # never print credentials
        self._url = url
        self._lock = _thread.allocate_lock()  # one connection, one transaction at a time
        # The last checkpoint as read under the head lock by the latest write (or
        # set by add_checkpoint): checkpoints are only ever added, so it can be
        # stale only by missing a newer one, which a fresh read then finds.
        self._checkpoint: tuple[int, float] | None = None
        self._db: psycopg.Connection[Any] | None = None
        self._next_attempt = 0.0  # monotonic time before which no reconnect is tried
        try:
            self.log_id = self._init(self._connection())
        except psycopg.Error as exc:
            raise _fail(exc) from exc

    def _connection(self) -> psycopg.Connection[Any]:
        """The open connection, or a new one when the last broke (call under the
        lock).  Between attempts, callers are refused at once."""
        db = self._db
        if db is not None and not db.closed and not db.broken:
            return db
        now = time.monotonic()
        if now < self._next_attempt:
            raise AuditWriteError(
                "PostgreSQL is unavailable (reconnecting)",
                hint="opsgate reconnects by itself once the database answers again",
            )
        self._next_attempt = now + RECONNECT_INTERVAL
        if db is not None:
            db.close()
            self._db = None
        db = psycopg.connect(self._url, **_CONNECT)  # type: ignore[arg-type]
        try:
            require_utf8(db.info.parameter_status("server_encoding"), self.location)
        except DatabaseEncodingError:
            db.close()
            raise
        self._db = db
        return db

    def _broken(self, exc: psycopg.Error) -> AuditWriteError:
        """Translate ``exc``, dropping the connection if it cannot be trusted."""
        if _ends_connection(exc) and self._db is not None:
            self._db.close()
        return _fail(exc)

    def _init(self, db: psycopg.Connection[Any]) -> str:
        with db.transaction(), db.cursor() as cur:
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
            db = self._connection()
            with db.pipeline(), db.transaction(), db.cursor() as cur:
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
            raise self._broken(exc) from exc
        if head[2] is not None:
            self._remember(int(head[2]), float(head[3]))
        return [Entry(s, b, lk, d) for (s, b, lk), d in zip(rows, documents, strict=True)]

    def chained(
        self, head: tuple[Any, ...], documents: list[dict[str, Any]]
    ) -> tuple[list[tuple[int, bytes, bytes]], list[Entry]]:
        """The rows (for ``INSERT``) and entries that chain ``documents`` on from
        ``head``, a row of ``LOCK_HEAD`` read under the lock in the caller's
        transaction; they are durable once that transaction commits."""
        seq, prev = int(head[0]), bytes(head[1])
        rows = []
        for doc in documents:
            seq += 1
            body, prev = seal(doc, seq, prev)
            rows.append((seq, body, prev))
        if head[2] is not None:
            self._remember(int(head[2]), float(head[3]))
        return rows, [Entry(s, b, lk, d) for (s, b, lk), d in zip(rows, documents, strict=True)]

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
        with self._lock:
            try:
                db = self._connection()
                with db.transaction():
                    db.execute(
                        "INSERT INTO audit_checkpoints VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                        (seq, epoch, body),
                    )
            except psycopg.Error as exc:
                raise self._broken(exc) from exc
        self._remember(seq, epoch)

    def checkpoint_bodies(self) -> list[bytes]:
        with self._lock:
            try:
                db = self._connection()
                with db.transaction():
                    found = db.execute("SELECT body FROM audit_checkpoints ORDER BY seq")
                    return [bytes(r[0]) for r in found]
            except psycopg.Error as exc:
                raise self._broken(exc) from exc

    def probe(self) -> None:
        """Prove the log can be written now: a committed write beside the chain
        (not an entry), reconnecting first if needed.  Raises AuditWriteError."""
        with self._lock:
            try:
                db = self._connection()
                with db.transaction():
                    db.execute(
                        "INSERT INTO audit_meta VALUES ('probe', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        (repr(time.time()),),
                    )
            except psycopg.Error as exc:
                raise self._broken(exc) from exc

    def rows(
        self, *, descending: bool = False, after: int = 0
    ) -> Iterator[tuple[int, bytes, bytes]]:
        order = "DESC" if descending else "ASC"
        # A connection of its own: a long export holds a transaction open, and on
        # the shared connection every append would become a savepoint inside it.
        try:
            db = psycopg.connect(self._url, **_CONNECT)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise _fail(exc) from exc
        try:
            with db, db.transaction(), db.cursor(name="audit_rows") as cur:
                cur.itersize = 10_000  # a server-side cursor: a million rows never sit in memory
                query = (
                    f"SELECT seq, body, link FROM audit_entries WHERE seq > %s ORDER BY seq {order}"  # noqa: S608 - fixed words
                )
                cur.execute(query.encode(), (after,))
                for seq, body, link in cur:
                    yield int(seq), bytes(body), bytes(link)
        except psycopg.Error as exc:
            raise _fail(exc) from exc

    def _one(self, sql: str) -> tuple[Any, ...] | None:
        with self._lock:
            try:
                db = self._connection()
                with db.transaction():
                    return db.execute(sql.encode()).fetchone()
            except psycopg.Error as exc:
                raise self._broken(exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
