"""Write batching for SQLite: concurrent write steps share one transaction, one
audit commit and one database commit.

SQLite has one writer at a time, and each write transaction that audits waits for
two fsyncs in series (the audit log's, then the database's) while holding the
write lock: one card at a time.  Here the first caller becomes the leader; callers
arriving meanwhile queue.  The leader opens one write transaction and runs every
queued step in it, each inside a savepoint (a step that raises is rolled back
alone and its caller gets the error).  The audit entries the steps made are held
back and appended in one audit commit before the database commits; if that append
fails the whole transaction rolls back and every caller in the batch gets the
error.  So each operation is still audited durably before it commits, and fails
if its audit cannot be written.  Steps run one after another on one connection,
so conditional updates still give exactly one outcome.

Callers on an event loop (the hot HTTP routes on SQLite) do not wait in a thread
at all: they decide on the loop and hand their audit entries, and the write step
of a card, to ``LoopWriter``, a thread of its own that writes the same kind of
batch and wakes each waiting coroutine once it is durable.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.engine import Connection

from opsgate.audit import AuditLog
from opsgate.store import Store

__all__ = ["Capture", "Keyed", "LoopWriter", "WriteBatcher"]

log = logging.getLogger("opsgate.approvals")

T = TypeVar("T")
MAX_BATCH = 64
# A held audit document, and what to write (in the same transaction) once it has its
# sequence number: a card linking the audit entry of the retry that used it.
Link = tuple[dict[str, Any], Callable[[Connection, int], None]]


class _Job(Generic[T]):
    __slots__ = ("documents", "done", "error", "result", "step", "wake")

    def __init__(self, step: Callable[[Connection], T]) -> None:
        self.step: Callable[[Connection], T] | None = step
        self.documents: list[dict[str, Any]] = []
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False
        self.wake = _thread.allocate_lock()
        self.wake.acquire()  # released when the job ran, or to make it leader


class Capture:
    """Audit documents held back by the steps of the batch being written (per thread:
    only the leader's thread captures; every other thread appends at once), and,
    while a request is decided on the event loop, the writes it leaves for later."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def later(self) -> list[Callable[[Connection], Any]] | None:
        found: list[Callable[[Connection], Any]] | None = getattr(self._local, "later", None)
        return found

    def set_later(self, steps: list[Callable[[Connection], Any]] | None) -> None:
        self._local.later = steps

    @property
    def documents(self) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] | None = getattr(self._local, "documents", None)
        return found

    def set(self, documents: list[dict[str, Any]] | None) -> None:
        self._local.documents = documents

    @property
    def links(self) -> list[Link] | None:
        """Held documents whose sequence number a step wants, once they have one."""
        found: list[Link] | None = getattr(self._local, "links", None)
        return found

    def set_links(self, links: list[Link] | None) -> None:
        self._local.links = links

    @property
    def revision(self) -> int | None:
        """The organisation's revision a PostgreSQL batch read at its start (in its
        transaction), while its steps run: they need not read it again."""
        found: int | None = getattr(self._local, "revision", None)
        return found

    def set_revision(self, revision: int | None) -> None:
        self._local.revision = revision

    @property
    def gated(self) -> bool:
        """Whether a PostgreSQL batch holds the lockdown gate (shared) for its whole
        transaction, while its steps run: they need not take it again."""
        return bool(getattr(self._local, "gated", False))

    def set_gated(self, gated: bool) -> None:
        self._local.gated = gated


class Keyed(Generic[T]):
    """A write step that names the actions (digests) whose grants and denials it will
    look up: a PostgreSQL batch reads those for all its steps in one round trip
    (``store._batched``).  Called like the step itself."""

    __slots__ = ("digests", "step")

    def __init__(self, step: Callable[[Connection], T], digests: tuple[str, ...]) -> None:
        self.step = step
        self.digests = digests

    def __call__(self, conn: Connection) -> T:
        return self.step(conn)


class WriteBatcher:
    def __init__(self, store: Store, audit: AuditLog, capture: Capture) -> None:
        self._store = store
        self._audit = audit
        self._capture = capture
        self._queue: list[_Job[Any]] = []
        self._mutex = _thread.allocate_lock()  # guards _queue and _busy
        self._busy = False

    def run(self, step: Callable[[Connection], T]) -> T:
        job: _Job[T] = _Job(step)
        with self._mutex:
            self._queue.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.wake.acquire()  # run by a leader, or handed the lead
        if not job.done:
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]  # set when no error

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            self._write(batch)
        except BaseException as exc:  # the transaction failed: nobody in it committed
            for job in batch:
                if job.error is None:
                    job.error, job.result = exc, None
        finally:
            with self._mutex:
                successor = self._queue[0] if self._queue else None
                self._busy = successor is not None
            for job in batch:
                job.done = True
                job.wake.release()  # the leader's own lock too: harmless, never waited on
            if successor is not None:
                successor.wake.release()

    def _write(self, batch: list[_Job[Any]]) -> None:
        write_batch(self._store, self._audit, self._capture, batch)


