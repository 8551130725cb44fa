"""The control plane on real stores: SQLite files (and PostgreSQL, below, against a
throwaway cluster).  No mocks: a real audit log, a real engine; only the clock is
injected so expiry is tested without sleeping, and argon2 runs with cheap
parameters (tests/conftest.py; one test keeps the defaults)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsgate.approvals.control import SqlControlPlane, open_control_plane
from opsgate.approvals.model import CardState, Denied, Role
from opsgate.approvals.service import CardFilter, Principal
from opsgate.audit import AuditWriteError, open_log
from opsgate.environments import InventoryTarget
from opsgate.models import Action, Environment, Verdict
from opsgate.store import open_store
from opsgate.store._migrate import MIGRATIONS
from servers import postgres_or_skip

PASSWORD = "correct horse battery"
DROP = "kubectl --context prod delete namespace payments"  # destructive, production
SCALE = "kubectl --context staging scale deploy web --replicas 3"  # caution, staging


def bash(command: str) -> Action:
    return Action("shell.exec", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Org:
    cp: SqlControlPlane
    clock: Clock
    owner: Principal
    admin: Principal
    admin2: Principal
    member: Principal
    viewer: Principal
    agent: Principal
    agent2: Principal

    def events(self) -> list[str]:
        return [e.event for e in self.cp.audit.entries()]


def open_cp(home: Path, clock: Clock, url: str | None = None) -> SqlControlPlane:
    return SqlControlPlane(open_store(home, url), open_log(home, url), data_dir=home, clock=clock)


def people(cp: SqlControlPlane) -> dict[str, Principal]:
    cp.create_user(None, "olivia", PASSWORD, Role.OWNER)
    owner = cp.session(cp.login("olivia", PASSWORD)[1])
    assert owner is not None
    out = {"owner": owner}
    staff = [
        ("admin", "adam", Role.ADMIN),
        ("admin2", "ada", Role.ADMIN),
        ("member", "mia", Role.MEMBER),
        ("viewer", "vic", Role.VIEWER),
    ]
    for key, name, role in staff:
        cp.create_user(owner, name, PASSWORD, role)
        principal = cp.session(cp.login(name, PASSWORD)[1])
        assert principal is not None
        out[key] = principal
    # The agents' tokens belong to a person who approves nothing here: nobody approves
    # a request made through a token they created (their own request by another name).
    cp.create_user(owner, "bea", PASSWORD, Role.MEMBER)
    keeper = cp.session(cp.login("bea", PASSWORD)[1])
    assert keeper is not None
    for key, name in [("agent", "claude"), ("agent2", "codex")]:
        principal = cp.token(cp.create_token(keeper, name, Role.AGENT)[1])
        assert principal is not None
        out[key] = principal
    cp.change_settings(owner, {"production_protection": False})
    return out


@pytest.fixture
def org(tmp_path: Path, hook_env: None) -> Iterator[Org]:
    clock = Clock()
    cp = open_cp(tmp_path / "home", clock)
    yield Org(cp, clock, **people(cp))
    cp.close()


def denied(status: int, fn: object, *args: object) -> Denied:
    with pytest.raises(Denied) as err:
        fn(*args)  # type: ignore[operator]
    assert err.value.status == status, err.value.reason
    return err.value


# --- people, sessions, tokens ------------------------------------------------------------------


def test_first_owner_only_while_there_are_no_users(org: Org) -> None:
    denied(401, org.cp.create_user, None, "mallory", PASSWORD, Role.OWNER)
    denied(403, org.cp.create_user, org.member, "m2", PASSWORD, Role.MEMBER)
    denied(403, org.cp.create_user, org.admin, "o2", PASSWORD, Role.OWNER)
    denied(409, org.cp.create_user, org.owner, "adam", PASSWORD, Role.MEMBER)
    denied(422, org.cp.create_user, org.owner, "short", "1234567", Role.MEMBER)


def test_login_is_audited_without_the_password(org: Org) -> None:
    denied(401, org.cp.login, "adam", "wrong password")
    denied(401, org.cp.login, "nobody", PASSWORD)
    logins = [e.data for e in org.cp.audit.entries() if e.event == "user.login"]
    assert [e["result"]["outcome"] for e in logins][-2:] == ["failure", "failure"]
    assert all(PASSWORD not in str(e) and "wrong password" not in str(e) for e in logins)


@pytest.mark.real_argon2
def test_secrets_are_stored_only_as_hashes(tmp_path: Path, hook_env: None) -> None:
    cp = open_cp(tmp_path, Clock())
    cp.create_user(None, "olivia", PASSWORD, Role.OWNER)
    _, session = cp.login("olivia", PASSWORD)
    owner = cp.session(session)
    assert owner is not None
    info, token = cp.create_token(owner, "claude", Role.AGENT)
    cp.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("opsgate.db*"))
    for secret in (session, token, PASSWORD):
        assert secret.encode() not in raw
    assert hashlib.sha256(token.encode()).hexdigest().encode() in raw
    assert b"$argon2id$" in raw and info.prefix == token[:10]


def test_roles_and_tokens(org: Org) -> None:
    cp = org.cp
    denied(403, cp.set_role, org.admin, org.member.id, Role.ADMIN)
    assert cp.set_role(org.owner, org.member.id, Role.ADMIN).role is Role.ADMIN
    denied(409, cp.set_role, org.owner, org.owner.id, Role.ADMIN)  # the last owner stays
    denied(403, cp.list_users, org.agent)
    assert {u.name for u in cp.list_users(org.viewer)} >= {"olivia", "adam"}
    denied(403, cp.create_token, org.agent, "x", Role.AGENT)  # tokens do not mint tokens
    denied(403, cp.create_token, org.viewer, "x", Role.AGENT)
    denied(403, cp.create_token, org.admin, "x", Role.OWNER)  # never above yourself
    info, secret = cp.create_token(org.admin, "ci", Role.MEMBER)
    ci = cp.token(secret)
    assert ci is not None and ci.user is not None and ci.user.id == org.admin.id
    assert cp.revoke_token(org.admin, info.id).revoked
    assert cp.token(secret) is None
    denied(401, cp.get_card, ci, "c_x")  # a revoked token is refused at once
    assert {"user.login", "role.changed", "settings.changed"} <= set(org.events())


# --- cards: lifecycle ----------------------------------------------------------------------------


def test_propose_approve_retry_uses_the_grant_once(org: Org) -> None:
    cp = org.cp
    result = cp.propose(org.agent, bash(DROP), reasoning="cleanup", rollback="restore backup")
    card = result.card
    assert result.decision.verdict is Verdict.REQUIRE_APPROVAL and card is not None
    assert card.state is CardState.PENDING and card.confirm == "prod"
    assert card.environment is Environment.PRODUCTION and card.action == {"command": DROP}
    assert card.requested_by == org.agent.id and card.reasoning == "cleanup"
    assert "Delete namespace payments" in card.description
    assert card.expires_at == org.clock.now + 900
    denied(422, cp.approve, org.admin, card.id, "payment")
    approved = cp.approve(org.admin, card.id, "PROD")  # case-insensitive
    assert approved.state is CardState.APPROVED and approved.decided_by == org.admin.id
    retry = cp.propose(org.agent, bash(DROP))
    assert retry.decision.verdict is Verdict.ALLOW and retry.grant is not None
    assert retry.decision.decided_by == f"grant.{retry.grant.id}" and retry.card is None
    again = cp.propose(org.agent, bash(DROP))  # single use: a new card
    assert again.decision.verdict is Verdict.REQUIRE_APPROVAL and again.card is not None
    events = org.events()
    for name in ("decision.made", "card.created", "card.approved", "grant.created", "grant.used"):
        assert name in events


def test_grant_is_bound_to_action_and_actor(org: Org) -> None:
    cp = org.cp
    card = cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    cp.approve(org.admin, card.id, "prod")
    assert cp.check_grant(org.agent2, bash(DROP)) is None  # another actor
    assert cp.propose(org.agent2, bash(DROP)).grant is None
    other = bash(DROP.replace("payments", "billing"))  # another command
    assert cp.consume_grant(org.agent, other) is None
    assert cp.check_grant(org.agent, bash(DROP)) is not None
    assert cp.consume_grant(org.agent, bash(DROP)) is not None
    assert cp.consume_grant(org.agent, bash(DROP)) is None


def test_grant_never_lifts_a_deny(org: Org) -> None:
    card = org.cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    org.cp.approve(org.owner, card.id, "prod")
    org.cp.change_settings(org.owner, {"production_protection": True})
    result = org.cp.propose(org.agent, bash(DROP))
    assert result.decision.verdict is Verdict.DENY and result.card is None
    assert result.grant is None and org.cp.check_grant(org.agent, bash(DROP)) is None


def test_two_approvers(org: Org) -> None:
    cp = org.cp
    cp.change_settings(org.owner, {"two_approvers_for_destructive_production": True})
    card = cp.propose(org.agent, bash(DROP)).card
    assert card is not None and card.approvers_needed == 2
    first = cp.approve(org.admin, card.id, "prod")
    assert first.state is CardState.PENDING and first.approvals == (org.admin.id,)
    assert cp.check_grant(org.agent, bash(DROP)) is None
    denied(409, cp.approve, org.admin, card.id, "prod")  # the same admin twice
    second = cp.approve(org.admin2, card.id, "prod")
    assert second.state is CardState.APPROVED and second.approvals == (org.admin.id, org.admin2.id)
    assert org.events().count("card.approved") == 2 and cp.check_grant(org.agent, bash(DROP))


def test_who_may_approve(org: Org) -> None:
    cp = org.cp
    prod = cp.propose(org.agent, bash(DROP)).card
    staging = cp.propose(org.agent, bash(SCALE)).card
    assert prod is not None and staging is not None
    for who in (org.viewer, org.agent, org.agent2, org.member):
        denied(403 if who is not org.agent2 else 404, cp.approve, who, prod.id, "prod")
    assert cp.approve(org.member, staging.id, None).state is CardState.APPROVED
    # Nobody approves their own request, not even through their own token.
    _, secret = cp.create_token(org.admin, "adam-bot", Role.ADMIN)
    bot = cp.token(secret)
    assert bot is not None
    own = cp.propose(bot, bash(DROP)).card
    assert own is not None and own.requested_by == org.admin.id
    assert "own request" in denied(403, cp.approve, org.admin, own.id, "prod").reason
    denied(403, cp.approve, bot, own.id, "prod")
    assert cp.approve(org.owner, own.id, "prod").state is CardState.APPROVED


def test_deny_and_cancel(org: Org) -> None:
    cp = org.cp
    card = cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    denied(403, cp.deny, org.member, card.id, "no")
    out = cp.deny(org.admin, card.id, "not during the freeze")
    assert out.state is CardState.DENIED and out.reason == "not during the freeze"
    denied(409, cp.approve, org.owner, card.id, "prod")
    mine = cp.propose(org.agent, bash(SCALE)).card
    assert mine is not None
    denied(404, cp.get_card, org.agent2, mine.id)  # agents see only their own cards
    denied(404, cp.cancel, org.agent2, mine.id)
    denied(403, cp.cancel, org.member, mine.id)
    assert cp.cancel(org.agent, mine.id).state is CardState.CANCELLED
    denied(409, cp.cancel, org.agent, mine.id)
    other = cp.propose(org.agent, bash(SCALE)).card
    assert other is not None and cp.cancel(org.admin, other.id).state is CardState.CANCELLED
    assert {"card.denied", "card.cancelled"} <= set(org.events())
    mine_only = cp.list_cards(org.agent2, CardFilter())
    assert mine_only.items == () and mine_only.total == 0


def test_expiry(org: Org) -> None:
    cp = org.cp
    card = cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    org.clock.now += 900
    assert cp.get_card(org.owner, card.id).state is CardState.EXPIRED  # before the sweep
    expired = CardFilter(states=(CardState.EXPIRED,))
    assert [c.id for c in cp.list_cards(org.owner, expired).items] == [card.id]
    assert cp.list_cards(org.owner, CardFilter(states=(CardState.PENDING,))).total == 0
    assert "expired" in denied(409, cp.approve, org.owner, card.id, "prod").reason
    assert [c.id for c in cp.expire_due()] == [card.id] and cp.expire_due() == []
    assert org.events().count("card.expired") == 1
    assert cp.propose(org.agent, bash(DROP)).card is not None  # re-proposable


def test_pagination(org: Org) -> None:
    ids = []
    for i in range(5):
        org.clock.now += 1
        card = org.cp.propose(org.agent, bash(f"{SCALE} # {i}")).card
        assert card is not None
        ids.append(card.id)
    seen: list[str] = []
    page = org.cp.list_cards(org.viewer, CardFilter(), limit=2)
    assert page.total == 5
    while True:
        seen += [c.id for c in page.items]
        if page.next_cursor is None:
            break
        page = org.cp.list_cards(org.viewer, CardFilter(), limit=2, cursor=page.next_cursor)
    assert seen == ids[::-1]
    with pytest.raises(Denied, match="cursor"):
        org.cp.list_cards(org.viewer, CardFilter(), limit=2, cursor="garbage!")


# --- settings, inventory -------------------------------------------------------------------------


def test_settings(org: Org) -> None:
    cp = org.cp
    denied(403, cp.change_settings, org.member, {"approval_ttl_seconds": 60})
    denied(403, cp.change_settings, org.admin, {"production_protection": True})
    denied(403, cp.change_settings, org.agent, {"write_actions": False})
    denied(422, cp.change_settings, org.admin, {"approval_ttl_seconds": True})
    denied(422, cp.change_settings, org.owner, {"auto_approve": True})
    assert cp.change_settings(org.admin, {"approval_ttl_seconds": 60}).approval_ttl_seconds == 60
    card = cp.propose(org.agent, bash(SCALE)).card
    assert card is not None and card.expires_at == org.clock.now + 60  # at once
    cp.change_settings(org.owner, {"production_protection": True})
    result = cp.propose(org.agent, bash(DROP))
    assert result.decision.verdict is Verdict.DENY and result.card is None  # no card
    changes = [e.data["result"] for e in cp.audit.entries() if e.event == "settings.changed"]
    assert changes[-1] == {"old": {"production_protection": False},
                           "new": {"production_protection": True}}  # fmt: skip


def test_a_policy_file_in_the_data_directory_counts_at_once(org: Org) -> None:
    """The data directory's ``policy.yaml`` is looked for on every decision: put
    there, or removed while the control plane runs, it counts at the next."""
    push = bash("git push origin main")
    assert org.cp.evaluate(org.agent, push).decided_by != "no-push-main"
    policy = org.cp.data_dir / "policy.yaml"
    policy.write_text(
        "version: 1\nrules:\n  - {id: no-push-main, action: git.push, resource: main,"
        ' effect: deny, reason: "not main"}\n'
    )
    decision = org.cp.evaluate(org.agent, push)
    assert decision.verdict is Verdict.DENY and decision.decided_by == "no-push-main"
    policy.unlink()
    assert org.cp.evaluate(org.agent, push).decided_by != "no-push-main"


def test_inventory_feeds_the_engine(org: Org) -> None:
    cp = org.cp
    db = InventoryTarget("db-7", "database", Environment.PRODUCTION, "read_only", ("db-7*",))
    denied(403, cp.put_target, org.member, db)
    denied(403, cp.put_target, org.agent, db)
    denied(422, cp.put_target, org.admin, InventoryTarget("x", "toaster", Environment.LOCAL))
    cp.put_target(org.admin, db)
    decision = cp.evaluate(org.agent, bash("psql -h db-7.internal -c 'DELETE FROM t'"))
    assert decision.verdict is Verdict.DENY and decision.decided_by == "access.db-7"
    retag = InventoryTarget("db-7", "database", Environment.DEVELOPMENT, "full", ("db-7*",))
    denied(403, cp.put_target, org.admin, retag)  # out of production: owners only
    denied(403, cp.delete_target, org.admin, "db-7")
    cp.put_target(org.owner, retag)
    assert cp.inventory().find("db-7") == retag and cp.list_targets(org.viewer) == [retag]
    cp.delete_target(org.admin, "db-7")
    denied(404, cp.delete_target, org.admin, "db-7")
    assert org.events().count("inventory.changed") == 3


# --- failure and restart -------------------------------------------------------------------------


def test_audit_failure_fails_closed(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    card = org.cp.propose(org.agent, bash(DROP)).card
    assert card is not None

    def broken(*args: object, **kwargs: object) -> None:
        raise AuditWriteError("disk full")

    monkeypatch.setattr(org.cp.audit, "append", broken)
    # Batched write steps (SQLite) append their held entries in one call.
    monkeypatch.setattr(org.cp.audit, "append_documents", broken)
    with pytest.raises(AuditWriteError):
        org.cp.approve(org.admin, card.id, "prod")
    with pytest.raises(AuditWriteError):
        org.cp.propose(org.agent, bash(SCALE))
    monkeypatch.undo()
    assert org.cp.get_card(org.owner, card.id).state is CardState.PENDING  # rolled back
    assert org.cp.list_cards(org.owner, CardFilter()).total == 1


def test_everything_survives_a_restart(tmp_path: Path, hook_env: None) -> None:
    clock = Clock()
    cp = open_cp(tmp_path, clock)
    who = people(cp)
    token_secret = cp.create_token(who["member"], "restart-bot", Role.AGENT)[1]
    bot = cp.token(token_secret)
    assert bot is not None
    approved = cp.propose(bot, bash(DROP)).card
    pending = cp.propose(bot, bash(SCALE)).card
    assert approved is not None and pending is not None
    cp.approve(who["admin"], approved.id, "prod")
    cp.change_settings(who["owner"], {"approval_ttl_seconds": 120})
    cp.close()

    again = open_control_plane(tmp_path)
    try:
        user, _ = again.login("adam", PASSWORD)
        bot2 = again.token(token_secret)
        assert user.role is Role.ADMIN and bot2 == bot
        assert again.settings().approval_ttl_seconds == 120
        assert again.get_card(bot2, pending.id).state is CardState.PENDING
        assert again.consume_grant(bot2, bash(DROP)) is not None
        assert again.consume_grant(bot2, bash(DROP)) is None
    finally:
        again.close()  # type: ignore[attr-defined]


# --- races (SQLite, threads) ---------------------------------------------------------------------


def _at_once(*calls: object) -> list[object]:
    """Run the calls in threads released together; each result or its Denied."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        fn, *args = calls[i]  # type: ignore[misc]
        barrier.wait()
        try:
            results[i] = fn(*args)
        except Denied as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_approve_and_deny_have_one_outcome(org: Org) -> None:
    cp = org.cp
    for n in range(20):
        # A new action each round: the identical retry of a denied one is denied
        # again without a card (test_a_denied_actions_retry_gets_the_reason).
        command = f"{DROP} # round {n}"
        card = cp.propose(org.agent, bash(command)).card
        assert card is not None
        results = _at_once((cp.approve, org.admin, card.id, "prod"),
                           (cp.deny, org.admin2, card.id, "no"))  # fmt: skip
        winners = [r for r in results if not isinstance(r, Denied)]
        losers = [r for r in results if isinstance(r, Denied)]
        assert len(winners) == 1 and len(losers) == 1 and losers[0].status == 409
        assert cp.get_card(org.owner, card.id).state is winners[0].state  # type: ignore[attr-defined]
        if winners[0].state is CardState.APPROVED:  # type: ignore[attr-defined]
            assert cp.consume_grant(org.agent, bash(command)) is not None
    outcomes = [e for e in org.events() if e in ("card.approved", "card.denied")]
    assert len(outcomes) == 20


