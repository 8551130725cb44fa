"""What the facade needs from a store, and group commit in front of it.

A store serialises appends itself (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
row lock on the head), so several processes produce one chain.  Within one
process, :class:`GroupCommit` lets concurrent callers share a transaction and its
fsync: one leader at a time writes everything queued so far.
"""

from __future__ import annotations

import _thread  # threading costs ~3 ms to import; the hook needs only a lock
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typing.Protocol classes cost ~0.5 ms to build; only mypy needs this one
    from collections.abc import Iterator
    from typing import Protocol

    from opsgate.audit.events import Entry

    class Store(Protocol):
        log_id: str
        location: str

        def write(self, documents: list[dict[str, Any]]) -> list[Entry]:
            """Number, seal and durably commit ``documents`` in one transaction."""
            ...

        def last_checkpoint(self, *, cached: bool = False) -> tuple[int, float] | None:
            """(seq, epoch) of the newest checkpoint; ``cached`` allows the value
            seen by this process's latest write (possibly missing a newer one)."""
            ...

        def add_checkpoint(self, seq: int, epoch: float, body: bytes) -> None: ...

        def checkpoint_bodies(self) -> list[bytes]: ...

        def head(self) -> tuple[int, bytes]: ...

        def probe(self) -> None:
            """Commit a write beside the chain (not an entry); AuditWriteError if the
            log cannot be written now.  For readiness checks."""
            ...

        def rows(
            self, *, descending: bool = False, after: int = 0
        ) -> Iterator[tuple[int, bytes, bytes]]:
            """(seq, body, link) of the entries with a sequence above ``after``."""
            ...

        def close(self) -> None: ...


__all__ = ["GroupCommit", "Store"]


class _Request:
    __slots__ = ("document", "entry", "error", "wake")

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.entry: Entry | None = None
        self.error: BaseException | None = None
        self.wake = _thread.allocate_lock()
        self.wake.acquire()  # released when the entry is written, or to make it leader


class GroupCommit:
    """Batch concurrent appends from threads of one process into one commit.

    The first caller becomes the leader and writes; callers arriving meanwhile
    queue and sleep.  When its commit returns, the leader wakes every caller it
    wrote for (they return at once, without waiting for the next commit) and
    hands leadership to the oldest queued caller, who writes the whole queue in
    one transaction.  A caller returns only after its own entry was committed.
    """

    def __init__(self, write: Callable[[list[dict[str, Any]]], list[Entry]]) -> None:
        self._write = write
        self._queue: list[_Request] = []
        self._mutex = _thread.allocate_lock()  # guards _queue and _busy
        self._busy = False  # a leader is writing (or has been handed the role)

    def submit(self, document: dict[str, Any]) -> Entry:
        return self.submit_many([document])[0]

    def submit_many(self, documents: list[dict[str, Any]]) -> list[Entry]:
        """Commit ``documents`` (consecutively, in one transaction) with whatever else
        is queued.  They are queued together and a leader takes the whole queue at
        once, so they are written by one commit: it fails or succeeds for all."""
        requests = [_Request(d) for d in documents]
        if not requests:
            return []
        first = requests[0]
        with self._mutex:
            self._queue.extend(requests)
            lead = not self._busy
            self._busy = True
        if not lead:
            first.wake.acquire()  # written by a leader, or handed the lead
        if first.entry is None and first.error is None:
            self._lead()
        entries = []
        for request in requests:
            if request.error is not None:
                raise request.error
            assert request.entry is not None
            entries.append(request.entry)
        return entries

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue, []
        try:
            entries = self._write([r.document for r in batch])
            for item, entry in zip(batch, entries, strict=True):
                item.entry = entry
        except BaseException as exc:  # every caller in the batch must see the failure
            for item in batch:
                item.error = exc
        finally:
            with self._mutex:
                successor = self._queue[0] if self._queue else None
                self._busy = successor is not None
            for item in batch:
                item.wake.release()  # the leader's own lock too: harmless, never waited on
            if successor is not None:
                successor.wake.release()
