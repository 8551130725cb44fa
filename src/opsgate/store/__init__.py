"""Persistence for the control plane: SQLAlchemy Core over SQLite (one file in the
data directory, created on first use) or PostgreSQL (``OPSGATE_DATABASE_URL``).

    store = open_store(data_dir)          # migrates on open
    with store.write() as conn:           # one transaction; commits on exit
        ...

Queries live in ``_people``, ``_org`` and ``_cards``: plain functions over a
``Connection``, so the service composes them inside one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from opsgate.store._engine import DB_FILE, make_engine, resolve_url
from opsgate.store._migrate import LATEST, migrate
from opsgate.store.errors import StoreError

__all__ = [
    "DB_FILE",
    "LATEST",
    "Stale",
    "Store",
    "StoreError",
    "Unread",
    "open_store",
    "serialize",
]


class Unread(Exception):
    """A read was asked for inside ``Store.known``: what the caller needs is not in
    its caches, so it must decide again where it may read (a worker thread)."""


class Stale(Exception):
    """The organisation changed after a request was decided from caches (its
    revision moved): nothing of it was written; decide it again with fresh reads."""


class Store:
    def __init__(self, url: str) -> None:
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._engine, self._reader = make_engine(url)
        self._pinned = threading.local()
        # Connections held by threads for their snapshots (``snapshot(keep=True)``).
        self._kept: list[Connection] = []
        self._kept_lock = threading.Lock()
        # SQLite has one writer at a time, and its busy handler polls with growing
        # sleeps: threads of this process queue on a lock instead (fair, no polling),
        # and only other processes meet the busy timeout.  PostgreSQL needs none.
        self._writer: AbstractContextManager[object] = (
            threading.Lock() if self.dialect == "sqlite" else nullcontext()
        )
        try:
            self.found_version = migrate(self._engine)
        except sa_exc.SQLAlchemyError as exc:
            self._engine.dispose()
            cause = getattr(exc, "orig", None) or exc
            raise StoreError(
                f"cannot open the control plane database: {type(cause).__name__}: {cause}",
                hint="check OPSGATE_DATABASE_URL, or that the data directory is writable",
            ) from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One read-write transaction (SQLite: holds the write lock from the start)."""
        with self._writer, _translated(), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def known(self, revision: int) -> Iterator[None]:
        """Until exit, this thread decides from caches valid at the organisation's
        ``revision`` (``known_revision``) and may not read: ``read()`` raises
        ``Unread``.  For PostgreSQL's event loop, where a read is a network round
        trip that must not stall every other request; the writer that makes the
        decision durable checks that ``revision`` is still current."""
        self._pinned.known = revision
        try:
            yield
        finally:
            self._pinned.known = None

    def known_revision(self) -> int | None:
        """The revision this thread decides at, inside ``known``; else None."""
        known: int | None = getattr(self._pinned, "known", None)
        return known

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction — or, inside ``snapshot()`` on this thread, the
        snapshot's transaction.  Inside ``known()``: ``Unread``."""
        if getattr(self._pinned, "known", None) is not None:
            raise Unread
        pinned: Connection | None = getattr(self._pinned, "conn", None)
        if pinned is not None:
            yield pinned
            return
        with _translated(), self._reader.begin() as conn:
            yield conn

    @contextmanager
    def snapshot(self, *, keep: bool = False) -> Iterator[None]:
        """Let every ``read()`` of this thread until exit share one read transaction
        (one connection checkout, one BEGIN/COMMIT for a request's several reads).
        Writes are unaffected; a read after a write in the same snapshot does not
        see that write, so use it only around reads that do not depend on one.

        ``keep``: this thread's snapshots reuse one connection, held until ``close``
        (for the event loop, which takes a snapshot per request; checking a
        connection out and back in costs more than the transaction)."""
        if getattr(self._pinned, "conn", None) is not None:
            yield
            return
        reads = self.read() if not keep else self._kept_read()
        with reads as conn:
            self._pinned.conn = conn
            try:
                yield
            finally:
                self._pinned.conn = None

    @contextmanager
    def _kept_read(self) -> Iterator[Connection]:
        conn: Connection | None = getattr(self._pinned, "kept", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._reader.connect()
            with self._kept_lock:
                self._kept.append(conn)
            self._pinned.kept = conn
        with _translated(), conn.begin():
            yield conn

    def ping(self) -> None:
        """A round trip to the database (for readiness); StoreError if it fails.  A
        pooled connection the server dropped is replaced first (pre-ping)."""
        from opsgate.store._engine import driver_execute

        with _translated(), self._reader.connect() as conn:
            driver_execute(conn, "SELECT 1")

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        with self._kept_lock:
            kept, self._kept = self._kept, []
        for conn in kept:
            conn.close()
        self._engine.dispose()


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        raise StoreError(
            f"the control plane database failed: {exc.orig or exc}",
            hint="retry; if it persists, check the database server or the data directory",
        ) from exc


def open_store(data_dir: Path | None = None, database_url: str | None = None) -> Store:
    """An explicit ``database_url`` or ``data_dir`` wins over the configured
    ``database_url``, which wins over the data directory (as the audit log resolves)."""
    from opsgate.config import current

    config = current()
    url = database_url or (None if data_dir is not None else config.database_url)
    home = Path(data_dir).expanduser() if data_dir is not None else config.data_dir
    return Store(resolve_url(home, url))


def serialize(conn: Connection, key: int) -> None:
    """Serialise transactions that check-then-insert (the first owner, the last
    owner): a transaction-scoped advisory lock on PostgreSQL; on SQLite every write
    transaction already holds the one write lock."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