def test_a_denied_actions_retry_gets_the_reason(org: Org) -> None:
    """Issue 15.3: the identical retry of a denied action is denied with the person's
    reason (no new card asking again); a different action gets its own card, and
    once the denial is older than a card's lifetime the retry asks again."""
    cp = org.cp
    card = cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    cp.deny(org.admin, card.id, "use the migration tool instead")
    retry = cp.propose(org.agent, bash(DROP))
    assert retry.card is None and retry.decision.verdict is Verdict.DENY
    assert "use the migration tool instead" in retry.decision.reasons[0]
    assert card.id in retry.decision.reasons[0]
    assert cp.propose(org.agent, bash(f"{DROP} # another")).card is not None
    org.clock.now += cp.settings().approval_ttl_seconds + 1
    assert cp.propose(org.agent, bash(DROP)).card is not None


def test_grant_consumed_once_under_concurrency(org: Org) -> None:
    card = org.cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    org.cp.approve(org.owner, card.id, "prod")
    results = _at_once(*[(org.cp.consume_grant, org.agent, bash(DROP))] * 6)
    assert sum(r is not None for r in results) == 1
    assert org.events().count("grant.used") == 1


# --- PostgreSQL: replicas, migrations and races across processes ----------------------------------


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh database per test on the module's cluster."""
    import psycopg

    name = "cp_" + hashlib.sha256(request.node.name.encode()).hexdigest()[:12]
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return pg_server.rsplit("/", 1)[0] + "/" + name


