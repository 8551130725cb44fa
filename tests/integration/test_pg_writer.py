"""Deciding on the event loop on PostgreSQL: the hot routes decide from caches valid
at the organisation's revision, without a read, and one writer thread per lane
commits their cards and audit entries in shared transactions (``_batch_pg``).
Every guarantee of the thread path must hold: the same decisions, durable on
return, one chain across replicas, one use per grant, a change made on another
replica counts for the next request, and errors (never answers) when the
database or the audit append fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from test_control_plane import DROP, SCALE, Clock, bash, open_cp, people
from test_control_plane import pg_server as pg_server  # the module's cluster
from test_control_plane import pg_url as pg_url  # a fresh database per test

from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import CardState, Role
from opsgate.approvals.service import CardFilter, Principal, ProposeResult
from opsgate.audit import AuditWriteError
from opsgate.audit.verify import verify
from opsgate.models import Action, Verdict

pytestmark = pytest.mark.postgres

READ = "kubectl --context staging get pods"


@pytest.fixture
def pair(pg_url: str, tmp_path: Path, hook_env: None) -> Iterator[tuple[SqlControlPlane, ...]]:
    """Two replicas of one organisation on one database."""
    clock = Clock()
    one, two = open_cp(tmp_path / "a", clock, pg_url), open_cp(tmp_path / "b", clock, pg_url)
    try:
        assert one.decides_on_loop and two.decides_on_loop
        yield one, two
    finally:
        one.close()
        two.close()


def build(command: str) -> Callable[[str], Action]:
    return lambda _name: bash(command)


def as_(actor: Principal) -> Callable[[], Principal]:
    return lambda: actor


def by_token(cp: SqlControlPlane, secret: str) -> Callable[[], Principal]:
    def identify() -> Principal:
        found = cp.token(secret)
        if found is None:
            raise PermissionError("unknown or revoked token")
        return found

    return identify


def reads_on(cp: SqlControlPlane, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that open a read, from now on."""
    seen: list[str] = []
    real = cp.store.read

    def watched() -> object:
        seen.append(threading.current_thread().name)
        return real()

    monkeypatch.setattr(cp.store, "read", watched)
    return seen


def test_decides_on_the_loop_without_reading_and_like_the_thread_path(
    pair: tuple[SqlControlPlane, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = pair
    who = people(one)
    secret = one.create_token(who["owner"], "loop-bot", Role.AGENT)[1]
    before = len(list(one.audit.entries()))

    async def main() -> list[object]:
        # Warm up: the first use reads (and touches the token, which moves the
        # revision), the second reads again at the new revision; then no more reads.
        for _ in range(2):
            await one.evaluate_on_loop(by_token(one, secret), build(READ))
        seen = reads_on(one, monkeypatch)
        answers: list[object] = []
        for command in (READ, SCALE, DROP):
            answers.append(await one.evaluate_on_loop(by_token(one, secret), build(command)))
        answers.append(
            await one.propose_on_loop(by_token(one, secret), build(SCALE), reasoning="why")
        )
        assert threading.current_thread().name not in seen  # no read on the event loop
        monkeypatch.undo()
        return answers

    *decisions, answer = asyncio.run(main())
    agent = one.token(secret)
    assert agent is not None
    for command, on_loop in zip((READ, SCALE, DROP), decisions, strict=True):
        assert on_loop.to_json() == one.evaluate(agent, bash(command)).to_json()  # type: ignore[attr-defined]
    assert isinstance(answer, ProposeResult) and answer.card is not None
    assert answer.decision.verdict is Verdict.REQUIRE_APPROVAL
    # durable on return: another connection sees the card
    assert one.get_card(who["owner"], answer.card.id).state is CardState.PENDING
    events = [e.event for e in one.audit.entries()][before:]
    assert events.count("decision.made") == 2 + 3 * 2 + 1 and events.count("card.created") == 1


def test_concurrent_proposals_on_two_replicas_keep_one_chain(
    pair: tuple[SqlControlPlane, ...],
) -> None:
    one, two = pair
    who = people(one)
    agent = who["agent"]

    async def main() -> list[ProposeResult]:
        calls = []
        for n in range(80):
            cp = (one, two)[n % 2]
            command = (
                READ if n % 3 == 0 else f"kubectl --context staging scale deploy w{n} --replicas 2"
            )
            calls.append(cp.propose_on_loop(as_(agent), build(command)))
        return list(await asyncio.gather(*calls))

    answers = asyncio.run(main())
    cards = [a.card for a in answers if a.card is not None]
    assert len({c.id for c in cards}) == len(cards) == 53
    assert one.list_cards(who["owner"], CardFilter(), limit=200).total == 53
    log = one.audit
    rows = list(log.store.rows())
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))  # no gap, no duplicate
    assert verify(log.log_id, iter(rows), []).ok


