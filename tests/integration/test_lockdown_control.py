"""Lockdown on the control plane itself (SQLite file, real audit log, real engine):
writes denied with a reason naming the lockdown, who and why; reads allowed; pending
cards cancelled, unused grants revoked, agent tokens revoked on request; nobody
approves during a lockdown; a decision made just before it cannot create a card or
use a grant after it; another control plane on the same store sees it on its next
decision; lifting restores writes, never what was revoked; who may do which."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_control_plane import (
    DROP,
    SCALE,
    Clock,
    Org,
    bash,
    denied,
    open_cp,
    people,
)

from opsgate.approvals.model import Card, CardState, Role
from opsgate.models import Environment, Impact, Verdict
from opsgate.store import _cards as db

READ = "kubectl --context staging get pods"
WHY = "agent deleted a staging namespace; investigating"


@pytest.fixture
def org(tmp_path: Path, hook_env: None) -> Iterator[Org]:
    clock = Clock()
    cp = open_cp(tmp_path / "home", clock)
    yield Org(cp, clock, **people(cp))
    cp.close()


def test_lockdown_denies_writes_and_keeps_reads(org: Org) -> None:
    cp = org.cp
    assert cp.lockdown_status() is None
    assert cp.evaluate(org.agent, bash(SCALE)).verdict is Verdict.REQUIRE_APPROVAL
    report = cp.lock_down(org.admin, WHY)
    assert report.lockdown is not None and report.lockdown.by == "adam"
    for command in (SCALE, DROP, "eval $CMD"):  # caution, destructive, unknown
        for decision in (
            cp.evaluate(org.agent, bash(command)),
            cp.propose(org.agent, bash(command)).decision,
        ):
            assert decision.verdict is Verdict.DENY, command
            assert decision.decided_by == "lockdown"
            reason = decision.reasons[0]
            assert "locked down" in reason and "adam (admin)" in reason and WHY in reason
    assert cp.propose(org.agent, bash(READ)).decision.verdict is Verdict.ALLOW
    assert cp.list_cards(org.admin, db.CardFilter()).total == 0  # no card, ever


def test_lockdown_cancels_pending_cards_and_revokes_grants(org: Org) -> None:
    cp = org.cp
    pending = cp.propose(org.agent, bash(SCALE)).card
    approved = cp.propose(org.agent, bash(DROP)).card
    assert pending is not None and approved is not None
    cp.approve(org.admin, approved.id, "prod")
    report = cp.lock_down(org.owner, WHY, revoke_tokens=False)
    assert [c.id for c in report.cards] == [pending.id]
    assert [g.card_id for g in report.grants] == [approved.id]
    got = cp.get_card(org.admin, pending.id)
    assert got.state is CardState.CANCELLED and WHY in (got.reason or "")
    denied(409, cp.approve, org.admin, pending.id, None)
    # Lifting restores writes, not the grant: the identical retry needs a new card.
    cp.lift_lockdown(org.owner, "namespace restored")
    retry = cp.propose(org.agent, bash(DROP))
    assert retry.grant is None and retry.card is not None
    events = [(e.event, e.data.get("result") or {}) for e in cp.audit.entries()]
    names = [n for n, _ in events]
    start = names.index("lockdown.started")
    assert names[start + 1 : start + 3] == ["card.cancelled", "grant.revoked"]
    assert events[start][1]["reason"] == WHY
    assert events[start + 1][1]["card"] == pending.id and events[start + 1][1]["lockdown"]
    lifted = events[names.index("lockdown.lifted")][1]
    assert lifted["reason"] == "namespace restored" and lifted["locked_by"] == "olivia"
    entry = next(e for e in cp.audit.entries() if e.event == "lockdown.started")
    assert entry.data["actor"]["name"] == "olivia" and entry.data["actor"]["role"] == "owner"


def test_revoke_tokens_revokes_agent_tokens_only(org: Org) -> None:
    cp = org.cp
    info, secret = cp.create_token(org.owner, "ci-admin", Role.ADMIN)
    report = cp.lock_down(org.admin, WHY, revoke_tokens=True)
    assert sorted(t.name for t in report.tokens) == ["claude", "codex"]
    denied(401, cp.get_card, org.agent, "c_x")  # a revoked agent token is refused
    assert cp.token(secret) is not None  # automation tokens stay
    cp.lift_lockdown(org.admin, "done")
    denied(401, cp.get_card, org.agent2, "c_x")  # lifting does not bring them back
    assert sum(e.event == "token.revoked" for e in cp.audit.entries()) == 2
    del info


def test_who_may_lock_down_and_lift(org: Org) -> None:
    cp = org.cp
    for who in (org.agent, org.viewer, org.member):
        denied(403, cp.lock_down, who, "no")
    _, secret = cp.create_token(org.owner, "pager", Role.ADMIN)
    automation = cp.token(secret)
    assert automation is not None
    cp.lock_down(automation, "paged")  # automation may press the button …
    for who in (automation, org.agent, org.member):  # … never lift it; nor may an agent
        denied(403, cp.lift_lockdown, who, "lift")
    assert cp.lockdown_status() is not None
    cp.lift_lockdown(org.admin, "clear")
    denied(409, cp.lift_lockdown, org.admin, "again")  # not locked down
    # The generic settings route cannot touch it either.
    denied(422, cp.change_settings, org.owner, {"lockdown": None})


def test_locking_twice_keeps_the_first_and_sweeps_again(org: Org) -> None:
    cp = org.cp
    first = cp.lock_down(org.admin, "first")
    org.clock.now += 60
    second = cp.lock_down(org.owner, "second")
    assert second.renewed and second.lockdown == first.lockdown


def test_decision_made_before_the_lockdown_cannot_write_after_it(org: Org) -> None:
    """The window between a decision and its write step: a proposal decided (card
    due) just before the lockdown commits neither creates a card nor uses a grant."""
    cp = org.cp
    card = cp.propose(org.agent, bash(DROP)).card
    assert card is not None
    cp.approve(org.admin, card.id, "prod")
    decided = []
    for command in (DROP, SCALE):  # one would use the grant, one would create a card
        action = bash(command)
        decision = cp._decide(action)
        assert decision.verdict is Verdict.REQUIRE_APPROVAL
        decided.append(cp._proposal(org.agent, action, decision, "", ""))
    cp.lock_down(org.admin, WHY)
    for step in decided:
        assert callable(step)
        result = cp._write(step)
        assert result.decision.verdict is Verdict.DENY and result.decision.decided_by == "lockdown"
        assert result.card is None and result.grant is None
    assert cp.consume_grant(org.agent, bash(DROP)) is None


def test_nobody_approves_during_a_lockdown(org: Org) -> None:
    """A pending card that exists during a lockdown (written by a version that did
    not know about it, or by hand) cannot be approved until it is lifted."""
    cp = org.cp
    cp.lock_down(org.admin, WHY)
    now = org.clock.now
    stray = Card(
        id="c_stray", state=CardState.PENDING, created_at=now, expires_at=now + 600,
        description="stray", target="staging", environment=Environment.STAGING,
        impact=Impact.CAUTION, action_kind="shell.exec", action={"command": SCALE},
        action_hash="0" * 64, requested_by=org.agent.id, requested_by_name="claude",
    )  # fmt: skip
    with cp.store.write() as conn:
        db.insert_card(conn, stray)
    refused = denied(409, cp.approve, org.admin, "c_stray", None)
    assert refused.code == "locked_down" and WHY in refused.reason
    cp.lift_lockdown(org.admin, "over")
    assert cp.approve(org.admin, "c_stray", None).state is CardState.APPROVED


def test_another_control_plane_on_the_store_sees_it_at_once(org: Org, tmp_path: Path) -> None:
    """Another process on the same database (a replica): its cached policy is keyed
    by the organisation's revision, which the lockdown bumps."""
    other = open_cp(tmp_path / "home", Clock())
    try:
        assert other.evaluate(org.agent, bash(SCALE)).verdict is Verdict.REQUIRE_APPROVAL
        org.cp.lock_down(org.admin, WHY)
        assert other.evaluate(org.agent, bash(SCALE)).decided_by == "lockdown"
        org.cp.lift_lockdown(org.admin, "over")
        assert other.evaluate(org.agent, bash(SCALE)).verdict is Verdict.REQUIRE_APPROVAL
    finally:
        other.close()


def test_lockdown_is_announced_through_the_outbox(org: Org) -> None:
    cp = org.cp
    card = cp.propose(org.agent, bash(SCALE)).card
    assert card is not None
    cp.lock_down(org.admin, WHY)
    cp.lift_lockdown(org.owner, "fixed")
    rows = cp.claim_notifications(limit=50)
    events = [r["event"] for r in rows]
    assert events[-3:] == ["lockdown.started", "card.cancelled", "lockdown.lifted"]
    started = rows[events.index("lockdown.started")]["payload"]
    payload = json.loads(started) if isinstance(started, str) else started
    assert payload["by"] == "adam" and payload["reason"] == WHY
    assert payload["cancelled_cards"] == [card.id]


@pytest.mark.parametrize("reason", ["", "a\nmultiline\treason  " + "x" * 600])
def test_reason_is_one_bounded_line(org: Org, reason: str) -> None:
    report = org.cp.lock_down(org.admin, reason)
    assert report.lockdown is not None
    assert "\n" not in report.lockdown.reason and len(report.lockdown.reason) <= 500
    shown = org.cp.evaluate(org.agent, bash(SCALE)).reasons[0]
    assert ("no reason given" in shown) is (reason == "")
