# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""Managing people (issue 15.4) through the service and the API: who may disable,
enable and reset whom; sessions end; disabled people cannot log in; token names
are unique per creator; one-time values are single-use and expire."""

from __future__ import annotations

import pytest
from test_server_api import (  # noqa: F401  (fixtures)
    PASSWORD,
    ApiClient,
    Org,
    client,
    control,
    home,
    org,
)

from opsgate.approvals.model import Denied, Role
from opsgate.approvals.service import ControlPlane


def test_admins_manage_members_and_viewers_owners_anyone(org: Org) -> None:
    c, p, ids = org.control, org.principals, org.user_ids
    admin, owner = p["admin"], p["owner"]
    assert c.set_disabled(admin, ids["viewer"], True).disabled
    assert not c.set_disabled(admin, ids["viewer"], False).disabled
    other = c.create_user(owner, "cleo", PASSWORD, Role.ADMIN)
    with pytest.raises(Denied, match="needs an owner"):
        c.set_disabled(admin, other.id, True)  # an equal: not an admin's to manage
    with pytest.raises(Denied, match="needs an owner"):
        c.set_disabled(admin, ids["owner"], True)
    with pytest.raises(Denied, match="needs the admin role"):
        c.set_disabled(p["member"], ids["viewer"], True)
    assert c.set_disabled(owner, other.id, True).disabled
    with pytest.raises(Denied, match="disables themselves"):
        c.set_disabled(owner, ids["owner"], True)
    with pytest.raises(Denied, match="you are agent"):
        c.set_disabled(p["agent"], ids["viewer"], True)


def test_the_last_active_owner_stays(org: Org) -> None:
    c, p = org.control, org.principals
    second = c.create_user(p["owner"], "otto", PASSWORD, Role.OWNER)
    session = c.session(c.login("otto", PASSWORD)[1])
    assert session is not None
    c.set_disabled(session, org.user_ids["owner"], True)  # one owner disables the other
    with pytest.raises(Denied):
        c.set_disabled(session, second.id, True)  # nobody disables themselves
    assert [u.name for u in c.list_users(session) if u.role is Role.OWNER and not u.disabled] == [
        "otto"
    ]


def test_disabling_ends_sessions_and_refuses_logins(org: Org) -> None:
    c, p = org.control, org.principals
    viewer_session = org.sessions["viewer"]
    assert c.session(viewer_session) is not None
    c.set_disabled(p["admin"], org.user_ids["viewer"], True)
    assert c.session(viewer_session) is None
    with pytest.raises(Denied):
        c.login("vic", PASSWORD)
    c.set_disabled(p["admin"], org.user_ids["viewer"], False)
    assert c.session(c.login("vic", PASSWORD)[1]) is not None


def test_passwords_your_own_with_the_current_one_others_by_the_rule(org: Org) -> None:
    c, p, ids = org.control, org.principals, org.user_ids
    member_session = org.sessions["member"]
    with pytest.raises(Denied, match="current password is wrong"):
        c.set_password(p["member"], ids["member"], "a new password", current="nope")
    c.set_password(p["member"], ids["member"], "a new password", current=PASSWORD)
    assert c.session(member_session) is None  # every session ended
    with pytest.raises(Denied):
        c.login("max", PASSWORD)
    c.login("max", "a new password")
    c.set_password(p["admin"], ids["member"], "reset by ada!")  # an admin resets a member
    c.login("max", "reset by ada!")
    with pytest.raises(Denied, match="needs an owner"):
        c.set_password(p["admin"], ids["owner"], "taken over!!")
    with pytest.raises(Denied, match="at least 8"):
        c.set_password(p["owner"], ids["member"], "short")
    with pytest.raises(Denied, match="needs the admin role"):
        c.set_password(p["viewer"], ids["member"], "not yours!")


def test_token_names_are_unique_per_creator_among_live_tokens(org: Org) -> None:
    c, p = org.control, org.principals
    c.create_token(p["owner"], "claude", Role.AGENT)
    with pytest.raises(Denied, match="already have a token named 'claude'") as refused:
        c.create_token(p["owner"], "claude", Role.AGENT)
    assert refused.value.status == 409
    c.create_token(p["admin"], "claude", Role.AGENT)  # another creator: their own name space
    first = next(t for t in c.list_tokens(p["owner"]) if t.name == "claude" and t.created_by
                 == org.user_ids["owner"])  # fmt: skip
    c.revoke_token(p["owner"], first.id)
    c.create_token(p["owner"], "claude", Role.AGENT)  # a revoked name may be used again


def test_one_time_values_are_single_use_bound_and_expire(control: ControlPlane) -> None:
    assert control.keep_once("flash", "k1", "hello", 60, owner="me")
    assert not control.keep_once("flash", "k1", "again", 60, owner="me")  # a replay
    assert control.take_once("flash", "k1", owner="someone else") is None
    assert control.take_once("flash", "k1", owner="me") == "hello"
    assert control.take_once("flash", "k1", owner="me") is None  # once
    clock = control.clock  # type: ignore[attr-defined]
    control.clock = lambda: clock() - 120  # type: ignore[attr-defined]
    assert control.keep_once("flash", "k2", "old", 60)
    control.clock = clock  # type: ignore[attr-defined]
    assert control.take_once("flash", "k2") is None  # expired


def test_the_api_disables_enables_and_sets_passwords(client: ApiClient, org: Org) -> None:
    viewer = org.user_ids["viewer"]
    r = client.post(f"/api/v1/users/{viewer}/disable", headers=org.headers("admin"))
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert client.get("/api/v1/session", headers=org.headers("viewer")).status_code == 401
    r = client.post(f"/api/v1/users/{viewer}/enable", headers=org.headers("member"))
    assert r.status_code == 403
    assert (
        client.post(f"/api/v1/users/{viewer}/enable", headers=org.headers("admin")).json()[
            "disabled"
        ]
        is False
    )
    r = client.put(
        f"/api/v1/users/{viewer}/password",
        json={"password": "viewer's new one"},
        headers=org.headers("owner"),
    )
    assert r.status_code == 200
    assert (
        client.post(
            "/api/v1/session", json={"name": "vic", "password": "viewer's new one"}
        ).status_code
        == 200
    )
    first = client.post("/api/v1/tokens", json={"name": "claude"}, headers=org.headers("owner"))
    assert first.status_code == 201, first.text
    dup = client.post("/api/v1/tokens", json={"name": "claude"}, headers=org.headers("owner"))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "exists"
    # Deny with no reason: the card says who denied it.
    card = client.post(
        "/api/v1/propose",
        json={"tool": "Bash", "input": {"command": "kubectl --context staging delete pod x"}},
        headers=org.headers("agent"),
    ).json()["card"]
    r = client.post(f"/api/v1/cards/{card['id']}/deny", json={}, headers=org.headers("admin"))
    assert r.status_code == 200 and r.json()["reason"] == "denied by ada"
