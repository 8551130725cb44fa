"""The authorisation matrix: every role (and no credentials) × every endpoint.

The API never decides who may do what — the service does — so this table pins
the combined behaviour a client sees: allowed means 2xx, refused means the
service's 403 (or 404 where it hides that a thing exists), and no credentials
means 401 everywhere under /api/v1/.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_server_api import CAUTION, DESTRUCTIVE, SAFE, ApiClient, Org, make_org

from opsgate.approvals.control import open_control_plane
from opsgate.approvals.model import Role
from opsgate.environments import InventoryTarget
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog
from opsgate.models import Action, Environment
from opsgate.server import AppConfig, create_app

ROLES = ("viewer", "member", "admin", "owner", "agent")
ALL = frozenset(ROLES)
PEOPLE = frozenset({"viewer", "member", "admin", "owner"})
MEMBERS = frozenset({"member", "admin", "owner"})
ADMINS = frozenset({"admin", "owner"})
OWNER = frozenset({"owner"})


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    make: Callable[[Org], tuple[str, Any]]  # → (path, JSON body or None); fresh state per call
    allowed: frozenset[str]
    refused: tuple[int, ...] = (403,)


def fixed(path: str, body: Any = None) -> Callable[[Org], tuple[str, Any]]:
    return lambda _: (path, body)


def agent_card(org: Org, spec: dict[str, Any]) -> str:
    unique = f"{spec['input']['command']}-{secrets.token_hex(4)}"
    action = Action("", "Bash", {"command": unique}, agent="claude")
    result = org.control.propose(org.principals["agent"], action)
    assert result.card is not None, result.decision
    return result.card.id


def card_path(
    spec: dict[str, Any], verb: str, body: Any = None
) -> Callable[[Org], tuple[str, Any]]:
    return lambda org: (f"/api/v1/cards/{agent_card(org, spec)}/{verb}".rstrip("/"), body)


def destructive_approve(org: Org) -> tuple[str, Any]:
    card_id = agent_card(org, DESTRUCTIVE)
    card = org.control.get_card(org.principals["owner"], card_id)
    return f"/api/v1/cards/{card_id}/approve", {"confirmation": card.confirm}


def prod_target(org: Org) -> tuple[str, Any]:
    name = f"db-{secrets.token_hex(4)}"
    org.control.put_target(
        org.principals["owner"], InventoryTarget(name, "database", Environment.PRODUCTION)
    )
    return f"/api/v1/inventory/{name}", None


def owners_token(org: Org) -> tuple[str, Any]:
    info, _ = org.control.create_token(
        org.principals["owner"], f"t-{secrets.token_hex(4)}", Role.AGENT
    )
    return f"/api/v1/tokens/{info.id}", None


def viewer_role(org: Org) -> tuple[str, Any]:
    return f"/api/v1/users/{org.user_ids['viewer']}", {"role": "viewer"}


def new_user(org: Org) -> tuple[str, Any]:
    return "/api/v1/users", {
        "name": f"u-{secrets.token_hex(4)}",
        "password": "long enough pw",
        "role": "member",
    }


def _fresh_viewer(org: Org) -> str:
    from opsgate.approvals.model import Role

    owner = org.principals["owner"]
    return org.control.create_user(
        owner, f"v-{secrets.token_hex(4)}", "long enough pw", Role.VIEWER
    ).id


def disable_viewer(org: Org) -> tuple[str, Any]:
    return f"/api/v1/users/{_fresh_viewer(org)}/disable", None


def enable_viewer(org: Org) -> tuple[str, Any]:
    return f"/api/v1/users/{_fresh_viewer(org)}/enable", None


def viewer_password(org: Org) -> tuple[str, Any]:
    return f"/api/v1/users/{_fresh_viewer(org)}/password", {"password": "another long pw"}


def staging_target(org: Org) -> tuple[str, Any]:
    return f"/api/v1/inventory/stg-{secrets.token_hex(4)}", {
        "kind": "server",
        "environment": "staging",
    }


_executor: list[Executor] = []  # the world's executor, for cases that need a secret


def fresh_secret(org: Org) -> tuple[str, Any]:
    name = f"s_{secrets.token_hex(4)}"
    _executor[0].set_secret(None, name, "v" * 16)
    return f"/api/v1/secrets/{name}", None


def operation_card(org: Org) -> tuple[str, Any]:
    result = _executor[0].propose_operation(
        org.principals["agent"], "service.restart", "box", {"service": f"s{secrets.token_hex(3)}"}
    )
    assert result.card is not None, result.decision
    return f"/api/v1/cards/{result.card.id}/result", None


READ_OP = {"target": "box", "params": {"command": "uptime"}}

CASES = [
    Case("whoami", "GET", fixed("/api/v1/session"), ALL),
    Case("settings.read", "GET", fixed("/api/v1/settings"), ALL),
    Case("settings.ttl", "PATCH", fixed("/api/v1/settings", {"approval_ttl_seconds": 900}), ADMINS),
    Case(
        "settings.production_protection",
        "PATCH",
        fixed("/api/v1/settings", {"production_protection": True}),
        OWNER,
    ),
    Case("inventory.list", "GET", fixed("/api/v1/inventory"), ALL),
    Case("inventory.put", "PUT", staging_target, ADMINS),
    Case("inventory.delete_production", "DELETE", prod_target, OWNER),
    Case("users.list", "GET", fixed("/api/v1/users"), PEOPLE),
    Case("users.add", "POST", new_user, ADMINS),
    Case("users.set_role", "PATCH", viewer_role, OWNER),
    Case("users.disable_viewer", "POST", disable_viewer, ADMINS),
    Case("users.enable_viewer", "POST", enable_viewer, ADMINS),
    Case("users.password_viewer", "PUT", viewer_password, ADMINS),
    Case("tokens.list", "GET", fixed("/api/v1/tokens"), MEMBERS),
    Case(
        "tokens.create", "POST", fixed("/api/v1/tokens", {"name": "bot", "role": "agent"}), MEMBERS
    ),
    Case("tokens.revoke_others", "DELETE", owners_token, ADMINS, refused=(403, 404)),
    Case("evaluate", "POST", fixed("/api/v1/evaluate", SAFE), ALL),
    Case("propose", "POST", fixed("/api/v1/propose", SAFE), ALL),
    Case("cards.list", "GET", fixed("/api/v1/cards"), ALL),
    Case("cards.get_agents", "GET", card_path(CAUTION, ""), ALL),
    Case("cards.approve_caution_staging", "POST", card_path(CAUTION, "approve", {}), MEMBERS),
    Case("cards.approve_destructive", "POST", destructive_approve, ADMINS),
    Case("cards.deny", "POST", card_path(CAUTION, "deny", {"reason": "no"}), MEMBERS),
    Case(
        "cards.cancel_agents", "POST", card_path(CAUTION, "cancel"), frozenset({"agent", *ADMINS})
    ),
    Case("grants.check", "POST", fixed("/api/v1/grants/check", CAUTION), ALL),
    Case("grants.consume", "POST", fixed("/api/v1/grants/consume", CAUTION), ALL),
    Case("audit.query", "GET", fixed("/api/v1/audit"), PEOPLE),
    Case("audit.verify", "GET", fixed("/api/v1/audit/verify"), PEOPLE),
    # governed execution
    Case("operations.list", "GET", fixed("/api/v1/operations"), ALL),
    Case(
        "operations.propose", "POST", fixed("/api/v1/operations/command.run/propose", READ_OP), ALL
    ),
    Case("operations.run_read", "POST", fixed("/api/v1/operations/command.run/run", READ_OP), ALL),
    Case("cards.result_agents", "GET", operation_card, ALL),
    Case("secrets.list", "GET", fixed("/api/v1/secrets"), ALL),
    Case("secrets.put", "PUT", fixed("/api/v1/secrets/k1", {"value": "v" * 16}), ADMINS),
    Case("secrets.delete", "DELETE", fresh_secret, ADMINS),
    # lockdown: pressing and lifting are in test_lockdown_api.py's own matrix (a lockdown
    # here would refuse every case after it)
    Case("lockdown.status", "GET", fixed("/api/v1/lockdown"), ALL),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiClient, Org]]:
    home: Path = tmp_path_factory.mktemp("authz")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("OPSGATE_"):
                mp.delenv(key)
        mp.setenv("OPSGATE_HOME", str(home))
        control = open_control_plane(data_dir=home)
        org = make_org(control)
        box = InventoryTarget(
            "box", "server", Environment.STAGING, connection=(("runner", "local"),)
        )
        control.put_target(org.principals["owner"], box)
        executor = Executor(control, catalog=load_catalog(home, env={}), local_runner=True)  # type: ignore[arg-type]
        _executor[:] = [executor]
        app = create_app(control, config=AppConfig(expire_interval=0), executor=executor)
        with ApiClient(app) as client:
            yield client, org
        control.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matrix(world: tuple[ApiClient, Org], case: Case, role: str) -> None:
    client, org = world
    path, body = case.make(org)
    headers = {} if role == "anonymous" else org.headers(role)
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    r = client.request(case.method, path, **kwargs)
    if role == "anonymous":
        assert r.status_code == 401, r.text
    elif role in case.allowed:
        assert 200 <= r.status_code < 300, f"{role} should be allowed: {r.status_code} {r.text}"
    else:
        assert r.status_code in case.refused, f"{role} should be refused: {r.status_code} {r.text}"
        assert set(r.json()) == {"error"}


def test_every_api_route_is_in_the_matrix(world: tuple[ApiClient, Org]) -> None:
    client, _ = world
    doc = client.get("/openapi.json").json()
    routes = {
        (m.upper(), p) for p, ops in doc["paths"].items() for m in ops if p.startswith("/api/")
    }
    routes.discard(("POST", "/api/v1/session"))  # login: the one unauthenticated route
    routes.discard(("DELETE", "/api/v1/session"))  # logout: covered in test_server_api
    # Claude Code's http hook answers every refusal with 200 + deny (its protocol runs
    # the tool on an error status): covered in test_server_http_hook.
    routes.discard(("POST", "/api/v1/hooks/claude"))
    # Slack's interactions carry Slack's signature, not a credential of ours: every
    # forged, stale and replayed case is in test_slack.py.
    routes.discard(("POST", "/api/v1/slack/interactions"))
    covered = {
        "GET /api/v1/session",
        "GET /api/v1/settings",
        "PATCH /api/v1/settings",
        "GET /api/v1/inventory",
        "PUT /api/v1/inventory/{name}",
        "DELETE /api/v1/inventory/{name}",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "PATCH /api/v1/users/{user_id}",
        "POST /api/v1/users/{user_id}/disable",
        "POST /api/v1/users/{user_id}/enable",
        "PUT /api/v1/users/{user_id}/password",
        "GET /api/v1/tokens",
        "POST /api/v1/tokens",
        "DELETE /api/v1/tokens/{token_id}",
        "POST /api/v1/evaluate",
        "POST /api/v1/propose",
        "GET /api/v1/cards",
        "GET /api/v1/cards/{card_id}",
        "POST /api/v1/cards/{card_id}/approve",
        "POST /api/v1/cards/{card_id}/deny",
        "POST /api/v1/cards/{card_id}/cancel",
        "POST /api/v1/grants/check",
        "POST /api/v1/grants/consume",
        "GET /api/v1/audit",
        "GET /api/v1/audit/verify",
        # governed execution (undo: test_execute_api.py, it needs a finished run)
        "GET /api/v1/operations",
        "POST /api/v1/operations/{name}/propose",
        "POST /api/v1/operations/{name}/run",
        "GET /api/v1/cards/{card_id}/result",
        "POST /api/v1/cards/{card_id}/undo",
        "GET /api/v1/secrets",
        "PUT /api/v1/secrets/{name}",
        "DELETE /api/v1/secrets/{name}",
        "GET /api/v1/lockdown",
        "POST /api/v1/lockdown",  # test_lockdown_api.py
        "POST /api/v1/lockdown/lift",  # test_lockdown_api.py
    }
    assert {f"{m} {p}" for m, p in routes} == covered
