"""The MCP tools' behaviour over a real control plane (SQLite in a temp dir), without
a transport: decisions, refusals, cards, operations, limits and redaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_org import Org, clone_org, make_org
from opsgate.approvals.model import CardState
from opsgate.approvals.service import CardFilter
from opsgate.audit.redact import Redactor
from opsgate.errors import InputError
from opsgate.mcp import PlannedOperations
from opsgate.mcp._tools import Toolbox


@pytest.fixture(scope="session")
def org_template(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return make_org(tmp_path_factory.mktemp("org") / "home")


@pytest.fixture
def org(org_template: Org, tmp_path: Path) -> Iterator[Org]:
    o = clone_org(org_template, tmp_path / "home")
    yield o
    o.close()


@pytest.fixture
def tools(org: Org) -> Toolbox:
    redactor = Redactor([org.env_canary], from_environ=False)
    return Toolbox(
        org.control,
        PlannedOperations(org.control),
        public_url="https://opsgate.example",
        redactor=redactor,
    )


def cards(org: Org) -> int:
    return len(org.control.list_cards(org.admin, CardFilter()).items)


def test_list_targets_shows_environment_and_access_never_connection_strings(
    tools: Toolbox, org: Org
) -> None:
    out = tools.list_targets(org.agent)
    names = {t["name"]: t for t in out["targets"]}
    assert names["web-1"] == {
        "name": "web-1",
        "kind": "server",
        "environment": "staging",
        "access": "full",
    }
    assert names["shop"]["environment"] == "production"
    assert out["production_protection"] is True
    assert org.inventory_canary not in json.dumps(out)
    assert "shop.internal" not in json.dumps(out)


def test_evaluate_a_destructive_command_is_a_clear_decision_and_no_card(
    tools: Toolbox, org: Org
) -> None:
    out = tools.evaluate_action(org.agent, "shell", target="web-1", command="rm -rf /var/www")
    assert out["decision"] == "require_approval"
    assert out["impact"] == "destructive"
    assert out["environment"] == "staging"
    assert out["message"].startswith("Needs a person's approval")
    assert cards(org) == 0


def test_propose_a_staging_restart_creates_a_card_the_agent_can_follow(
    tools: Toolbox, org: Org
) -> None:
    out = tools.propose_operation(
        org.agent, "service.restart", "web-1", {"service": "nginx"}, "nginx is wedged"
    )
    assert out["status"] == "pending" and out["card_created"] is True
    card_id = out["card_id"]
    assert out["link"] == f"https://opsgate.example/cards/{card_id}"
    assert "nginx" in out["description"] and "staging" in out["description"]
    assert out["action"]["command"] == "ssh web-1 'sudo systemctl restart -- nginx'"
    org.control.approve(org.admin, card_id, None)
    seen = tools.get_card(org.agent, card_id)
    assert seen["status"] == "approved"
    # Without an executor, running it says so plainly (and runs nothing).
    ran = tools.execute_card(org.agent, card_id)
    assert ran["status"] == "unavailable"
    assert org.control.get_card(org.admin, card_id).state is CardState.APPROVED


def test_production_write_with_protection_on_is_refused_without_a_card(
    tools: Toolbox, org: Org
) -> None:
    out = tools.propose_operation(org.agent, "service.restart", "shop", {"service": "nginx"})
    assert out["status"] == "refused" and out["card_created"] is False
    assert out["message"].startswith("Production Protection is enabled")
    assert "perform the action manually" in out["message"]
    out = tools.propose_action(org.agent, "sql", target="ledger", sql="DROP TABLE invoices")
    assert out["status"] == "refused"
    assert out["message"].startswith("Production Protection is enabled")
    assert cards(org) == 0


def test_reads_on_production_still_flow(tools: Toolbox, org: Org) -> None:
    out = tools.evaluate_action(org.agent, "sql", target="ledger", sql="SELECT count(*) FROM t")
    assert out["decision"] == "allow"
    out = tools.run_read_only(org.agent, "logs.read", "shop", {"service": "nginx"})
    assert out["status"] == "unavailable"  # allowed, but no executor here to run it


def test_run_read_only_refuses_a_write_operation(tools: Toolbox, org: Org) -> None:
    out = tools.run_read_only(org.agent, "service.restart", "web-1", {"service": "nginx"})
    assert out["status"] == "refused"
    assert "propose_operation" in out["message"]
    assert cards(org) == 0


@pytest.mark.parametrize(
    ("operation", "target", "params", "code"),
    [
        pytest.param("drop_everything", "web-1", {}, "unknown_operation", id="unknown-op"),
        pytest.param(
            "service.restart", "nowhere", {"service": "x"}, "unknown_target", id="no-target"
        ),
        pytest.param(
            "service.restart", "ledger", {"service": "x"}, "wrong_target", id="wrong-kind"
        ),
        pytest.param("service.restart", "web-1", {}, "missing_parameter", id="missing"),
        pytest.param(
            "service.restart",
            "web-1",
            {"service": "nginx; rm -rf /"},
            "invalid_parameter",
            id="injection",
        ),
        pytest.param(
            "service.restart", "web-1", {"service": "-x"}, "invalid_parameter", id="option"
        ),
        pytest.param(
            "service.restart",
            "web-1",
            {"service": "a", "extra": "b"},
            "invalid_parameter",
            id="extra",
        ),
    ],
)
def test_bad_operation_requests_are_refused_with_a_reason(
    tools: Toolbox, org: Org, operation: str, target: str, params: dict[str, str], code: str
) -> None:
    out = tools.propose_operation(org.agent, operation, target, params)
    assert out["status"] == "refused" and out["code"] == code, out
    assert cards(org) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param(
            {"kind": "shell", "target": "-oProxyCommand=x", "command": "id"}, id="option-target"
        ),
        pytest.param({"kind": "shell", "command": "x" * 20000}, id="huge-command"),
        pytest.param({"kind": "shell", "command": "  "}, id="blank"),
        pytest.param({"kind": "sql", "sql": "select 1"}, id="sql-without-target"),
        pytest.param({"kind": "file_write", "path": "a\x00b"}, id="nul"),
    ],
)
def test_malformed_input_raises_input_error(
    tools: Toolbox, org: Org, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InputError):
        tools.evaluate_action(org.agent, **kwargs)


def test_cards_of_others_and_bad_ids_are_not_found(tools: Toolbox, org: Org) -> None:
    with pytest.raises(InputError):
        tools.get_card(org.agent, "../../etc/passwd")
    assert tools.get_card(org.agent, "c_0123456789abcdef")["code"] == "not_found"


def test_secrets_in_proposals_never_come_back(tools: Toolbox, org: Org) -> None:
    command = f"curl -X POST -H 'X-Key: {org.env_canary}' https://api.example/v1/flush"
    out = tools.propose_action(org.agent, "shell", target="web-1", command=command)
    assert out["status"] == "pending"
    text = json.dumps(out) + json.dumps(tools.get_card(org.agent, out["card_id"]))
    assert org.env_canary not in text
    assert "[REDACTED]" in text
