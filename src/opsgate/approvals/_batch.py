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
"""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

from opsgate.audit import AuditLog
from opsgate.store import Store

__all__ = ["WriteBatcher"]

T = TypeVar("T")
MAX_BATCH = 64


class _Job(Generic[T]):
    __slots__ = ("done", "error", "result", "step", "wake")

    def __init__(self, step: Callable[[Connection], T]) -> None:
        self.step = step
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False
        self.wake = _thread.allocate_lock()
        self.wake.acquire()  # released when the job ran, or to make it leader


class Capture:
    """Audit documents held back by the steps of the batch being written (per thread:
    only the leader's thread captures; every other thread appends at once)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def documents(self) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] | None = getattr(self._local, "documents", None)
        return found

    def set(self, documents: list[dict[str, Any]] | None) -> None:
        self._local.documents = documents


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
        documents: list[dict[str, Any]] = []
        with self._store.write() as conn:
            for job in batch:
                held: list[dict[str, Any]] = []
                self._capture.set(held)
                try:
                    with conn.begin_nested():
                        job.result = job.step(conn)
                except Exception as exc:  # this step alone is rolled back
                    job.error = exc
                    continue
                finally:
                    self._capture.set(None)
                documents.extend(held)
            # Durable audit before the commit; a failure here rolls everything back.
            self._audit.append_documents(documents)
