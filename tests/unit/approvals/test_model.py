"""Every rule of ``approvals.model``, as tables of cases with readable ids."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from opsgate.approvals.model import (
    Card,
    CardState,
    Denied,
    Grant,
    Role,
    Settings,
    User,
    action_hash,
    approvers_needed,
    can_approve,
    can_change_settings,
    check_confirmation,
    next_state,
)
from opsgate.models import Environment, Impact

NOW = 1_000_000.0
S = CardState
PROD, STAGING, DEV = Environment.PRODUCTION, Environment.STAGING, Environment.DEVELOPMENT
SAFE, CAUTION, DESTRUCTIVE = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE


def card(**changes: object) -> Card:
    base = Card(
        id="c1",
        state=S.PENDING,
        created_at=NOW - 10,
        expires_at=NOW + 600,
        description="Drops table users",
        target="db-prod",
        environment=PROD,
        impact=DESTRUCTIVE,
        action_kind="shell.exec",
        action={"command": "psql -c 'DROP TABLE users'"},
        action_hash="h",
        requested_by="agent-1",
        requested_by_name="claude",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]  # keyword bag of fields


def user(role: Role, uid: str = "u1", *, disabled: bool = False) -> User:
    return User(id=uid, name=uid, role=role, disabled=disabled)


# --- roles and states --------------------------------------------------------------------


def test_role_ranks_are_ordered() -> None:
    ranked = sorted(Role, key=lambda r: r.rank)
    assert ranked == [Role.AGENT, Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


@pytest.mark.parametrize(
    ("state", "final"),
    [(S.PENDING, False), (S.APPROVED, False), (S.EXECUTING, False), (S.COMPLETED, True),
     (S.FAILED, True), (S.DENIED, True), (S.EXPIRED, True), (S.CANCELLED, True),
     (S.USED, True)],
    ids=lambda v: v.value if isinstance(v, CardState) else str(v),
)  # fmt: skip
def test_final_states(state: CardState, final: bool) -> None:
    assert state.final is final


ALLOWED = {
    (S.PENDING, S.APPROVED), (S.PENDING, S.DENIED), (S.PENDING, S.EXPIRED),
    (S.PENDING, S.CANCELLED), (S.APPROVED, S.EXECUTING), (S.APPROVED, S.EXPIRED),
    (S.APPROVED, S.CANCELLED), (S.APPROVED, S.USED),  # cancelled: by a lockdown too
    (S.EXECUTING, S.COMPLETED), (S.EXECUTING, S.FAILED),
}  # fmt: skip


@pytest.mark.parametrize(
    ("current", "wanted"),
    [(a, b) for a in CardState for b in CardState],
    ids=[f"{a.value}->{b.value}" for a in CardState for b in CardState],
)
def test_transitions(current: CardState, wanted: CardState) -> None:
    if (current, wanted) in ALLOWED:
        assert next_state(current, wanted) is wanted
    else:
        with pytest.raises(Denied) as err:
            next_state(current, wanted)
        assert err.value.status == 409 and err.value.code == "invalid_transition"


@pytest.mark.parametrize(
    ("state", "at", "expired"),
    [(S.PENDING, NOW + 599, False), (S.PENDING, NOW + 600, True), (S.APPROVED, NOW + 601, True),
     (S.DENIED, NOW + 601, False), (S.EXECUTING, NOW + 601, False)],
    ids=["pending-before", "pending-at-expiry", "approved-after", "denied-after",
         "executing-after"],
)  # fmt: skip
def test_card_expired(state: CardState, at: float, expired: bool) -> None:
    assert card(state=state, expires_at=NOW + 600).expired(at) is expired


# --- who may approve -----------------------------------------------------------------------

APPROVE = [
    # role, impact, environment, allowed
    (Role.MEMBER, SAFE, PROD, True),
    (Role.MEMBER, CAUTION, STAGING, True),
    (Role.MEMBER, CAUTION, DEV, True),
    (Role.MEMBER, CAUTION, PROD, False),
    (Role.MEMBER, DESTRUCTIVE, DEV, False),
    (Role.MEMBER, DESTRUCTIVE, PROD, False),
    (Role.ADMIN, DESTRUCTIVE, PROD, True),
    (Role.ADMIN, CAUTION, PROD, True),
    (Role.OWNER, DESTRUCTIVE, PROD, True),
    (Role.OWNER, SAFE, DEV, True),
    (Role.VIEWER, SAFE, DEV, False),
    (Role.VIEWER, DESTRUCTIVE, PROD, False),
    (Role.AGENT, SAFE, DEV, False),
]


@pytest.mark.parametrize(
    ("role", "impact", "env", "allowed"),
    APPROVE,
    ids=[f"{r.value}-{i.label}-{e.label}-{'ok' if a else 'no'}" for r, i, e, a in APPROVE],
)
def test_role_matrix(role: Role, impact: Impact, env: Environment, allowed: bool) -> None:
    subject = card(impact=impact, environment=env)
    if allowed:
        can_approve(user(role), subject, now=NOW)
    else:
        with pytest.raises(Denied) as err:
            can_approve(user(role), subject, now=NOW)
        assert err.value.status == 403


REFUSALS = [
    ("not-pending", user(Role.OWNER), card(state=S.APPROVED), 409, "not_pending"),
    ("denied-card", user(Role.OWNER), card(state=S.DENIED), 409, "not_pending"),
    ("expired", user(Role.OWNER), card(expires_at=NOW), 409, "expired"),
    ("disabled", user(Role.OWNER, disabled=True), card(), 403, "forbidden"),
    ("own-request", user(Role.OWNER, "agent-1"), card(), 403, "forbidden"),
    ("already-approved", user(Role.OWNER), card(approvals=("u1",)), 409, "already_approved"),
]


@pytest.mark.parametrize(
    ("who", "subject", "status", "code"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_approval_refusals(who: User, subject: Card, status: int, code: str) -> None:
    with pytest.raises(Denied) as err:
        can_approve(who, subject, now=NOW)
    assert (err.value.status, err.value.code) == (status, code)


def test_second_approver_may_approve() -> None:
    can_approve(user(Role.ADMIN, "u2"), card(approvals=("u1",), approvers_needed=2), now=NOW)


# --- typed confirmation ----------------------------------------------------------------------

CONFIRM = [
    ("exact", "payments", "payments", True),
    ("case-insensitive", "payments", "PAYMENTS", True),
    ("mixed-case-target", "Payments-DB", "payments-db", True),
    ("ends-trimmed", "payments", "  payments\n", True),
    ("missing", "payments", None, False),
    ("empty", "payments", "", False),
    ("partial", "payments", "payment", False),
    ("prefix-extra", "payments", "payments2", False),
    ("inner-space", "payments db", "paymentsdb", False),
    ("other-name", "payments", "billing", False),
]


@pytest.mark.parametrize(
    ("confirm", "typed", "ok"), [c[1:] for c in CONFIRM], ids=[c[0] for c in CONFIRM]
)
def test_confirmation(confirm: str, typed: str | None, ok: bool) -> None:
    if ok:
        check_confirmation(card(confirm=confirm), typed)
    else:
        with pytest.raises(Denied) as err:
            check_confirmation(card(confirm=confirm), typed)
        assert (err.value.status, err.value.code) == (422, "confirmation_mismatch")


@pytest.mark.parametrize("typed", [None, "", "anything"], ids=["none", "empty", "anything"])
def test_no_confirmation_needed_without_confirm(typed: str | None) -> None:
    check_confirmation(card(confirm=None), typed)


# --- approvers needed -----------------------------------------------------------------------

TWO = Settings(two_approvers_for_destructive_production=True)
NEEDED = [
    ("off-destructive-prod", Settings(), DESTRUCTIVE, PROD, 1),
    ("on-destructive-prod", TWO, DESTRUCTIVE, PROD, 2),
    ("on-destructive-staging", TWO, DESTRUCTIVE, STAGING, 1),
    ("on-caution-prod", TWO, CAUTION, PROD, 1),
    ("on-safe-dev", TWO, SAFE, DEV, 1),
]


@pytest.mark.parametrize(
    ("settings", "impact", "env", "n"), [c[1:] for c in NEEDED], ids=[c[0] for c in NEEDED]
)
def test_approvers_needed(settings: Settings, impact: Impact, env: Environment, n: int) -> None:
    assert approvers_needed(impact, env, settings) == n


# --- grants ---------------------------------------------------------------------------------

BASE = ("shell.exec", {"command": "kubectl delete ns payments"}, "prod", "agent-1")
HASHES = [
    ("other-command", ("shell.exec", {"command": "kubectl delete ns billing"}, "prod", "agent-1")),
    ("other-kind", ("file.write", {"command": "kubectl delete ns payments"}, "prod", "agent-1")),
    ("other-target", ("shell.exec", {"command": "kubectl delete ns payments"}, "stg", "agent-1")),
    ("other-actor", ("shell.exec", {"command": "kubectl delete ns payments"}, "prod", "agent-2")),
    ("extra-input", ("shell.exec", {"command": "kubectl delete ns payments", "x": 1}, "prod",
                     "agent-1")),
    ("trailing-space", ("shell.exec", {"command": "kubectl delete ns payments "}, "prod",
                        "agent-1")),
    ("other-binding", ("shell.exec", {"command": "kubectl delete ns payments"}, "prod",
                       "agent-1", "0" * 64)),
]  # fmt: skip


@pytest.mark.parametrize("other", [h[1] for h in HASHES], ids=[h[0] for h in HASHES])
def test_action_hash_binds_everything(other: tuple[Any, ...]) -> None:
    assert action_hash(*other) != action_hash(*BASE)


def test_action_hash_is_canonical() -> None:
    a = action_hash("shell.exec", {"a": 1, "b": 2}, None, "x")
    b = action_hash("shell.exec", {"b": 2, "a": 1}, "", "x")
    assert a == b and len(a) == 64


GRANT = Grant(id="g", card_id="c", action_hash="h", created_at=NOW, expires_at=NOW + 60)
COVERS = [
    ("match", GRANT, "h", NOW, True),
    ("other-hash", GRANT, "x", NOW, False),
    ("expired", GRANT, "h", NOW + 60, False),
    ("used", dataclasses.replace(GRANT, uses_left=0), "h", NOW, False),
]


@pytest.mark.parametrize(
    ("grant", "digest", "at", "ok"), [c[1:] for c in COVERS], ids=[c[0] for c in COVERS]
)
def test_grant_covers(grant: Grant, digest: str, at: float, ok: bool) -> None:
    assert grant.covers(digest, at) is ok


# --- settings -------------------------------------------------------------------------------

SETTINGS = [
    (role, name, role.rank >= needed.rank and role is not Role.AGENT)
    for role in Role
    for name, needed in {
        "production_protection": Role.OWNER,
        "write_actions": Role.ADMIN,
        "approval_ttl_seconds": Role.ADMIN,
        "two_approvers_for_destructive_production": Role.OWNER,
    }.items()
]


@pytest.mark.parametrize(
    ("role", "name", "ok"), SETTINGS, ids=[f"{r.value}-{n}" for r, n, _ in SETTINGS]
)
def test_who_changes_settings(role: Role, name: str, ok: bool) -> None:
    if ok:
        can_change_settings(role, {name: True})
    else:
        with pytest.raises(Denied) as err:
            can_change_settings(role, {name: True})
        assert err.value.status == 403


def test_unknown_setting_is_422() -> None:
    with pytest.raises(Denied) as err:
        can_change_settings(Role.OWNER, {"auto_approve": True})
    assert (err.value.status, err.value.code) == (422, "unknown_setting")
