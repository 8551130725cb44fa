"""A PostgreSQL write batch reads its proposals' grants and denials ahead, in the
round trip that opens its transaction, and sends their cards and notifications
with the one that takes the audit head lock (``store._batched``): a batch costs
three round trips however many cards it makes.  What it writes and answers must be
exactly what each step would have written and answered on its own."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from test_control_plane import DROP, SCALE, Clock, open_cp, people
from test_control_plane import pg_server as pg_server  # the module's cluster
from test_control_plane import pg_url as pg_url  # a fresh database per test
from test_pg_writer import as_, build

from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import CardState
from opsgate.approvals.service import CardFilter, ProposeResult
from opsgate.audit.verify import verify
from opsgate.models import Verdict
from opsgate.store import _cards

pytestmark = pytest.mark.postgres


@pytest.fixture
def cp(pg_url: str, tmp_path: Path, hook_env: None) -> Iterator[SqlControlPlane]:
    plane = open_cp(tmp_path / "a", Clock(), pg_url)
    try:
        assert plane.decides_on_loop
        yield plane
    finally:
        plane.close()


def statements_on_writer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQLAlchemy statements the writer threads run, from now on."""
    seen: list[str] = []
    for name in ("execute", "exec_driver_sql"):
        real = getattr(Connection, name)

        def counted(
            self: Connection, statement: Any, *args: Any, _real: Any = real, **kw: Any
        ) -> Any:
            if threading.current_thread().name.startswith("opsgate-pg-writer"):
                seen.append(str(statement)[:60])
            return _real(self, statement, *args, **kw)

        monkeypatch.setattr(Connection, name, counted)
    return seen


def row_shape(url: str, table: str, key: str, value: object) -> dict[str, tuple[str, bool]]:
    """Each column of one row: its JSON type and whether it is SQL NULL (a JSON
    ``null`` and a missing value are different rows to every later query)."""
    query = f"SELECT to_jsonb(t), row_to_json(t)::text FROM {table} t WHERE {key} = %s"
    with psycopg.connect(url) as db:
        found = db.execute(query.encode(), (value,)).fetchone()
        assert found is not None
        nulls = db.execute(
            f"SELECT * FROM {table} WHERE {key} = %s".encode(),
            (value,),
        ).fetchone()
        names = [
            c.name for c in db.execute(f"SELECT * FROM {table} LIMIT 0".encode()).description or ()
        ]
    assert nulls is not None
    return {
        name: (type(found[0][name]).__name__, cell is None)
        for name, cell in zip(names, nulls, strict=True)
    }