def test_a_token_revoked_on_another_replica_is_refused_at_once(
    pair: tuple[SqlControlPlane, ...],
) -> None:
    one, two = pair
    who = people(one)
    info, secret = one.create_token(who["owner"], "soon-revoked", Role.AGENT)

    async def twice() -> None:
        await one.evaluate_on_loop(by_token(one, secret), build(READ))
        await one.evaluate_on_loop(by_token(one, secret), build(READ))  # decided from caches

    asyncio.run(twice())
    two.revoke_token(who["owner"], info.id)
    before = len(list(one.audit.entries()))

    async def after() -> None:
        with pytest.raises(PermissionError):
            await one.evaluate_on_loop(by_token(one, secret), build(READ))

    asyncio.run(after())
    # The decision made from the stale cache was never written.
    assert len(list(one.audit.entries())) == before


def test_a_setting_changed_on_another_replica_counts_for_the_next_request(
    pair: tuple[SqlControlPlane, ...],
) -> None:
    one, two = pair
    who = people(one)
    prod = "kubectl --context prod scale deploy web --replicas 3"

    async def propose() -> ProposeResult:
        return await one.propose_on_loop(as_(who["agent"]), build(prod))

    first = asyncio.run(propose())
    assert first.decision.verdict is Verdict.REQUIRE_APPROVAL
    two.change_settings(who["owner"], {"production_protection": True})
    second = asyncio.run(propose())
    assert second.decision.verdict is Verdict.DENY and second.card is None


def test_an_approved_retry_uses_its_grant_once_across_replicas(
    pair: tuple[SqlControlPlane, ...],
) -> None:
    one, two = pair
    who = people(one)
    card = asyncio.run(one.propose_on_loop(as_(who["agent"]), build(SCALE))).card
    assert card is not None
    two.approve(who["admin"], card.id, None)

    async def at_once() -> list[ProposeResult]:
        return list(
            await asyncio.gather(
                *(cp.propose_on_loop(as_(who["agent"]), build(SCALE)) for cp in (one, two) * 3)
            )
        )

    answers = asyncio.run(at_once())
    assert sum(a.grant is not None for a in answers) == 1
    assert [e.event for e in one.audit.entries()].count("grant.used") == 1


def test_a_failing_step_is_left_out_and_the_rest_of_its_batch_commits(
    pair: tuple[SqlControlPlane, ...],
) -> None:
    one, _ = pair
    people(one)
    writer = one._pg_writer
    assert writer is not None
    doc = one.audit.document("decision.made", actor={"type": "test"}, decision="allow")

    def fails(conn: Connection) -> int:
        conn.exec_driver_sql("INSERT INTO audit_meta VALUES ('x-test', '1')")
        raise RuntimeError("this step fails after a write")

    def aborts(conn: Connection) -> int:  # an SQL error aborts the whole transaction
        conn.exec_driver_sql("INSERT INTO settings (key, value) VALUES ('x-test', '1')")
        return 0

    def works(conn: Connection) -> int:
        return int(conn.exec_driver_sql("SELECT 41 + 1").scalar_one())

    async def main() -> list[object]:
        return list(
            await asyncio.gather(
                writer.run(works, [doc], None),
                writer.run(fails, [doc], None),
                writer.run(aborts, [doc], None),
                writer.run(works, [doc], None),
                return_exceptions=True,
            )
        )

    before = len(list(one.audit.entries()))
    results = asyncio.run(main())
    assert results[0] == results[3] == 42 and isinstance(results[1], RuntimeError)
    assert isinstance(results[2], IntegrityError)
    assert len(list(one.audit.entries())) == before + 2  # the failed step's entry is not there
    with one.store.read() as conn:
        assert (
            conn.exec_driver_sql("SELECT count(*) FROM settings WHERE key = 'x-test'").scalar() == 0
        )


def test_an_audit_failure_fails_the_batch_and_writes_nothing(
    pair: tuple[SqlControlPlane, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = pair
    who = people(one)
    asyncio.run(one.evaluate_on_loop(as_(who["agent"]), build(READ)))  # the writer saw a revision
    cards_before = one.list_cards(who["owner"], CardFilter()).total
    entries_before = len(list(one.audit.entries()))
    writer = one._pg_writer
    assert writer is not None

    def broken(*args: object) -> object:
        raise AuditWriteError("the chain cannot be written")

    monkeypatch.setattr(writer._chain, "chained", broken)

    async def main() -> None:
        with pytest.raises(AuditWriteError):
            await one.evaluate_on_loop(as_(who["agent"]), build(READ))
        with pytest.raises(AuditWriteError):
            await one.propose_on_loop(as_(who["agent"]), build(DROP))

    asyncio.run(main())
    monkeypatch.undo()
    assert one.list_cards(who["owner"], CardFilter()).total == cards_before
    assert len(list(one.audit.entries())) == entries_before
