"""What a PostgreSQL write batch reads ahead and writes behind for its steps.

A card-creating proposal's step (``SqlControlPlane._propose``) looks up live grants
and a recent denial for its action, then inserts a card and its notification and
reads neither back.  In a write batch (``approvals._batch_pg``) each of those four
statements on its own would cost a round trip, and a GIL hand-off in the writer
thread; the batch makes them two round trips in all, however many steps it runs:

- **ahead**: the batch reads the grants and denials of every step's action in the
  pipeline that opens its transaction (``read_ahead``); ``find_grants`` and
  ``recent_denial`` answer from those rows for the actions read, exactly as their
  queries would in the same transaction.  Only what a step writes itself could make
  a row stale, and only a grant's use: ``consume_grant``, which stays a conditional
  ``UPDATE``, still decides whether a grant is used.
- **behind**: ``defer`` holds the rows; the batch sends them all in the pipeline
  that takes the audit head lock, in the same transaction, before it commits — so a
  card is still committed with its audit entries, or not at all.  Only rows nothing
  later in the transaction depends on may be held (no foreign key points at them
  from the same batch, nothing reads them back), as for a proposal's card.

Without a batch (SQLite, every other caller) each function runs its statement.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["Batched", "ReadAhead", "ahead", "batched", "defer", "read_ahead"]

_KEY = "opsgate.batched"  # in the driver connection's ``info`` while a batch's steps run

# Every unused grant of the actions (expiry is checked by the step, with its clock),
# and the newest denied card per action and requester.
_GRANTS = (
    b"SELECT * FROM grants WHERE action_hash = ANY(%s) AND uses_left > 0 ORDER BY expires_at, id"
)
_DENIALS = (
    b"SELECT DISTINCT ON (action_hash, requested_by) * FROM cards"
    b" WHERE action_hash = ANY(%s) AND state = 'denied' AND decided_at IS NOT NULL"
    b" ORDER BY action_hash, requested_by, decided_at DESC"
)


class _Cursor(Protocol):
    def execute(self, query: bytes, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, query: bytes, params_seq: list[tuple[Any, ...]]) -> None: ...
    def fetchall(self) -> list[Any]: ...


class ReadAhead:
    """The grants and denials of a batch's actions, as rows of their tables."""

    def __init__(self, digests: frozenset[str], grants: list[Any], denials: list[Any]) -> None:
        self.digests = digests
        self.grants: dict[str, list[Any]] = {}
        for row in grants:
            self.grants.setdefault(row.action_hash, []).append(row)
        self.denials = {(row.action_hash, row.requested_by): row for row in denials}


class Batched:
    """One batch's rows read ahead, and the rows held back by table and column set
    (in the order of their first row)."""

    def __init__(self, ahead: ReadAhead | None, *, defers: bool) -> None:
        self.ahead = ahead
        self.defers = defers
        self._rows: dict[tuple[sa.Table, tuple[str, ...]], list[dict[str, Any]]] = {}

    def __bool__(self) -> bool:
        return bool(self._rows)

    def add(self, table: sa.Table, values: dict[str, Any]) -> None:
        self._rows.setdefault((table, tuple(values)), []).append(values)

    def send(self, cursor: _Cursor) -> None:
        """Every held row, as psycopg parameters (in pipeline mode: no round trip
        of its own; an error surfaces when the pipeline syncs)."""
        from psycopg.types.json import Json

        for (table, columns), rows in self._rows.items():
            sql, json = _shape(table, columns)
            params = [
                tuple(
                    Json(row[name]) if is_json else row[name]
                    for name, is_json in zip(columns, json, strict=True)
                )
                for row in rows
            ]
            cursor.executemany(sql, params)


@functools.cache
def _shape(table: sa.Table, columns: tuple[str, ...]) -> tuple[bytes, tuple[bool, ...]]:
    """The insert of ``columns`` into ``table``, and which columns are JSON (sent as
    SQLAlchemy sends them: ``Json(value)``, so None is stored as JSON ``null``)."""
    names, marks = ", ".join(columns), ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - schema names
    return sql.encode(), tuple(isinstance(table.c[name].type, sa.JSON) for name in columns)


def read_ahead(grants: _Cursor, denials: _Cursor, digests: frozenset[str]) -> None:
    """Send the look-ups of ``digests`` on two cursors of a pipeline (rows by name)."""
    keys = sorted(digests)
    grants.execute(_GRANTS, (keys,))
    denials.execute(_DENIALS, (keys,))


def ahead(conn: Connection) -> ReadAhead | None:
    """The rows ``conn``'s batch read ahead, if it is in one."""
    held: Batched | None = conn.info.get(_KEY)
    return None if held is None else held.ahead


def defer(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """Hold ``values`` for ``table`` in ``conn``'s batch, if it has one (True);
    False: insert it now.  A row that leaves out a column with a default is never
    held (SQLAlchemy fills those in; the batch's plain insert would not)."""
    held: Batched | None = conn.info.get(_KEY)
    if held is None or not held.defers:
        return False
    if any(c.default is not None and c.name not in values for c in table.c):
        return False
    held.add(table, values)
    return True


@contextmanager
def batched(conn: Connection, ahead: ReadAhead | None, *, defer: bool) -> Iterator[Batched]:
    """While the steps run on ``conn``: answer from ``ahead``, and (with ``defer``)
    hold the rows ``defer`` is given until the caller sends them."""
    held = Batched(ahead, defers=defer)
    if defer or ahead is not None:
        conn.info[_KEY] = held
    try:
        yield held
    finally:
        conn.info.pop(_KEY, None)