def test_a_batch_of_proposals_runs_no_statement_per_card_and_writes_the_same_rows(
    cp: SqlControlPlane, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = people(cp)
    agent = who["agent"]
    direct = cp.propose(agent, build(SCALE)("")).card  # the thread path: one insert each
    assert direct is not None

    async def warm() -> None:  # the writer sees a revision; the policy is cached at it
        for _ in range(2):
            await cp.propose_on_loop(as_(agent), build("ls"))

    asyncio.run(warm())
    seen = statements_on_writer(monkeypatch)

    async def burst() -> list[ProposeResult]:
        commands = [f"kubectl --context staging scale deploy b{n} --replicas 2" for n in range(12)]
        return list(
            await asyncio.gather(*(cp.propose_on_loop(as_(agent), build(c)) for c in commands))
        )

    answers = asyncio.run(burst())
    monkeypatch.undo()
    assert seen == []  # no look-up, gate or insert of its own per card
    made = [a.card for a in answers if a.card is not None]
    assert len(made) == 12
    for card in made:  # durable on return, as read by another connection
        assert cp.get_card(who["owner"], card.id).state is CardState.PENDING
    assert row_shape(pg_url, "cards", "id", made[0].id) == row_shape(
        pg_url, "cards", "id", direct.id
    )
    with psycopg.connect(pg_url) as db:
        ids = [r[0] for r in db.execute(b"SELECT id FROM notifications ORDER BY id")]
        told = db.execute(
            b"SELECT count(*) FROM notifications WHERE payload->>'card' = ANY(%s)",
            ([c.id for c in made],),
        ).fetchone()
    assert told is not None and told[0] == 12
    assert row_shape(pg_url, "notifications", "id", ids[0]) == row_shape(
        pg_url, "notifications", "id", ids[-1]
    )
    rows = list(cp.audit.store.rows())
    assert verify(cp.audit.log_id, iter(rows), []).ok


def test_a_denied_action_retried_in_a_batch_gets_the_reason(cp: SqlControlPlane) -> None:
    who = people(cp)
    agent = who["agent"]
    card = asyncio.run(cp.propose_on_loop(as_(agent), build(DROP))).card
    assert card is not None
    cp.deny(who["admin"], card.id, "use the migration tool instead")

    async def retries() -> list[ProposeResult]:
        others = [f"kubectl --context prod delete namespace n{n}" for n in range(5)]
        calls = [cp.propose_on_loop(as_(agent), build(c)) for c in (DROP, *others, DROP)]
        return list(await asyncio.gather(*calls))

    first, *others, last = asyncio.run(retries())
    for retry in (first, last):
        assert retry.card is None and retry.decision.verdict is Verdict.DENY
        assert "use the migration tool instead" in retry.decision.reasons[0]
    assert all(o.card is not None for o in others)
    # another requester's identical action is not answered with this one's denial
    other = asyncio.run(cp.propose_on_loop(as_(who["agent2"]), build(DROP)))
    assert other.card is not None


def test_a_retry_that_uses_its_grant_records_its_entry_on_the_card(cp: SqlControlPlane) -> None:
    who = people(cp)
    agent = who["agent"]
    card = asyncio.run(cp.propose_on_loop(as_(agent), build(SCALE))).card
    assert card is not None
    cp.approve(who["admin"], card.id, None)

    async def at_once() -> list[ProposeResult]:
        return list(
            await asyncio.gather(*(cp.propose_on_loop(as_(agent), build(SCALE)) for _ in range(4)))
        )

    answers = asyncio.run(at_once())
    assert sum(a.grant is not None for a in answers) == 1
    used = cp.get_card(who["owner"], card.id)
    assert used.state is CardState.USED
    (entry,) = [e for e in cp.audit.entries() if e.event == "grant.used"]
    assert used.outcome["used"]["audit_seq"] == entry.seq


def test_a_held_row_that_fails_leaves_out_only_its_step(cp: SqlControlPlane) -> None:
    who = people(cp)
    existing = cp.propose(who["agent"], build(SCALE)("")).card
    assert existing is not None
    writer = cp._pg_writer
    assert writer is not None
    doc = cp.audit.document("decision.made", actor={"type": "test"}, decision="allow")

    def duplicate(conn: Connection) -> int:  # held for the batch's commit, then refused
        _cards.insert_card(conn, existing)
        return 0

    def card(n: int) -> Any:
        def step(conn: Connection) -> str:
            made = dataclasses.replace(existing, id=f"c_held{n}")
            _cards.insert_card(conn, made)
            return made.id

        return step

    async def main() -> list[object]:
        return list(
            await asyncio.gather(
                writer.run(card(1), [doc], None),
                writer.run(duplicate, [doc], None),
                writer.run(card(2), [doc], None),
                return_exceptions=True,
            )
        )

    before = len(list(cp.audit.entries()))
    first, failed, second = asyncio.run(main())
    assert (first, second) == ("c_held1", "c_held2") and isinstance(failed, IntegrityError)
    assert len(list(cp.audit.entries())) == before + 2
    ids = {c.id for c in cp.list_cards(who["owner"], CardFilter(), limit=50).items}
    assert {"c_held1", "c_held2", existing.id} <= ids
