"""``opsgate serve`` as a real process on a real socket: first start creates the
owner, cards survive a restart, and concurrent deciders get exactly one outcome."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import Serve
from servers import owner_password as first_owner_password

DESTRUCTIVE = {
    "tool": "Bash",
    "input": {"command": "kubectl --context staging delete namespace api"},
}


Served = Serve


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def served(home: Path) -> Iterator[Served]:
    s = Served(home)
    yield s
    s.stop()


def owner_password(served: Served) -> str:
    found = first_owner_password(served.home)
    assert found, "".join(served.lines)
    assert found not in "".join(served.lines)  # never in the server's output
    return found


def login(url: str, name: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/session", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    # The cookie is Secure, so an http:// client jar will not send it back by itself.
    return {"Cookie": f"opsgate_session={r.cookies['opsgate_session']}"}


def setup_org(url: str, owner: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """An admin session and an agent token's headers."""
    r = httpx.post(
        f"{url}/api/v1/users",
        headers=owner,
        json={"name": "ada", "password": "admin password!", "role": "admin"},
    )
    assert r.status_code == 201, r.text
    token = httpx.post(f"{url}/api/v1/tokens", headers=owner, json={"name": "claude"}).json()
    return login(url, "ada", "admin password!"), {"Authorization": f"Bearer {token['secret']}"}


def test_first_start_prints_the_owner_login_once_and_cards_survive_restarts(home: Path) -> None:
    first = Served(home)
    try:
        owner = login(first.url, "owner", owner_password(first))
        _, agent = setup_org(first.url, owner)
        r = httpx.post(f"{first.url}/api/v1/propose", json=DESTRUCTIVE, headers=agent)
        card = r.json()["card"]
        assert card["link"] == f"{first.url}/cards/{card['id']}"
    finally:
        first.stop()
    second = Served(home)
    try:
        assert "password" not in "".join(second.lines)  # printed on the first start only
        owner = login(second.url, "owner", owner_password(first))
        got = httpx.get(f"{second.url}/api/v1/cards/{card['id']}", headers=owner).json()
        assert got["state"] == "pending"
        # The admin: the owner created the agent's token, and nobody approves a
        # request made through a token they created.
        admin = login(second.url, "ada", "admin password!")
        r = httpx.post(
            f"{second.url}/api/v1/cards/{card['id']}/approve",
            headers=admin,
            json={"confirmation": card["confirm"]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "approved"
    finally:
        second.stop()


def test_approve_deny_races_have_exactly_one_winner(served: Served) -> None:
    owner = login(served.url, "owner", owner_password(served))
    admin, agent = setup_org(served.url, owner)
    races = 60
    with httpx.Client(base_url=served.url, timeout=30) as client:
        cards = []
        for i in range(races):
            body = {
                "tool": "Bash",
                "input": {"command": f"kubectl --context staging delete ns a{i}"},
            }
            cards.append(client.post("/api/v1/propose", json=body, headers=agent).json()["card"])

        def decide(args: tuple[dict[str, Any], int]) -> int:
            card, which = args
            if which == 0:
                r = client.post(
                    f"/api/v1/cards/{card['id']}/approve",
                    headers=admin,
                    json={"confirmation": card["confirm"]},
                )
            else:
                r = client.post(
                    f"/api/v1/cards/{card['id']}/deny", headers=owner, json={"reason": "race"}
                )
            assert r.status_code in (200, 409), r.text
            return r.status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(decide, [(c, w) for c in cards for w in (0, 1)]))
        for i in range(races):
            assert sorted(codes[2 * i : 2 * i + 2]) == [200, 409]
        final = [
            client.get(f"/api/v1/cards/{c['id']}", headers=admin).json()["state"] for c in cards
        ]
        assert set(final) <= {"approved", "denied"}
        audit = client.get(
            "/api/v1/audit", params={"event": "card.approved", "limit": 500}, headers=admin
        ).json()["items"]
        assert len(audit) == final.count("approved")


def test_served_errors_use_the_envelope(served: Served) -> None:
    r = httpx.get(f"{served.url}/api/v1/cards")
    assert r.status_code == 401
    assert set(r.json()["error"]) == {"code", "message", "details"}
    assert "server" not in r.headers