class _Step(Protocol):
    step: Callable[[Connection], Any] | None
    documents: list[dict[str, Any]]
    result: Any
    error: BaseException | None


def write_batch(store: Store, audit: AuditLog, capture: Capture, batch: Iterable[_Step]) -> None:
    """Run every step of ``batch`` in one write transaction, each in a savepoint (a
    step that raises is rolled back alone and keeps its error), then append all the
    audit documents — each job's own, then those its step made, in batch order — in
    one audit commit before the database commits.  An error from the transaction
    or the audit append propagates: nothing in the batch committed."""
    jobs = list(batch)
    if all(job.step is None for job in jobs):  # audit entries only: no transaction
        audit.append_documents([d for job in jobs for d in job.documents])
        return
    documents: list[dict[str, Any]] = []
    links: list[Link] = []
    with store.write() as conn:
        for job in jobs:
            held: list[dict[str, Any]] = []
            linked: list[Link] = []
            if job.step is not None:
                capture.set(held)
                capture.set_links(linked)
                # A plain savepoint (the batch runs on SQLite only): SQLAlchemy's
                # nested-transaction bookkeeping cost more than the card's insert.
                conn.exec_driver_sql("SAVEPOINT step")
                try:
                    job.result = job.step(conn)
                except Exception as exc:  # this step alone is rolled back
                    conn.exec_driver_sql("ROLLBACK TO step")
                    conn.exec_driver_sql("RELEASE step")
                    job.error = exc
                    continue
                finally:
                    capture.set(None)
                    capture.set_links(None)
                conn.exec_driver_sql("RELEASE step")
            documents.extend(job.documents)
            documents.extend(held)
            links.extend(linked)
        # Durable audit before the commit; a failure here rolls everything back.
        entries = audit.append_documents(documents)
        if links:  # in order, one entry per document (``append_documents``)
            seqs = {id(d): e.seq for d, e in zip(documents, entries, strict=True)}
            for document, write in links:
                write(conn, seqs[id(document)])


class _Pending:
    """One coroutine's durable write: audit documents and, for a card, a step."""

    __slots__ = ("documents", "error", "future", "result", "step")

    def __init__(
        self,
        step: Callable[[Connection], Any] | None,
        documents: list[dict[str, Any]],
        future: asyncio.Future[Any] | None,
    ) -> None:
        self.step = step
        self.documents = documents
        self.future = future  # None: nobody waits (a best-effort write)
        self.result: Any = None
        self.error: BaseException | None = None


class LoopWriter:
    """Durable writes for coroutines, made by one thread of its own.

    A coroutine queues its audit documents (and a card's write step) and awaits a
    future; the thread takes everything queued, writes it as one batch
    (``write_batch``: one transaction, one audit commit) and resolves the futures
    with one call into their event loop.  The event loop never waits for a disk,
    no worker thread is woken per request, and each request still gets its answer
    only after its audit entries (and its card) are durable — or the error that
    kept them from being so."""

    def __init__(self, store: Store, audit: AuditLog, capture: Capture) -> None:
        self._store = store
        self._audit = audit
        self._capture = capture
        self._queue: list[_Pending] = []
        self._ready = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._closed = False

    async def audit(self, documents: list[dict[str, Any]]) -> None:
        """Return once ``documents`` are durably in the audit log."""
        if documents:
            await self._submit(None, documents)

    async def run(
        self, step: Callable[[Connection], T], documents: list[dict[str, Any]] | None = None
    ) -> T:
        """Return ``step``'s result once its transaction and its audit entries (the
        ``documents`` made before it, then those it made) are durable."""
        result: T = await self._submit(step, documents or [])
        return result

    def later(self, step: Callable[[Connection], Any]) -> None:
        """Write ``step`` with the next batch; nobody waits for it (a failure is only
        logged).  For bookkeeping that must not hold up a request: a token's last use."""
        self._enqueue(_Pending(step, [], None))

    def _submit(
        self, step: Callable[[Connection], Any] | None, documents: list[dict[str, Any]]
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(_Pending(step, documents, future))
        return future

    def _enqueue(self, pending: _Pending) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the control plane is closed")
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="opsgate-writer", daemon=True
                )
                self._thread.start()
            self._ready.notify()

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=30)

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                write_batch(self._store, self._audit, self._capture, batch)
            except BaseException as exc:  # nothing in the batch committed
                for pending in batch:
                    if pending.error is None:
                        pending.error, pending.result = exc, None
            _settle(batch)


def _settle(batch: list[_Pending]) -> None:
    """Hand each result or error to its coroutine: one call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        if pending.future is None:
            if pending.error is not None:
                log.warning("a background write failed: %s", type(pending.error).__name__)
            continue
        by_loop.setdefault(pending.future.get_loop(), []).append(pending)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_resolve, waiting)


def _resolve(waiting: list[_Pending]) -> None:
    for pending in waiting:
        future = pending.future
        assert future is not None
        if future.done():  # the waiting request was cancelled (its client went away)
            continue
        if pending.error is not None:
            future.set_exception(pending.error)
        else:
            future.set_result(pending.result)
