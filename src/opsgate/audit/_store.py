"""What the facade needs from a store, and group commit in front of it.

A store serialises appends itself (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a
row lock on the head), so several processes produce one chain.  Within one
process, :class:`GroupCommit` lets concurrent callers share a transaction and its
fsync: whoever holds the writer lock writes everything queued so far.
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

        def last_checkpoint(self) -> tuple[int, float] | None: ...

        def add_checkpoint(self, seq: int, epoch: float, body: bytes) -> None: ...

        def checkpoint_bodies(self) -> list[bytes]: ...

        def head(self) -> tuple[int, bytes]: ...

        def rows(self, *, descending: bool = False) -> Iterator[tuple[int, bytes, bytes]]: ...

        def close(self) -> None: ...


__all__ = ["GroupCommit", "Store"]


class _Request:
    __slots__ = ("document", "entry", "error")

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.entry: Entry | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Batch concurrent appends from threads of one process into one commit.

    A request is queued before its thread takes the writer lock, so either it
    drains the queue itself or an earlier lock holder already wrote it; results
    are set before that holder releases the lock.
    """

    def __init__(self, write: Callable[[list[dict[str, Any]]], list[Entry]]) -> None:
        self._write = write
        self._queue: list[_Request] = []
        self._queue_lock = _thread.allocate_lock()
        self._writer = _thread.allocate_lock()

    def submit(self, document: dict[str, Any]) -> Entry:
        request = _Request(document)
        with self._queue_lock:
            self._queue.append(request)
        with self._writer:
            if request.entry is None and request.error is None:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    for item, entry in zip(
                        batch, self._write([r.document for r in batch]), strict=True
                    ):
                        item.entry = entry
                except BaseException as exc:  # every caller in the batch must see the failure
                    for item in batch:
                        item.error = exc
        if request.error is not None:
            raise request.error
        assert request.entry is not None
        return request.entry
