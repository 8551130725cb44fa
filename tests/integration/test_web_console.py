"""The web console in-process: the event bus, the store watcher, CSRF and
content-type checks, security headers, and that no secret reaches a page.
(The flows a person clicks through run in Chromium: test_web_browser.py.)"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_server_api import ApiClient

from opsgate.approvals.control import open_control_plane
from opsgate.approvals.model import Role
from opsgate.approvals.service import ControlPlane, Principal
from opsgate.models import Action
from opsgate.server import AppConfig, create_app
from opsgate.web import EventBus
from opsgate.web._security import csrf_token, safe_next
from opsgate.web._watch import StoreWatcher

SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ControlPlane]:
    for key in ("OPSGATE_HOME", "OPSGATE_DATABASE_URL", "OPSGATE_POLICY"):
        monkeypatch.delenv(key, raising=False)
    plane = open_control_plane(data_dir=tmp_path / "home")
    yield plane
    plane.close()  # type: ignore[attr-defined]


def people(control: ControlPlane) -> tuple[Principal, Principal]:
    owner = control.create_user(None, "owner", "owner password", Role.OWNER)
    me = Principal(owner.id, owner.name, owner.role, user=owner)
    # The agent's token belongs to someone else: nobody approves a request made
    # through a token they created.
    bea = control.create_user(me, "bea", "member password", Role.MEMBER)
    _, secret = control.create_token(Principal(bea.id, bea.name, bea.role, user=bea), "claude",
                                     Role.AGENT)  # fmt: skip
    agent = control.token(secret)
    assert agent is not None
    return me, agent


def propose(control: ControlPlane, agent: Principal, command: str) -> Any:
    result = control.propose(agent, Action("", "Bash", {"command": command}, agent="claude"))
    assert result.card is not None
    return result.card


def test_bus_delivers_from_other_threads_drops_the_oldest_and_closes() -> None:
    bus = EventBus()

    async def scenario() -> list[Any]:
        got: list[Any] = []
        async with bus.subscribe() as queue:
            assert bus.subscribers == 1
            worker = threading.Thread(target=lambda: bus.publish({"n": 1}))
            worker.start()
            worker.join()
            got.append(await asyncio.wait_for(queue.get(), 2))
            for n in range(300):  # more than the queue holds: the oldest go
                bus.publish({"n": n})
            await asyncio.sleep(0.05)
            first = await queue.get()
            got.append(first)
            while not queue.empty():
                queue.get_nowait()
            bus.close()
            got.append(await asyncio.wait_for(queue.get(), 2))
        assert bus.subscribers == 0
        return got

    one, oldest_kept, closed = asyncio.run(scenario())
    assert one == {"n": 1}
    assert oldest_kept["n"] > 0  # the first events were dropped, not the newest
    assert closed is None


def test_watcher_polls_only_while_someone_watches(control: ControlPlane) -> None:
    bus = EventBus()
    watcher = StoreWatcher(control, bus, interval=0.01)  # type: ignore[arg-type]
    ticks: list[int] = []

    def tick() -> list[Any]:
        ticks.append(1)
        watcher._primed = True  # as the real tick does after its first query
        return []

    watcher.tick = tick  # type: ignore[method-assign]

    async def scenario() -> tuple[int, int]:
        task = asyncio.create_task(watcher.run())
        await asyncio.sleep(0.1)
        idle = len(ticks)
        async with bus.subscribe():
            await asyncio.sleep(0.1)
        task.cancel()
        return idle, len(ticks)

    idle, watched = asyncio.run(scenario())
    assert idle == 1  # no browser open: one baseline, then no queries
    assert watched > 3


def test_watcher_publishes_each_change_once(control: ControlPlane) -> None:
    owner, agent = people(control)
    bus = EventBus()
    seen: list[dict[str, Any]] = []
    bus.publish = seen.append  # type: ignore[method-assign]  # record instead of fan out
    watcher = StoreWatcher(control, bus)  # type: ignore[arg-type]
    propose(control, agent, "kubectl --context staging rollout restart deploy/old")
    assert watcher.tick() == []  # the first tick learns what exists
    card = propose(control, agent, "kubectl --context staging rollout restart deploy/api")
    assert [c.id for c in watcher.tick()] == [card.id]
    assert watcher.tick() == [] and watcher.tick() == []  # no repeats of an unchanged card
    control.deny(owner, card.id, "not now")
    changed = watcher.tick()
    assert [(c.id, c.state.value) for c in changed] == [(card.id, "denied")]
    assert watcher.tick() == []
    assert [e["event"] for e in seen] == ["card.pending", "card.denied"]
    assert all("action" not in e["card"] for e in seen)  # no command input on the bus


@pytest.fixture
def client(control: ControlPlane) -> Iterator[tuple[ApiClient, ControlPlane]]:
    app = create_app(control, config=AppConfig(expire_interval=0))
    with ApiClient(app) as c:
        yield c, control


def log_in(client: ApiClient, name: str, password: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/login",
        data={"csrf": token.group(1), "name": name, "password": password, "next": "//evil.test"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/inbox"  # no open redirect
    return csrf_token(client.cookies["opsgate_session"])


def test_pages_send_a_strict_csp_and_never_render_a_secret(
    client: tuple[ApiClient, ControlPlane],
) -> None:
    c, control = client
    _, agent = people(control)
    card = propose(
        control, agent, f"kubectl --context staging --token {SECRET} rollout restart deploy/api"
    )
    log_in(c, "owner", "owner password")
    for path in ("/inbox", f"/cards/{card.id}", f"/cards/{card.id}/fragment", "/audit"):
        r = c.get(path)
        assert r.status_code == 200, path
        assert SECRET not in r.text, path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert r.headers["x-frame-options"] == "DENY"
    assert "[REDACTED]" in c.get(f"/cards/{card.id}").text
    assert "<script>" not in c.get("/inbox").text.replace('<script src="/static/app.js"', "")


def test_forms_need_the_session_token_and_urlencoding(
    client: tuple[ApiClient, ControlPlane],
) -> None:
    c, control = client
    _, agent = people(control)
    card = propose(control, agent, "kubectl --context staging rollout restart deploy/api")
    token = log_in(c, "owner", "owner password")
    assert c.post(f"/cards/{card.id}/approve", data={"confirmation": ""}).status_code == 403
    assert c.post(f"/cards/{card.id}/approve", data={"csrf": "0" * 64}).status_code == 403
    as_json = c.post(f"/cards/{card.id}/approve", json={"csrf": token})
    assert as_json.status_code == 415
    assert control.get_card(agent, card.id).state.value == "pending"
    r = c.post(f"/cards/{card.id}/approve", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert control.get_card(agent, card.id).state.value == "approved"
    # A refusal from the service comes back as the page's answer, with its status.
    missing = c.post(
        "/cards/c_nope/deny", data={"csrf": token}, headers={"x-opsgate-fragment": "1"}
    )
    assert missing.status_code == 404


def test_login_form_needs_its_own_token(client: tuple[ApiClient, ControlPlane]) -> None:
    c, control = client
    people(control)
    r = c.post("/login", data={"name": "owner", "password": "owner password"})
    assert r.status_code == 403
    assert "opsgate_session" not in c.cookies


@pytest.mark.parametrize(
    ("given", "expected"),
    [("/cards/c_1", "/cards/c_1"), ("//evil.test", "/inbox"), ("https://evil.test", "/inbox"),
     ("/\\evil.test", "/inbox"), (None, "/inbox")],
)  # fmt: skip
def test_safe_next(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def test_live_stream_ends_soon_after_logout(
    client: tuple[ApiClient, ControlPlane], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    from opsgate.web import _cards

    c, control = client
    people(control)
    log_in(c, "owner", "owner password")
    secret = c.cookies["opsgate_session"]
    monkeypatch.setattr(_cards, "KEEPALIVE_SECONDS", 0.1)
    monkeypatch.setattr(_cards, "STREAM_SECONDS", 20.0)
    threading.Timer(0.5, control.logout, args=(secret,)).start()
    started = time.monotonic()
    r = c.get("/events")  # the in-process transport returns when the stream ends
    assert r.status_code == 200
    assert time.monotonic() - started < 5.0  # not the 20 s the stream would otherwise last


# --- Settings → People: roles and API tokens from the browser ---------------------------

Client = tuple[ApiClient, ControlPlane]


@pytest.fixture
def staff(client: Client) -> Iterator[Client]:
    c, control = client
    owner, _ = people(control)  # the owner and an agent token ("claude")
    control.create_user(owner, "mia", "member password", Role.MEMBER)
    control.create_user(owner, "vic", "viewer password", Role.VIEWER)
    yield c, control


def owner_of(control: ControlPlane) -> Principal:
    """A fresh session of the owner, to look at what the page changed."""
    found = control.session(control.login("owner", "owner password")[1])
    assert found is not None
    return found


def test_an_owner_creates_a_token_sees_it_once_and_revokes_it(staff: Client) -> None:
    c, control = staff
    csrf = log_in(c, "owner", "owner password")
    page = c.get("/people")
    assert page.status_code == 200
    assert 'data-user="mia"' in page.text and 'data-token="claude"' in page.text
    assert 'name="action" value="role"' in page.text  # an owner gets role controls

    made = c.post(
        "/people", data={"csrf": csrf, "action": "create", "name": "ci-bot", "role": "agent"}
    )
    assert made.status_code == 303  # post/redirect/get: a reload re-posts nothing
    shown = c.get(made.headers["location"])
    secret = re.search(r'<code class="secret">(og_[^<]+)</code>', shown.text)
    assert secret is not None
    assert control.token(secret.group(1)) is not None  # it works
    again = c.get(made.headers["location"])  # the same page reloaded
    assert secret.group(1) not in again.text and "new-secret" not in again.text  # shown once
    assert secret.group(1) not in c.get("/people").text  # and is never shown again
    assert [t.name for t in control.list_tokens(owner_of(control))].count("ci-bot") == 1

    token_id = next(t.id for t in control.list_tokens(owner_of(control)) if t.name == "ci-bot")
    asked = c.post("/people", data={"csrf": csrf, "action": "revoke", "token": token_id})
    assert asked.status_code == 200 and "Revoke the token ci-bot?" in asked.text
    assert control.token(secret.group(1)) is not None  # one click changes nothing
    revoked = c.post(
        "/people",
        data={"csrf": csrf, "action": "revoke", "token": token_id, "confirmed": "1"},
        follow_redirects=True,
    )
    assert revoked.status_code == 200 and "Revoked ci-bot" in revoked.text
    assert control.token(secret.group(1)) is None  # it no longer works anywhere


def test_only_owners_change_roles_and_the_last_owner_stays(staff: Client) -> None:
    c, control = staff
    csrf = log_in(c, "owner", "owner password")
    users = {u.name: u for u in control.list_users(owner_of(control))}
    up = c.post(
        "/people",
        data={"csrf": csrf, "action": "role", "user": users["mia"].id, "role": "admin"},
        follow_redirects=True,
    )
    assert up.status_code == 200 and "mia is now admin" in up.text
    last = c.post(
        "/people",
        data={"csrf": csrf, "action": "role", "user": users["owner"].id, "role": "viewer"},
    )
    assert last.status_code == 409 and "at least one owner" in last.text
    bogus = c.post(
        "/people", data={"csrf": csrf, "action": "role", "user": users["vic"].id, "role": "agent"}
    )
    assert bogus.status_code == 422

    c.cookies.clear()
    csrf = log_in(c, "mia", "member password")  # now an admin, not an owner
    page = c.get("/people")
    assert 'name="action" value="role"' not in page.text  # no role controls shown
    refused = c.post(
        "/people", data={"csrf": csrf, "action": "role", "user": users["vic"].id, "role": "owner"}
    )
    assert refused.status_code == 403  # and the service refuses anyway
    assert {u.name: u.role for u in control.list_users(owner_of(control))}["vic"] is Role.VIEWER


def test_members_manage_only_their_own_agent_tokens_and_viewers_none(staff: Client) -> None:
    c, control = staff
    csrf = log_in(c, "mia", "member password")
    page = c.get("/people")
    assert 'data-token="claude"' not in page.text  # the owner's token is not theirs
    options = re.search(r'<select id="token-role" name="role">(.*?)</select>', page.text)
    assert options is not None and re.findall(r'value="(\w+)"', options.group(1)) == ["agent"]
    over = c.post("/people", data={"csrf": csrf, "action": "create", "name": "x", "role": "admin"})
    assert over.status_code == 403  # the service's rule, whatever the form offered
    owners_token = next(t.id for t in control.list_tokens(owner_of(control)))
    foreign = c.post(
        "/people",
        data={"csrf": csrf, "action": "revoke", "token": owners_token, "confirmed": "1"},
    )
    assert foreign.status_code == 404
    assert all(not t.revoked for t in control.list_tokens(owner_of(control)))

    c.cookies.clear()
    csrf = log_in(c, "vic", "viewer password")
    page = c.get("/people")
    assert page.status_code == 200 and 'data-user="owner"' in page.text
    assert "Create a token" not in page.text
    assert (
        c.post(
            "/people", data={"csrf": csrf, "action": "create", "name": "v", "role": "agent"}
        ).status_code
        == 403
    )


def test_people_forms_need_the_session_token(staff: Client) -> None:
    c, control = staff
    log_in(c, "owner", "owner password")
    before = len(control.list_tokens(owner_of(control)))
    r = c.post("/people", data={"action": "create", "name": "sneaky", "role": "agent"})
    assert r.status_code == 403
    assert (
        c.post(
            "/people",
            data={"csrf": "0" * 64, "action": "create", "name": "sneaky", "role": "agent"},
        ).status_code
        == 403
    )
    assert len(control.list_tokens(owner_of(control))) == before
    c.cookies.clear()
    assert c.get("/people", follow_redirects=False).status_code == 303  # log in first
