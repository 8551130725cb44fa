# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""One error envelope for every failure (STYLE rule 7): each error class, its
status, and the same ``{"error": {"code", "message", "details"}}`` shape."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from test_server_api import (  # noqa: F401  (fixtures)
    CAUTION,
    ApiClient,
    Org,
    assert_envelope,
    client,
    control,
    home,
    org,
    propose,
)

from opsgate.approvals.service import CardFilter, ControlPlane
from opsgate.server import AppConfig, create_app
from opsgate.server import errors as api_errors
from opsgate.store.errors import StoreError

SECRET = "hunter2-db-password-in-a-dsn"


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (api_errors.Invalid, 422),
        (api_errors.Unauthenticated, 401),
        (api_errors.Forbidden, 403),
        (api_errors.NotFound, 404),
        (api_errors.Conflict, 409),
        (api_errors.ApiError, 500),
    ],
)
def test_status_lives_on_the_class(cls: type[api_errors.ApiError], status: int) -> None:
    assert cls.status == status
    assert cls("x").code


def test_unknown_route_and_method(client: ApiClient) -> None:
    assert_envelope(client.get("/api/v1/nope"), 404, "not_found")
    assert_envelope(client.get("/nope"), 404, "not_found")
    assert_envelope(client.put("/healthz"), 405, "method_not_allowed")


def test_unauthenticated(client: ApiClient, org: Org) -> None:
    assert_envelope(client.get("/api/v1/cards"), 401, "unauthenticated")
    bad = client.get("/api/v1/cards", headers={"Authorization": "Bearer nope"})
    assert_envelope(bad, 401, "unauthenticated")
    assert bad.headers["www-authenticate"] == "Bearer"
    assert_envelope(client.get("/api/v1/cards", headers={"Authorization": "Basic eA=="}), 401)
    assert_envelope(client.get("/api/v1/cards", headers={"Cookie": "opsgate_session=x"}), 401)


def test_forbidden_comes_from_the_service(client: ApiClient, org: Org) -> None:
    card = propose(client, org, CAUTION)["card"]
    r = client.post(f"/api/v1/cards/{card['id']}/approve", json={}, headers=org.headers("viewer"))
    err = assert_envelope(r, 403)
    assert "viewer" in err["message"]


def test_not_found(client: ApiClient, org: Org) -> None:
    assert_envelope(client.get("/api/v1/cards/does-not-exist", headers=org.headers("admin")), 404)


def test_conflict(client: ApiClient, org: Org) -> None:
    card = propose(client, org, CAUTION)["card"]
    url = f"/api/v1/cards/{card['id']}"
    assert (
        client.post(f"{url}/deny", json={"reason": "r"}, headers=org.headers("admin")).status_code
        == 200
    )
    assert_envelope(client.post(f"{url}/cancel", headers=org.headers("agent")), 409)


def test_validation_does_not_echo_input(client: ApiClient, org: Org) -> None:
    r = client.post("/api/v1/session", json={"name": "ada", "password": 12345678901})
    err = assert_envelope(r, 422, "invalid_request")
    assert isinstance(err["details"], list) and err["details"][0]["loc"]
    assert "12345678901" not in r.text
    assert_envelope(
        client.post(
            "/api/v1/evaluate",
            content=b"{",
            headers={**org.headers("agent"), "content-type": "application/json"},
        ),
        422,
    )
    assert_envelope(
        client.get("/api/v1/cards", params={"limit": 0}, headers=org.headers("admin")), 422
    )
    assert_envelope(
        client.patch("/api/v1/settings", json={"nope": 1}, headers=org.headers("owner")), 422
    )


class Exploding:
    """A control plane whose every call fails the way a bug or a database would."""

    def __init__(self, real: ControlPlane, exc: Exception) -> None:
        self.real = real
        self.exc = exc

    def token(self, secret: str) -> Any:
        return self.real.token(secret)

    def session(self, secret: str) -> Any:
        return self.real.session(secret)

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.exc

        return fail


@pytest.fixture
def exploding(
    control: ControlPlane, org: Org, request: pytest.FixtureRequest
) -> Iterator[ApiClient]:
    app = create_app(Exploding(control, request.param), config=AppConfig(expire_interval=0))  # type: ignore[arg-type]
    with ApiClient(app) as c:
        yield c


@pytest.mark.parametrize(
    "exploding", [RuntimeError(f"postgresql://u:{SECRET}@db/x")], indirect=True
)
def test_unexpected_errors_are_500_logged_and_say_nothing(
    exploding: ApiClient, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="opsgate.server"):
        r = exploding.get("/api/v1/settings", headers=org.headers("viewer"))
    err = assert_envelope(r, 500, "internal_error")
    assert SECRET not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert err["details"] is None
    assert any("unexpected error" in rec.message for rec in caplog.records)


@pytest.mark.parametrize("exploding", [StoreError(f"connect failed: {SECRET}")], indirect=True)
def test_store_failures_are_503_without_driver_text(exploding: ApiClient, org: Org) -> None:
    r = exploding.get("/api/v1/settings", headers=org.headers("viewer"))
    assert_envelope(r, 503, "store_unavailable")
    assert SECRET not in r.text


def test_decision_pool_size_comes_from_the_environment(
    control: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsgate.errors import ConfigError
    from opsgate.server import auth

    monkeypatch.setattr(auth, "_size", [auth._size[0]])
    monkeypatch.setenv("OPSGATE_DECISION_THREADS", "3")
    create_app(control, config=AppConfig(expire_interval=0))
    assert auth._size == [3]
    monkeypatch.delenv("OPSGATE_DECISION_THREADS")
    create_app(control, config=AppConfig(expire_interval=0))
    assert auth._size == [auth.DEFAULT_DECISION_THREADS["sqlite"]]
    for bad in ("0", "-2", "many"):
        monkeypatch.setenv("OPSGATE_DECISION_THREADS", bad)
        with pytest.raises(ConfigError, match="OPSGATE_DECISION_THREADS"):
            create_app(control, config=AppConfig(expire_interval=0))


def test_an_unwritable_audit_log_is_503_on_the_hot_routes_never_an_answer(
    client: ApiClient, org: Org, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite decides on the event loop and a writer thread makes the audit entry
    durable: its failure must reach the request as an error, not as the decision."""
    from opsgate.audit import AuditWriteError

    def broken(*args: object, **kwargs: object) -> None:
        raise AuditWriteError("disk full")

    monkeypatch.setattr(org.control.audit, "append_documents", broken)  # type: ignore[attr-defined]
    agent = org.headers("agent")
    ls = {"tool": "Bash", "input": {"command": "ls"}, "cwd": "/srv/app"}
    for route, body in (("evaluate", ls), ("propose", ls), ("propose", CAUTION)):
        with caplog.at_level(logging.ERROR):
            r = client.post(f"/api/v1/{route}", json=body, headers=agent)
        err = assert_envelope(r, 503, "audit_unavailable")
        assert "decision" not in r.json()
    monkeypatch.undo()
    assert org.control.list_cards(org.principals["owner"], CardFilter()).total == 0
    assert err["message"] == "the service cannot complete this request right now"