@pytest.mark.postgres
def test_postgres_replicas_share_one_state(pg_url: str, tmp_path: Path, hook_env: None) -> None:
    clock = Clock()
    one, two = open_cp(tmp_path, clock, pg_url), open_cp(tmp_path, clock, pg_url)
    try:
        who = people(one)
        card = one.propose(who["agent"], bash(DROP)).card
        assert card is not None
        assert two.approve(who["admin"], card.id, "prod").state is CardState.APPROVED
        denied(409, one.deny, who["admin2"], card.id, "late")
        assert two.settings().production_protection is False
        assert one.consume_grant(who["agent"], bash(DROP)) is not None
        assert two.consume_grant(who["agent"], bash(DROP)) is None
    finally:
        one.close()
        two.close()
    again = open_control_plane(tmp_path, pg_url)  # a restart against the same database
    try:
        assert again.get_card(who["agent"], card.id).state is CardState.USED  # the retry used it
    finally:
        again.close()  # type: ignore[attr-defined]


_OPEN = (
    "import pathlib, sys\n"
    "from opsgate.approvals.control import open_control_plane\n"
    "open_control_plane(pathlib.Path(sys.argv[1]), sys.argv[2]).close()\n"
)


@pytest.mark.postgres
def test_postgres_concurrent_first_start_migrates_once(pg_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    import psycopg

    procs = [
        subprocess.Popen([sys.executable, "-c", _OPEN, str(tmp_path), pg_url]) for _ in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with psycopg.connect(pg_url) as con:
        assert con.execute("SELECT version FROM schema_version ORDER BY version").fetchall() == [
            (v,) for v, _, _ in MIGRATIONS
        ]


def _race_worker(
    home: str,
    url: str,
    me: int,
    admin: Principal,
    agent: Principal,
    cards: list[str],
    grant_commands: list[str],
    barrier: object,
    out: object,
) -> None:
    cp = open_control_plane(Path(home), url)
    results: list[object] = []
    for card_id in cards:
        barrier.wait(timeout=60)  # type: ignore[attr-defined]
        try:
            if me == 0:
                results.append(cp.approve(admin, card_id, "prod").state.value)
            else:
                results.append(cp.deny(admin, card_id, "no").state.value)
        except Denied as exc:
            results.append(exc.status)
    for command in grant_commands:
        barrier.wait(timeout=60)  # type: ignore[attr-defined]
        results.append(cp.consume_grant(agent, bash(command)) is not None)
    out.put((me, results))  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_postgres_races_across_processes(pg_url: str, tmp_path: Path, hook_env: None) -> None:
    """Two processes decide the same card at the same moment, 20 times: exactly one
    outcome each round; then both try the same grant: it is used once."""
    import multiprocessing

    cp = open_control_plane(tmp_path, pg_url)
    assert isinstance(cp, SqlControlPlane)
    who = people(cp)
    cards = []
    for _ in range(20):
        card = cp.propose(who["agent"], bash(DROP)).card
        assert card is not None
        cards.append(card.id)
    grant_commands = [f"{DROP} --wait={i}s" for i in range(5)]
    for command in grant_commands:
        card = cp.propose(who["agent"], bash(command)).card
        assert card is not None
        cp.approve(who["owner"], card.id, "prod")
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    args = (str(tmp_path), pg_url)
    procs = [
        ctx.Process(target=_race_worker, args=(*args, 0, who["admin"], who["agent"], cards,
                                               grant_commands, barrier, out)),
        ctx.Process(target=_race_worker, args=(*args, 1, who["admin2"], who["agent"], cards,
                                               grant_commands, barrier, out)),
    ]  # fmt: skip
    for p in procs:
        p.start()
    results = dict(out.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0]
    for i, card_id in enumerate(cards):
        approve, deny = results[0][i], results[1][i]
        outcome = [r for r in (approve, deny) if isinstance(r, str)]
        assert len(outcome) == 1 and 409 in (approve, deny), (i, approve, deny)
        assert cp.get_card(who["owner"], card_id).state.value == outcome[0]
    for j in range(len(grant_commands)):
        assert [results[0][20 + j], results[1][20 + j]].count(True) == 1
    events = [e.event for e in cp.audit.entries()]
    assert events.count("card.denied") + events.count("card.approved") == 20 + 5
    assert events.count("grant.used") == 5
    cp.close()


def test_notification_outbox(org: Org) -> None:
    card = org.cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    org.cp.approve(org.admin, card.id, "prod")
    claimed = org.cp.claim_notifications()
    assert [n["event"] for n in claimed] == ["card.created", "card.approved"]
    assert DROP not in str(claimed)  # the command may hold secrets: never sent
    assert org.cp.claim_notifications() == []  # leased to the first claimer
    org.cp.notification_done(claimed[0]["id"])
    org.cp.notification_done(claimed[1]["id"], error="timeout", retry_at=org.clock.now)
    assert [n["event"] for n in org.cp.claim_notifications()] == ["card.approved"]


# --- the organisation's revision: cached callers and policy never outlive a change ---------------


def _replica_changes_count_at_once(one: SqlControlPlane, two: SqlControlPlane) -> None:
    """``two`` decides (warming its caches); ``one`` changes things; ``two`` sees each
    change on its very next call."""
    who = people(one)
    owner = who["owner"]
    _info, secret = one.create_token(owner, "bot", Role.AGENT)
    helper_info, helper_secret = one.create_token(who["admin"], "ops-bot", Role.ADMIN)
    assert two.token(secret) is not None and two.token(secret) is not None  # cached now
    assert two.token(helper_secret).role is Role.ADMIN  # type: ignore[union-attr]
    agent = two.token(secret)
    assert agent is not None
    # Settings: Production Protection refuses production writes at once.
    prod = Action("", "Bash", {"command": "kubectl --context prod delete pod api-1"})
    assert two.evaluate(agent, prod).decided_by != "production_protection"
    one.change_settings(owner, {"production_protection": True})
    assert "production_protection" in two.evaluate(agent, prod).decided_by
    # Inventory: a new target's environment is known at once (an unknown host is
    # production until the inventory says otherwise).
    host = Action("", "Bash", {"command": "ssh billing-7 'systemctl restart api'"})
    assert two.evaluate(agent, host).environment is Environment.PRODUCTION
    one.put_target(
        owner,
        InventoryTarget(
            name="billing-7", kind="server", environment=Environment.STAGING, match=("billing-7",)
        ),
    )
    assert two.evaluate(agent, host).environment is Environment.STAGING
    # A creator's demotion caps their token at once; revocation ends it at once.
    one.set_role(owner, who["admin"].id, Role.MEMBER)
    assert two.token(helper_secret).role is Role.MEMBER  # type: ignore[union-attr]
    one.revoke_token(owner, helper_info.id)
    assert two.token(helper_secret) is None
    one.revoke_token(owner, _info.id)
    assert two.token(secret) is None


def test_another_instance_sees_every_change_at_once_sqlite(tmp_path: Path, hook_env: None) -> None:
    clock = Clock()
    one, two = open_cp(tmp_path / "home", clock), open_cp(tmp_path / "home", clock)
    try:
        _replica_changes_count_at_once(one, two)
    finally:
        one.close()
        two.close()


@pytest.mark.postgres
def test_another_replica_sees_every_change_at_once_postgres(
    pg_url: str, tmp_path: Path, hook_env: None
) -> None:
    clock = Clock()
    one, two = open_cp(tmp_path, clock, pg_url), open_cp(tmp_path, clock, pg_url)
    try:
        _replica_changes_count_at_once(one, two)
    finally:
        one.close()
        two.close()
