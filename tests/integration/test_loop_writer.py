"""Deciding on the event loop (SQLite): the hot routes decide on the loop's thread and
wait, holding no thread, for the writer thread to make their audit entries and cards
durable.  Each request must still see exactly what the thread path gives it: the
same decision, its entries durable before it returns, one outcome per card, and
the error — never an answer — when the audit log cannot be written."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection
from test_control_plane import DROP, PASSWORD, SCALE, Clock, bash, open_cp, people

from opsgate.approvals import _control_people
from opsgate.approvals._batch import Capture, LoopWriter
from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import CardState, Role
from opsgate.approvals.service import CardFilter, Principal, ProposeResult
from opsgate.audit import AuditWriteError
from opsgate.audit.verify import verify
from opsgate.environments import InventoryTarget
from opsgate.models import Action, Environment, Verdict
from opsgate.store import _people as people_db

READ = "kubectl --context staging get pods"


@pytest.fixture
def cp(tmp_path: Path, hook_env: None) -> SqlControlPlane:
    control = open_cp(tmp_path / "home", Clock())
    assert control.decides_on_loop
    return control


def events(cp: SqlControlPlane) -> list[str]:
    return [e.event for e in cp.audit.entries()]


def as_(actor: Principal) -> Callable[[], Principal]:
    return lambda: actor


def build(command: str) -> Callable[[str], Action]:
    def action(name: str) -> Action:
        return bash(command)

    return action


def test_on_loop_decides_like_the_thread_path_and_is_durable_on_return(
    cp: SqlControlPlane,
) -> None:
    who = people(cp)
    before = len(events(cp))

    async def main() -> None:
        for command in (READ, SCALE, DROP):
            on_loop = await cp.evaluate_on_loop(as_(who["agent"]), build(command))
            assert on_loop.to_json() == cp.evaluate(who["agent"], bash(command)).to_json()
        answer = await cp.propose_on_loop(as_(who["agent"]), build(SCALE), reasoning="scale up")
        assert answer.decision.verdict is Verdict.REQUIRE_APPROVAL and answer.card is not None
        # Durable when the coroutine returns: another reader sees the card and its entries.
        card = cp.get_card(who["owner"], answer.card.id)
        assert card.state is CardState.PENDING and card.reasoning == "scale up"
        allowed = await cp.propose_on_loop(as_(who["agent"]), build(READ))
        assert allowed.decision.verdict is Verdict.ALLOW and allowed.card is None

    asyncio.run(main())
    new = events(cp)[before:]
    assert new.count("decision.made") == 3 * 2 + 2  # on the loop and on a thread, + 2 proposals
    assert new.count("card.created") == 1


def test_concurrent_proposals_share_batches_and_keep_one_chain(cp: SqlControlPlane) -> None:
    who = people(cp)
    before = len(events(cp))

    async def main() -> list[ProposeResult]:
        calls = []
        for n in range(60):
            command = READ if n % 2 else f"kubectl --context staging scale deploy w{n} --replicas 2"
            calls.append(cp.propose_on_loop(as_(who["agent"]), build(command)))
        return list(await asyncio.gather(*calls))

    answers = asyncio.run(main())
    cards = [a.card for a in answers if a.card is not None]
    assert len(cards) == 30 and len({c.id for c in cards}) == 30
    assert cp.list_cards(who["owner"], CardFilter(), limit=100).total == 30
    new = events(cp)[before:]
    assert new.count("decision.made") == 60 and new.count("card.created") == 30
    log = cp.audit
    assert verify(log.log_id, log.store.rows(), []).ok


def test_an_approved_retry_on_the_loop_uses_its_grant_once(cp: SqlControlPlane) -> None:
    who = people(cp)

    async def propose() -> ProposeResult:
        return await cp.propose_on_loop(as_(who["agent"]), build(SCALE))

    card = asyncio.run(propose()).card
    assert card is not None
    cp.approve(who["admin"], card.id, None)

    async def twice() -> list[ProposeResult]:
        return list(await asyncio.gather(propose(), propose()))

    answers = asyncio.run(twice())
    granted = [a for a in answers if a.grant is not None]
    assert len(granted) == 1 and granted[0].decision.verdict is Verdict.ALLOW
    assert [a.card is not None for a in answers].count(True) == 1  # the other: a new card


def test_audit_failure_on_the_loop_fails_closed_and_writes_nothing(
    cp: SqlControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = people(cp)
    cards_before = cp.list_cards(who["owner"], CardFilter()).total
    entries_before = len(events(cp))

    def broken(*args: object, **kwargs: object) -> None:
        raise AuditWriteError("disk full")

    monkeypatch.setattr(cp.audit, "append_documents", broken)

    async def main() -> None:
        with pytest.raises(AuditWriteError):
            await cp.evaluate_on_loop(as_(who["agent"]), build(READ))
        with pytest.raises(AuditWriteError):
            await cp.propose_on_loop(as_(who["agent"]), build(DROP))
        with pytest.raises(AuditWriteError):
            await cp.propose_on_loop(as_(who["agent"]), build(READ))

    asyncio.run(main())
    monkeypatch.undo()
    assert cp.list_cards(who["owner"], CardFilter()).total == cards_before  # the card rolled back
    assert len(events(cp)) == entries_before


def test_an_unknown_caller_is_refused_before_anything_is_written(cp: SqlControlPlane) -> None:
    people(cp)
    before = len(events(cp))

    def nobody() -> Principal:
        found = cp.token("og_not-a-token")
        assert found is None
        raise PermissionError("unknown token")

    async def main() -> None:
        with pytest.raises(PermissionError):
            await cp.propose_on_loop(nobody, build(DROP))

    asyncio.run(main())
    assert len(events(cp)) == before


def test_a_stale_token_is_touched_later_without_holding_the_request(
    cp: SqlControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = people(cp)
    secret = cp.create_token(who["owner"], "loop-bot", Role.AGENT)[1]
    clock = cp.clock
    assert isinstance(clock, Clock)
    clock.now += _control_people.TOKEN_TOUCH_SECONDS + 5
    writes: list[str] = []
    real_write = cp.store.write

    def watched_write() -> object:
        writes.append(threading.current_thread().name)
        return real_write()

    monkeypatch.setattr(cp.store, "write", watched_write)

    def identify() -> Principal:
        found = cp.token(secret)
        assert found is not None
        return found

    async def main() -> None:
        loop_thread = threading.current_thread().name
        for _ in range(3):
            await cp.evaluate_on_loop(identify, build(READ))
        assert loop_thread not in writes  # the loop never waited on the store's write lock

    asyncio.run(main())
    cp.close()  # drains the writer
    with cp.store.engine.connect() as conn:
        touched = [t for t in people_db.list_tokens(conn) if t.name == "loop-bot"]
    assert touched[0].last_used_at == clock.now  # touched, once the batch landed
    assert writes.count("opsgate-writer") >= 1


# --- the writer itself ----------------------------------------------------------------------------


def writer(cp: SqlControlPlane) -> LoopWriter:
    return LoopWriter(cp.store, cp.audit, Capture())


def test_a_failing_step_is_rolled_back_alone(cp: SqlControlPlane) -> None:
    people(cp)
    w = writer(cp)

    def good(conn: Connection) -> str:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (v TEXT)")
        conn.exec_driver_sql("INSERT INTO probe VALUES ('kept')")
        return "ok"

    def bad(conn: Connection) -> str:
        conn.exec_driver_sql("INSERT INTO probe VALUES ('lost')")
        raise ValueError("step failed")

    async def main() -> list[object]:
        return list(await asyncio.gather(w.run(good), w.run(bad), return_exceptions=True))

    results = asyncio.run(main())
    w.close()
    assert results[0] == "ok" and isinstance(results[1], ValueError)
    with cp.store.engine.connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("SELECT v FROM probe")]
    assert rows == ["kept"]


def test_a_cancelled_waiter_does_not_stop_the_write_or_the_writer(cp: SqlControlPlane) -> None:
    people(cp)
    w = writer(cp)
    before = len(events(cp))
    document = cp.audit.document("decision.made", actor={"type": "system"}, decision="allow")

    async def main() -> None:
        task = asyncio.ensure_future(w.audit([document]))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await w.audit([document])  # the writer still answers

    asyncio.run(main())
    w.close()
    assert len(events(cp)) - before == 2  # the cancelled request's entry was written too


def test_close_writes_what_is_queued_and_refuses_more(cp: SqlControlPlane) -> None:
    people(cp)
    w = writer(cp)
    before = len(events(cp))
    document = cp.audit.document("decision.made", actor={"type": "system"}, decision="allow")

    def queued(conn: Connection) -> None:
        cp.audit.append_documents([document])

    w.later(queued)
    w.close()
    assert len(events(cp)) - before == 1

    async def main() -> None:
        await w.audit([document])

    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(main())


def test_a_write_while_deciding_on_the_loop_is_refused_not_run_there(cp: SqlControlPlane) -> None:
    people(cp)
    ran: list[str] = []
    with cp._deciding(), pytest.raises(RuntimeError, match="event loop"):
        cp.write(lambda conn: ran.append("wrote"))
    assert ran == []
    cp.write(lambda conn: ran.append("wrote"))  # outside the decision: an ordinary write
    assert ran == ["wrote"]


def test_the_loops_kept_connection_sees_each_change_and_is_closed_with_the_store(
    tmp_path: Path, hook_env: None
) -> None:
    """The loop's snapshots reuse one connection: each must still start a fresh read
    transaction (a change committed since — by this process or another on the same
    file, as the CLI does — counts at the next decision), and ``close`` returns it."""
    home = tmp_path / "home"
    cp = open_cp(home, Clock())
    other = open_cp(home, Clock())  # another process's view of the same data directory
    who = people(cp)
    agent = as_(who["agent"])
    psql = build("psql -h db-7.internal -c 'DELETE FROM t'")
    db7 = InventoryTarget("db-7", "database", Environment.PRODUCTION, "read_only", ("db-7*",))
    owner = other.session(other.login("olivia", PASSWORD)[1])
    assert owner is not None

    async def main() -> None:
        before = await cp.evaluate_on_loop(agent, psql)
        assert before.decided_by != "access.db-7"
        other.put_target(owner, db7)
        after = await cp.evaluate_on_loop(agent, psql)
        assert after.verdict is Verdict.DENY and after.decided_by == "access.db-7"
        other.delete_target(owner, "db-7")
        again = await cp.evaluate_on_loop(agent, psql)
        assert again.decided_by != "access.db-7"

    asyncio.run(main())
    pool = cp.store.engine.pool
    assert pool.checkedout() == 1  # type: ignore[attr-defined]  # the loop's kept one
    cp.close()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    other.close()
