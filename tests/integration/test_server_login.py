# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""Password logins are throttled per account and per address, closing a key is
audited, and password checks run a bounded number at a time (the review: 300
wrong passwords then the right one worked; 400 at once took 2.1 GB)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from test_server_api import (  # noqa: F401  (fixtures)
    PASSWORD,
    ApiClient,
    Org,
    assert_envelope,
    control,
    home,
    org,
)

from opsgate.approvals.service import ControlPlane
from opsgate.server import AppConfig, create_app
from opsgate.server._login import ACCOUNT, ADDRESS, MAX_WAITING


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(control: ControlPlane, clock: Clock) -> Iterator[ApiClient]:
    app = create_app(control, config=AppConfig(public_url="https://testserver"))
    app.state.og.logins.clock = clock
    with ApiClient(app) as c:
        yield c


def login(client: ApiClient, name: str, password: str) -> Any:
    return client.post("/api/v1/session", json={"name": name, "password": password})


def lockouts(control: ControlPlane) -> list[dict[str, Any]]:
    log = control.audit  # type: ignore[attr-defined]
    found = []
    for entry in log.entries():
        result = entry.data.get("result") or {}
        if entry.data["event"] == "user.login" and result.get("outcome") == "locked":
            found.append(result)
    return found


def test_the_right_password_is_refused_while_the_account_is_closed(
    client: ApiClient, org: Org, clock: Clock
) -> None:
    for _ in range(ACCOUNT.free + 1):
        assert_envelope(login(client, "olive", "wrong password"), 401, "invalid_credentials")
    refused = login(client, "olive", PASSWORD)
    err = assert_envelope(refused, 429, "login_throttled")
    assert "account" in err["message"]
    assert int(refused.headers["retry-after"]) >= 1
    # Failures keep doubling the wait; the right password passes once it is over.
    clock.now += ACCOUNT.base + 0.01
    assert_envelope(login(client, "olive", "wrong again"), 401)
    assert int(login(client, "olive", PASSWORD).headers["retry-after"]) == 2
    clock.now += 2.01
    assert login(client, "olive", PASSWORD).status_code == 200
    # A success starts the count over: five more free failures.
    for _ in range(ACCOUNT.free):
        assert_envelope(login(client, "olive", "wrong"), 401)
    assert login(client, "olive", PASSWORD).status_code == 200


def test_closing_an_account_is_audited_once_per_run(
    client: ApiClient, org: Org, control: ControlPlane, clock: Clock
) -> None:
    for _ in range(ACCOUNT.free + 1):
        login(client, "OLIVE", "wrong")  # case does not make a new account key
    for _ in range(20):
        assert login(client, "olive", "wrong").status_code == 429
    found = lockouts(control)
    assert len(found) == 1
    assert found[0]["scope"] == "account"
    assert found[0]["failures"] == ACCOUNT.free + 1


def test_unknown_names_are_throttled_like_real_ones(client: ApiClient, org: Org) -> None:
    for _ in range(ACCOUNT.free + 1):
        assert_envelope(login(client, "nobody", "wrong"), 401, "invalid_credentials")
    assert_envelope(login(client, "nobody", "wrong"), 429, "login_throttled")


def test_an_address_spraying_many_accounts_is_closed(
    client: ApiClient, org: Org, control: ControlPlane
) -> None:
    for n in range(ADDRESS.free + 1):
        assert_envelope(login(client, f"guess{n}", "wrong"), 401)
    # Another account, never tried, from the same address: refused.
    err = assert_envelope(login(client, "ada", PASSWORD), 429, "login_throttled")
    assert "address" in err["message"]
    assert [r["scope"] for r in lockouts(control)] == ["address"]


def test_the_console_login_form_is_throttled(client: ApiClient, org: Org) -> None:
    client.get("/login")

    def form(password: str) -> Any:
        token = client.cookies.get("opsgate_login_csrf")  # a new one after each refusal
        assert token
        return client.post(
            "/login",
            data={"name": "olive", "password": password, "csrf": token},
            headers={"Origin": "https://testserver"},
        )

    for _ in range(ACCOUNT.free + 1):
        assert form("wrong").status_code == 401
    refused = form(PASSWORD)
    assert refused.status_code == 429
    assert "too many failed logins" in refused.text
    assert "opsgate_session" not in refused.headers.get("set-cookie", "")


def test_password_checks_run_a_few_at_a_time(control: ControlPlane, org: Org) -> None:
    """Concurrent logins never check more passwords at once than the guard's slots,
    and past ``MAX_WAITING`` queued ones the rest are refused at once."""
    app = create_app(control, config=AppConfig(public_url="https://testserver"))
    guard = app.state.og.logins
    running, peak = 0, 0
    lock = threading.Lock()
    real = control.login

    def counted(name: str, password: str) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.02)
            return real(name, password)
        finally:
            with lock:
                running -= 1

    guard.control = type("Counted", (), {"login": staticmethod(counted)})()
    with ApiClient(app) as client:

        def attempt(n: int) -> int:
            # Every attempt from its own account: none is closed by the others.
            return login(client, f"user{n}", "wrong").status_code

        with ThreadPoolExecutor(max_workers=64) as pool:
            codes = list(pool.map(attempt, range(120)))
    assert peak <= guard.slots
    assert set(codes) <= {401, 429}
    assert codes.count(401) >= MAX_WAITING // 2
    busy = json.dumps(codes)
    assert 429 in codes or len(codes) <= MAX_WAITING + guard.slots, busy
