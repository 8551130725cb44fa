"""A card's state is always true (issue 15.1), on real stores: SQLite files and a
throwaway PostgreSQL cluster, a real audit log and engine; only the clock is injected.

Past approval a card says what happened: ``used`` by which retry (linked to its audit
entry) and when, ``expired`` unused, who approved (both, where two are needed).  A
change of settings, inventory, policy or tokens judges every open card again at
once: one that can no longer be honoured is ``cancelled`` with the reason (who
changed what, when), its grant revoked, ``card.cancelled`` audited and notified,
and approving it is refused with that reason — also when the change was made by
another replica or behind the control plane's back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_control_plane import Clock, open_cp, people

from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import CardState, Denied
from opsgate.approvals.service import Principal
from opsgate.environments import InventoryTarget
from opsgate.models import Action, Environment
from opsgate.store._schema import cards, notifications, settings
from servers import postgres_or_skip

DROP = "psql -h orders-db -c 'DROP TABLE orders'"  # destructive, production (inventory)
RESTART = "ssh web-staging-1 sudo systemctl restart nginx"  # caution, staging (inventory)
PROD_RESTART = "ssh web-prod-1 sudo systemctl restart nginx"  # caution, production


def bash(command: str) -> Action:
    return Action("shell.exec", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")


@dataclass
class Org:
    cp: SqlControlPlane
    clock: Clock
    home: Path
    url: str | None
    who: dict[str, Principal]

    def __getattr__(self, name: str) -> Principal:
        return self.who[name]

    def card(self, command: str, agent: str = "agent") -> str:
        card = self.cp.propose(self.who[agent], bash(command)).card
        assert card is not None, command
        return card.id

    def state(self, card_id: str) -> CardState:
        return self.cp.get_card(self.owner, card_id).state

    def entries(self, event: str) -> list[dict[str, Any]]:
        return [e.data for e in self.cp.audit.entries() if e.event == event]

    def outbox(self, event: str) -> list[dict[str, Any]]:
        with self.cp.store.read() as conn:
            rows = conn.execute(
                sa.select(notifications.c.payload).where(notifications.c.event == event)
            )
            return [dict(r.payload) for r in rows]


def _inventory(cp: SqlControlPlane, owner: Principal) -> None:
    for name, kind, env in (("orders-db", "database", Environment.PRODUCTION),
                            ("web-staging-1", "server", Environment.STAGING),
                            ("web-prod-1", "server", Environment.PRODUCTION)):  # fmt: skip
        cp.put_target(owner, InventoryTarget(name, kind, env, "full", (name,)))


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


def _database(pg_server: str, name: str) -> str:
    import psycopg

    db = "lc_" + hashlib.sha256(name.encode()).hexdigest()[:12]
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {db}")
        con.execute(f"CREATE DATABASE {db}")
    return pg_server.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def org(request: pytest.FixtureRequest, tmp_path: Path, hook_env: None) -> Iterator[Org]:
    url = None
    if request.param == "postgres":
        url = _database(request.getfixturevalue("pg_server"), request.node.name)
    clock = Clock()
    home = tmp_path / "home"
    cp = open_cp(home, clock, url)
    who = people(cp)  # Production Protection off
    _inventory(cp, who["owner"])
    made = Org(cp, clock, home, url, who)
    yield made
    made.cp.close()  # the one open now (a test may reopen it)


# --- used, expired unused, who approved ---------------------------------------------------


def test_a_used_card_names_the_retry_and_links_its_audit_entry(org: Org) -> None:
    card_id = org.card(RESTART)
    approved = org.cp.approve(org.admin, card_id, None)
    assert approved.state is CardState.APPROVED
    assert [(a.name, a.at) for a in approved.approved_by] == [("adam", org.clock.now)]
    org.clock.now += 7
    retry = org.cp.propose(org.agent, bash(RESTART))
    assert retry.grant is not None and retry.card is None
    card = org.cp.get_card(org.owner, card_id)
    assert card.state is CardState.USED
    used = card.outcome["used"]
    assert (used["by"], used["at"], used["grant"]) == ("claude", org.clock.now, retry.grant.id)
    (entry,) = [e for e in org.cp.audit.entries() if e.seq == used["audit_seq"]]
    assert entry.event == "grant.used" and entry.data["result"]["card"] == card_id
    assert entry.data["actor"]["name"] == "claude"
    assert [p["state"] for p in org.outbox("card.used")] == ["used"]
    # Used up: approving again is refused with what happened, and a second retry needs a card.
    refused = _refused(org.cp.approve, org.admin2, card_id, None)
    assert "used" in refused.reason
    assert org.cp.propose(org.agent, bash(RESTART)).card is not None


def test_an_approval_unused_until_its_grant_expires_reads_expired_unused(org: Org) -> None:
    card_id = org.card(RESTART)
    org.cp.approve(org.admin, card_id, None)
    org.clock.now += 15 * 60 - 1
    assert org.cp.expire_due() == [] and org.state(card_id) is CardState.APPROVED
    org.clock.now += 2
    (expired,) = org.cp.expire_due()
    assert expired.id == card_id and expired.state is CardState.EXPIRED
    assert "not use the approval" in (expired.reason or "")
    assert "expired_unused" in org.cp.get_card(org.owner, card_id).outcome
    (entry,) = [e for e in org.entries("card.expired") if e["result"]["card"] == card_id]
    assert entry["result"]["unused"] is True
    # The retry after that is a new card, not the expired approval.
    assert org.cp.propose(org.agent, bash(RESTART)).card is not None
    assert org.state(card_id) is CardState.EXPIRED


def test_two_approvers_are_both_named(org: Org) -> None:
    org.cp.change_settings(org.owner, {"two_approvers_for_destructive_production": True})
    card_id = org.card(DROP)
    first = org.cp.approve(org.admin, card_id, "orders-db")
    assert first.state is CardState.PENDING and [a.name for a in first.approved_by] == ["adam"]
    org.clock.now += 30
    second = org.cp.approve(org.admin2, card_id, "orders-db")
    assert second.state is CardState.APPROVED
    card = org.cp.get_card(org.viewer, card_id)
    assert [(a.name, a.at) for a in card.approved_by] == [
        ("adam", org.clock.now - 30),
        ("ada", org.clock.now),
    ]
    (entry,) = [e for e in org.entries("card.approved") if e["result"]["final"]]
    assert entry["result"]["approved_by"] == ["adam", "ada"]


# --- re-judged on every change --------------------------------------------------------------------


def test_production_protection_cancels_open_production_cards_with_the_reason(org: Org) -> None:
    pending = org.card(DROP)
    approved = org.card(PROD_RESTART)
    org.cp.approve(org.admin, approved, None)
    staging = org.card(RESTART)
    org.cp.change_settings(org.owner, {"production_protection": True})

    said = "Production Protection was turned on by olivia at 08:00 UTC: agents cannot change"
    for card_id in (pending, approved):
        card = org.cp.get_card(org.owner, card_id)
        assert card.state is CardState.CANCELLED and (card.reason or "").startswith(said)
        assert card.outcome["cancelled"]["rule"] == "settings.production_protection"
    assert org.state(staging) is CardState.PENDING  # staging: still honourable
    assert org.cp.get_card(org.owner, approved).outcome["cancelled"]["was"] == "approved"

    entries = {e["result"]["card"]: e for e in org.entries("card.cancelled")}
    assert set(entries) == {pending, approved}
    assert entries[pending]["rule"] == "settings.production_protection"
    assert entries[pending]["result"]["reason"].startswith(said)
    assert entries[pending]["actor"]["name"] == "olivia"
    outbox = {p["card"]: p for p in org.outbox("card.cancelled")}
    assert outbox[approved]["reason"].startswith(said)

    refused = _refused(org.cp.approve, org.admin, pending, "orders-db")
    assert refused.status == 409 and said in refused.reason
    # The approved card's grant went with it: lifting the protection does not revive it.
    org.cp.change_settings(org.owner, {"production_protection": False})
    assert org.cp.consume_grant(org.agent, bash(PROD_RESTART)) is None
    assert org.state(approved) is CardState.CANCELLED


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"write_actions": False}, "Write Actions were turned off by olivia"),
        ({"access": "read_only"}, "server web-staging-1 was set to Read only by olivia"),
        ({"access": "no_access"}, "server web-staging-1 was set to No access by olivia"),
        ({"environment": Environment.PRODUCTION},
         "server web-staging-1 was moved to production by olivia"),
    ],
    ids=["write-actions-off", "read-only", "no-access", "moved-to-production"],
)  # fmt: skip
def test_every_kind_of_change_is_judged(org: Org, change: dict[str, Any], expected: str) -> None:
    card_id = org.card(RESTART)
    if "write_actions" in change:
        org.cp.change_settings(org.owner, change)
    else:
        target = InventoryTarget("web-staging-1", "server", Environment.STAGING, "full",
                                 ("web-staging-1",))  # fmt: skip
        org.cp.put_target(org.owner, target.__class__(**{**_fields(target), **change}))
    card = org.cp.get_card(org.owner, card_id)
    assert card.state is CardState.CANCELLED, card
    assert (card.reason or "").startswith(expected), card.reason


def test_a_change_that_takes_nothing_away_leaves_cards_open(org: Org) -> None:
    staging = org.card(RESTART)
    prod = org.card(DROP)
    org.cp.change_settings(org.owner, {"approval_ttl_seconds": 600})
    target = InventoryTarget("web-staging-1", "server", Environment.DEVELOPMENT, "full",
                             ("web-staging-1",))  # fmt: skip
    org.cp.put_target(org.owner, target)  # a lower environment: the approval still covers it
    assert (org.state(staging), org.state(prod)) == (CardState.PENDING, CardState.PENDING)
    assert org.entries("card.cancelled") == []


def test_revoking_a_token_cancels_only_the_cards_it_asked_for(org: Org) -> None:
    mine = org.card(RESTART)
    other = org.card(PROD_RESTART, agent="agent2")
    with org.cp.store.read() as conn:
        token = conn.execute(sa.text("SELECT id FROM api_tokens WHERE name = 'claude'")).scalar()
    org.cp.revoke_token(org.owner, str(token))
    card = org.cp.get_card(org.owner, mine)
    assert card.state is CardState.CANCELLED
    assert (card.reason or "").startswith(
        "the API token claude that asked for it was revoked by olivia at"
    )
    assert org.state(other) is CardState.PENDING


def test_a_policy_file_rule_is_judged_when_the_file_changes(org: Org) -> None:
    card_id = org.card(RESTART)
    assert org.cp.rejudge_due() == []  # first look: nothing changed since the card
    (org.home / "policy.yaml").write_text(
        "version: 1\nrules:\n  - {id: no-restarts, action: shell.exec, resource: '*systemctl*',"
        " effect: deny, reason: 'no restarts during the freeze'}\n"
    )
    (cancelled,) = org.cp.rejudge_due()
    assert cancelled.id == card_id
    assert (
        cancelled.reason == "policy rule no-restarts now denies this: no restarts during the freeze"
    )


def test_a_change_made_behind_the_control_plane_is_caught_by_the_revision(org: Org) -> None:
    """A writer that does not judge (an older replica, a hand edit): the revision moved,
    so the next ``rejudge_due`` — and any approval before it — judges the card."""
    first, second = org.card(DROP), org.card(PROD_RESTART)
    with org.cp.store.write() as conn:
        conn.execute(sa.update(settings).where(settings.c.key == "production_protection")
                     .values(value=True))  # fmt: skip
    refused = _refused(org.cp.approve, org.admin, first, "orders-db")
    assert "Production Protection was turned on by olivia" in refused.reason
    assert org.state(first) is CardState.CANCELLED
    assert org.state(second) is CardState.PENDING  # not judged yet: nobody looked
    (swept,) = org.cp.rejudge_due()
    assert swept.id == second and org.state(second) is CardState.CANCELLED
    assert org.cp.rejudge_due() == []


def test_a_card_decided_just_before_a_change_on_another_replica_is_cancelled(org: Org) -> None:
    """Replica B decided before replica A's change committed and wrote its card after A
    judged: B's card carries the revision it was decided at, and the sweep (on any
    replica) judges it."""
    other = open_cp(org.home, org.clock, org.url)
    try:
        action = bash(DROP)
        decision, revision = other._decide_at(action)
        step = other._proposal(org.agent, action, decision, "", "", revision=revision)
        org.cp.change_settings(org.owner, {"production_protection": True})
        assert not isinstance(step, type(None)) and callable(step)
        late = other._write(step).card
        assert late is not None and org.state(late.id) is CardState.PENDING
        (swept,) = org.cp.rejudge_due()
        assert swept.id == late.id and "Production Protection" in (swept.reason or "")
        assert other.rejudge_due() == []
    finally:
        other.close()


def test_a_retry_racing_a_cancellation_gets_exactly_one_outcome(org: Org) -> None:
    card_id = org.card(PROD_RESTART)
    org.cp.approve(org.admin, card_id, None)
    org.cp.change_settings(org.owner, {"production_protection": True})
    assert org.cp.consume_grant(org.agent, bash(PROD_RESTART)) is None
    assert org.state(card_id) is CardState.CANCELLED
    with org.cp.store.read() as conn:
        uses = conn.execute(sa.text("SELECT uses_left FROM grants")).scalars().all()
    assert list(uses) == [0]


# --- helpers -------------------------------------------------------------------------------


def _refused(fn: Any, *args: Any) -> Denied:
    with pytest.raises(Denied) as err:
        fn(*args)
    return err.value


def _fields(target: InventoryTarget) -> dict[str, Any]:
    return {f: getattr(target, f) for f in target.__dataclass_fields__}


def test_cards_table_has_the_lifecycle_columns(org: Org) -> None:
    names = {c.name for c in cards.columns}
    assert {"approved_by", "outcome", "basis", "judged_rev"} <= names


def test_cards_from_before_the_lifecycle_migrate_and_are_judged(org: Org) -> None:
    """A database the previous release left (no lifecycle columns): the lifecycle
    migration adds them in place, and its open cards — with no recorded basis — are judged from what
    the card shows."""
    from opsgate.store import _migrate

    (mine,) = [v for v, name, _ in _migrate.MIGRATIONS if name.startswith("card lifecycle")]
    later = {8: ("undo",), 9: ()}  # what the releases after it added to cards (9: an index)
    assert set(later) == {v for v, _, _ in _migrate.MIGRATIONS if v > mine}
    prod, staging = org.card(PROD_RESTART), org.card(RESTART)
    org.cp.close()
    engine = sa.create_engine(org.url or f"sqlite:///{org.home / 'opsgate.db'}")
    added = {
        "cards": ("approved_by", "outcome", "basis", "judged_rev", *later[8]),
        "inventory_targets": ("updated_by",),
        "api_tokens": ("revoked_at", "revoked_by"),
    }
    with engine.begin() as conn:  # the shape the release before it left behind
        for table, columns in added.items():
            for column in columns:
                conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(sa.text("DELETE FROM schema_version WHERE version >= :v"), {"v": mine})
    assert _migrate.migrate(engine) == mine - 1
    engine.dispose()
    org.cp = open_cp(org.home, org.clock, org.url)
    org.cp.change_settings(org.owner, {"production_protection": True})
    assert org.state(prod) is CardState.CANCELLED
    assert org.state(staging) is CardState.PENDING
    assert org.cp.approve(org.admin, staging, None).state is CardState.APPROVED
