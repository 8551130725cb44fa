"""Write batching for PostgreSQL: the decisions of concurrent requests share one
transaction, one WAL flush and one hold of the audit chain's head lock.

On PostgreSQL the audit log lives in the control plane's own database, so a batch
writes everything in one transaction: the write steps (a card, a grant's use, a
token's last use), then the audit entries, chained under the head-row lock taken
last (held only for the inserts and the commit), then ``COMMIT``.  Each request is
answered once that commit returned: its audit entries are durable, with its card.
A chain across replicas stays one line: every batch, and every append made
elsewhere (``PostgresStore.write``), numbers its entries under the same row lock.

A batch with steps is three round trips, however many cards it makes: (1) the
lockdown gate, the revision, and every step's grants and denials read ahead; (2) the
cards and notifications the steps held back, with the head lock; (3) the entries and
``COMMIT`` (``store._batched``).  Each round trip costs the writer thread a GIL
hand-off from a busy event loop, which is what made per-step statements expensive.

The hot routes decide on the event loop without reading (``Store.known``): from
caches valid at the organisation's revision this writer last saw.  Each batch reads
the revision first, in its transaction; a request decided at another revision gets
``Stale`` (nothing of it is written) and is decided again in a worker thread, with
fresh reads.  So a revoked token or a changed setting counts for every request
answered after the change committed, as it does when each request reads.

Steps run without savepoints (each one a round trip): a step that raises rolls the
whole transaction back, and the batch is run again without it; held rows that fail
(an error of the database, not of the connection) run it again with each row
written at its own step, so only the step whose row fails is left out.  A failure of the
connection or of the audit append fails the whole batch (503 for everyone in it;
nothing is retried: a commit whose answer was lost may have landed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from opsgate.approvals._batch import MAX_BATCH, Capture, Link, _Pending, _settle
from opsgate.approvals._control_lockdown import LOCK_LOCKDOWN
from opsgate.audit import AuditLog, AuditWriteError, Entry
from opsgate.audit.store_postgres import INSERT, LOCK_HEAD, MOVE_HEAD, PostgresStore
from opsgate.errors import OpsgateError
from opsgate.store import Stale, Store, StoreError
from opsgate.store._batched import ReadAhead, batched, read_ahead

__all__ = ["PostgresWriter", "shares_database"]

log = logging.getLogger("opsgate.approvals")

T = TypeVar("T")
RECONNECT_INTERVAL = 0.5  # seconds between attempts to replace a broken connection
# Writer threads, each with its own connection.  One: a batch's steps cost no round
# trips of their own (``store._batched``), so a second lane only split the batches —
# more transactions, flushes and GIL hand-offs for the same requests (on 2 cores,
# propose 1,075/s with one lane, 1,022/s with two, 783/s with four lanes of at most
# four steps each, as before the read-ahead).  The second thread waits for a head lock
# that the first holds through its flush anyway.
LANES = 1
_REVISION = b"SELECT rev FROM org_revision WHERE id = 1"
# The lockdown gate, shared (``LockdownMixin._gate``), for a whole batch with steps.
_GATE = f"SELECT pg_advisory_xact_lock_shared({LOCK_LOCKDOWN})".encode()
_LOG_ID = "SELECT value FROM audit_meta WHERE key = 'log_id'"


class _Job(_Pending):
    __slots__ = ("digests", "revision")

    def __init__(
        self,
        step: Callable[[Connection], Any] | None,
        documents: list[dict[str, Any]],
        future: asyncio.Future[Any] | None,
        revision: int | None,
        digests: tuple[str, ...] = (),
    ) -> None:
        super().__init__(step, documents, future)
        self.revision = revision  # None: written whatever the revision (bookkeeping)
        self.digests = digests  # the actions whose grants and denials the step looks up


class _StepFailed(Exception):
    """A step raised: its transaction is rolled back; the batch runs again without it."""


class _HeldRowsFailed(Exception):
    """The rows the steps left to be sent with the head lock failed (an error of the
    database, not of the connection): nothing committed; the batch runs again with
    each row written at its own step, so only the step whose row fails is left out."""


def shares_database(store: Store, audit: AuditLog) -> bool:
    """Whether ``audit`` chains into ``store``'s PostgreSQL database (the same log),
    so a batch may write both in one transaction."""
    chain = audit.store
    if store.dialect != "postgresql" or not isinstance(chain, PostgresStore):
        return False
    from opsgate.store._engine import driver_execute

    try:
        with store.read() as conn:
            row = driver_execute(conn, _LOG_ID)
    except (OpsgateError, sa_exc.SQLAlchemyError):
        return False
    return row is not None and row[0] == chain.log_id


class PostgresWriter:
    """Durable writes for coroutines on PostgreSQL, made by one thread of its own
    (the interface of ``_batch.LoopWriter``, with the revision each request was
    decided at)."""

    def __init__(self, store: Store, audit: AuditLog, capture: Capture, lanes: int = LANES) -> None:
        chain = audit.store
        assert isinstance(chain, PostgresStore)
        self._store = store
        self._audit = audit
        self._chain = chain
        self._capture = capture
        self._queue: list[_Job] = []
        self._ready = threading.Condition(threading.Lock())
        self._threads: list[threading.Thread] = []
        self._lanes = max(1, lanes)
        self._idle = 0  # threads waiting for work
        self._closed = False
        # The newest organisation revision seen (by a batch, or a worker thread's
        # reads): what the event loop decides at.  None until the first is seen.
        self.revision: int | None = None

    def saw(self, revision: int) -> None:
        """A revision read elsewhere (revisions only grow)."""
        if self.revision is None or revision > self.revision:
            self.revision = revision

    async def audit(self, documents: list[dict[str, Any]], revision: int | None) -> None:
        """Return once ``documents`` are durably in the audit log (``Stale`` if the
        organisation is no longer at ``revision``)."""
        if documents:
            await self._submit(None, documents, revision)

    async def run(
        self,
        step: Callable[[Connection], T],
        documents: list[dict[str, Any]],
        revision: int | None,
        digests: tuple[str, ...] = (),
    ) -> T:
        """``step``'s result once it and its audit entries are committed; ``digests``:
        the actions whose grants and denials it looks up (read ahead for the batch)."""
        result: T = await self._submit(step, documents, revision, digests)
        return result

    def later(self, step: Callable[[Connection], Any]) -> None:
        """Write ``step`` with the next batch; nobody waits (a failure is logged)."""
        self._enqueue(_Job(step, [], None, None))

    def _submit(
        self,
        step: Callable[[Connection], Any] | None,
        docs: list[dict[str, Any]],
        rev: int | None,
        digests: tuple[str, ...] = (),
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(_Job(step, docs, future, rev, digests))
        return future

    def _enqueue(self, job: _Job) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the control plane is closed")
            self._queue.append(job)
            if not self._idle and len(self._threads) < self._lanes:
                thread = threading.Thread(
                    target=self._serve, name=f"opsgate-pg-writer-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._ready.notify()

    def close(self) -> None:
        """Write what is queued, then stop the thread and release its connection."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=30)

    def _serve(self) -> None:
        lane = _Lane(self._store)
        try:
            while self._one_batch(lane):
                pass
        finally:
            lane.drop()

    def _one_batch(self, lane: _Lane) -> bool:
        """Write the next batch; False once closed and nothing is left."""
        with self._ready:
            self._idle += 1
            while not self._queue and not self._closed:
                self._ready.wait()
            self._idle -= 1
            if not self._queue:
                return False
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            if self._queue:
                self._ready.notify()  # another lane takes the rest meanwhile
        try:
            self._write(lane, batch)
        except BaseException as exc:  # nothing in the batch committed
            for job in batch:
                if job.error is None:
                    job.error, job.result = exc, None
        _settle(list(batch))
        return True

    # --- one batch -----------------------------------------------------------------------

    def _write(self, lane: _Lane, batch: list[_Job]) -> None:
        """Commit ``batch``; a job whose step raised is left out and the rest run again."""
        jobs, defer = batch, True
        while jobs:
            try:
                entries = self._transaction(lane, jobs, defer)
            except _StepFailed:
                jobs = [job for job in jobs if job.error is None]
                continue
            except _HeldRowsFailed:
                defer = False  # again, each row at its step: the one that fails is left out
                continue
            except OpsgateError:
                raise
            except sa_exc.SQLAlchemyError as exc:
                raise StoreError(
                    f"the control plane database failed: {getattr(exc, 'orig', None) or exc}",
                    hint="opsgate reconnects by itself once the database answers again",
                ) from exc
            except psycopg.Error as exc:
                raise AuditWriteError(
                    f"PostgreSQL: {str(exc).strip() or type(exc).__name__}",
                    hint="opsgate reconnects by itself once the database answers again",
                ) from exc
            # Durable: sign a checkpoint if one is due (a failure fails the batch's
            # answers, as an append's does: the trail cannot be vouched for).
            self._audit.committed(entries)
            return

    def _transaction(self, lane: _Lane, jobs: list[_Job], defer: bool) -> list[Entry]:
        conn = lane.connection()
        pg = conn.connection.dbapi_connection
        assert isinstance(pg, psycopg.Connection)
        transaction = conn.begin()
        try:
            if any(job.step is not None for job in jobs):
                return self._steps_and_chain(conn, pg, transaction, jobs, defer)
            return self._chain_only(conn, pg, transaction, jobs)
        except BaseException:
            with contextlib.suppress(Exception):
                transaction.rollback()
            if pg.broken or pg.closed or conn.invalidated:
                lane.drop()
            raise

    def _chain_only(
        self, conn: Connection, pg: psycopg.Connection[Any], transaction: Any, jobs: list[_Job]
    ) -> list[Entry]:
        """Audit entries only: two round trips.  The revision is read after the head
        lock is granted: a change that appended its audit entry (under that lock)
        has committed by then, so this batch sees it — nothing decided before a
        lockdown is written after it."""
        # Two cursors: each keeps the result of its own query in the pipeline.
        with pg.pipeline(), pg.cursor() as rev, pg.cursor() as cur:
            cur.execute(LOCK_HEAD)
            rev.execute(_REVISION)  # sent with BEGIN and the head lock
            revision = _revision(rev)
            head = cur.fetchone()
        documents = self._current(jobs, revision)
        return self._commit(conn, pg, transaction, head, (documents, []), revision)

    def _steps_and_chain(
        self,
        conn: Connection,
        pg: psycopg.Connection[Any],
        transaction: Any,
        jobs: list[_Job],
        defer: bool,
    ) -> list[Entry]:
        """Write steps, then the audit entries: three round trips, plus the steps'
        reads.  The lockdown gate is taken (shared) before the revision is read and
        held to the commit, so a lockdown (which takes it exclusively) has either
        committed before the read — the revision shows it, and what was decided
        before it is ``Stale`` — or waits for this commit and sweeps what it wrote."""
        digests = frozenset(d for job in jobs for d in job.digests)
        with (
            pg.pipeline(),
            pg.cursor() as gate,
            pg.cursor() as rev,
            pg.cursor(row_factory=namedtuple_row) as grants,
            pg.cursor(row_factory=namedtuple_row) as denials,
        ):
            gate.execute(_GATE)  # sent with BEGIN
            rev.execute(_REVISION)
            if digests:  # the steps' look-ups, all at once
                read_ahead(grants, denials, digests)
            revision = _revision(rev)
            ahead = ReadAhead(digests, grants.fetchall(), denials.fetchall()) if digests else None
        links: list[Link] = []
        with batched(conn, ahead, defer=defer) as rows:
            documents = self._run_steps(conn, jobs, revision, links)
        started = time.perf_counter()
        try:
            with pg.pipeline(), pg.cursor() as rev, pg.cursor() as cur:
                if rows:
                    rows.send(cur)  # the cards and notifications the steps made
                cur.execute(LOCK_HEAD)
                rev.execute(_REVISION)  # for ``saw``: the steps may have moved it
                head = cur.fetchone()
                revision = _revision(rev)
        except psycopg.Error as exc:
            if rows and not isinstance(exc, psycopg.OperationalError) and not pg.broken:
                raise _HeldRowsFailed from exc
            raise
        return self._commit(conn, pg, transaction, head, (documents, links), revision, started)

    def _commit(
        self,
        conn: Connection,
        pg: psycopg.Connection[Any],
        transaction: Any,
        head: tuple[Any, ...] | None,
        held: tuple[list[dict[str, Any]], list[Link]],
        revision: int,
        started: float | None = None,
    ) -> list[Entry]:
        """Chain the ``held`` documents on from ``head`` (read under the head lock),
        write what links to their sequence numbers, and commit."""
        documents, links = held
        started = time.perf_counter() if started is None else started
        assert head is not None
        entries: list[Entry] = []
        rows: list[tuple[int, bytes, bytes]] = []
        if documents:
            rows, entries = self._chain.chained(head, documents)
        if links:  # a used card names the entry of the retry that used it
            seqs = {id(d): e.seq for d, e in zip(documents, entries, strict=True)}
            for document, write in links:
                write(conn, seqs[id(document)])
        with pg.pipeline(), pg.cursor() as cur:
            if rows:
                cur.executemany(INSERT, rows)
                cur.execute(MOVE_HEAD, (rows[-1][0], rows[-1][2]))
            transaction.commit()  # in the pipeline: sent with the inserts; waits for the flush
        observe = self._audit.observer
        if observe is not None and documents:  # the chain's part: head lock to durable
            observe(time.perf_counter() - started)
        self.saw(revision)
        return entries

    def _current(self, jobs: list[_Job], revision: int) -> list[dict[str, Any]]:
        """The audit documents of every job decided at ``revision``, in batch order;
        the others get ``Stale``."""
        documents: list[dict[str, Any]] = []
        for job in jobs:
            if job.revision is not None and job.revision != revision:
                job.error, job.result = Stale(), None
            else:
                documents.extend(job.documents)
        return documents

    def _run_steps(
        self, conn: Connection, jobs: list[_Job], revision: int, links: list[Link]
    ) -> list[dict[str, Any]]:
        """Run each current job's step in this transaction (which holds the lockdown
        gate); the audit documents of every current job, in batch order.  Jobs
        decided at another revision get ``Stale`` and are left out."""
        documents: list[dict[str, Any]] = []
        self._capture.set_revision(revision)
        self._capture.set_gated(True)
        try:
            self._each_step(conn, jobs, revision, documents, links)
        finally:
            self._capture.set_revision(None)
            self._capture.set_gated(False)
        return documents

    def _each_step(
        self,
        conn: Connection,
        jobs: list[_Job],
        revision: int,
        documents: list[dict[str, Any]],
        links: list[Link],
    ) -> None:
        for job in jobs:
            if job.revision is not None and job.revision != revision:
                job.error, job.result = Stale(), None
                continue
            if job.step is not None:
                held: list[dict[str, Any]] = []
                linked: list[Link] = []
                self._capture.set(held)
                self._capture.set_links(linked)
                try:
                    job.result = job.step(conn)
                except Exception as exc:
                    if conn.invalidated or _broken(conn):
                        raise  # the connection, not the step: the whole batch fails
                    job.error, job.result = exc, None
                    raise _StepFailed from exc
                finally:
                    self._capture.set(None)
                    self._capture.set_links(None)
                documents.extend(job.documents)
                documents.extend(held)
                links.extend(linked)
            else:
                documents.extend(job.documents)


class _Lane:
    """One writer thread's connection, kept (a checkout per batch would cost a ping
    each) and replaced when it broke; between attempts, batches are refused at once."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn: Connection | None = None
        self._next_attempt = 0.0

    def connection(self) -> Connection:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.invalidated:
            return conn
        now = time.monotonic()
        if now < self._next_attempt:
            raise StoreError(
                "PostgreSQL is unavailable (reconnecting)",
                hint="opsgate reconnects by itself once the database answers again",
            )
        self._next_attempt = now + RECONNECT_INTERVAL
        self.drop()
        self._conn = self._store.engine.connect()
        return self._conn

    def drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()
                conn.close()


def _revision(cur: psycopg.Cursor[Any]) -> int:
    row = cur.fetchone()
    return int(row[0]) if row is not None else -1


def _broken(conn: Connection) -> bool:
    with contextlib.suppress(Exception):
        pg = conn.connection.dbapi_connection
        return bool(getattr(pg, "broken", False) or getattr(pg, "closed", False))
    return True
