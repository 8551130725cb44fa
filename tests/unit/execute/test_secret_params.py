"""A secret parameter takes only the secrets its definition allows, per target
(security review H3): the catalog's ``allowed`` as a list (any target) or per
target name or glob; none listed means none; ``allowed`` on anything but a secret
is refused at load; and which ``env`` entries may reveal a secret at all is read
from the operation's template, never from what a parameter's text says."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.environments import InventoryTarget
from opsgate.execute import _plan
from opsgate.execute.catalog import Operation, load_catalog
from opsgate.execute.errors import CatalogError, InvalidParams
from opsgate.models import Environment

OPS = """
version: 1
operations:
  - name: partner.ping
    description: d
    effect: read
    impact: safe
    targets: [server]
    params:
      token: {type: secret, ALLOWED}
      note: {type: string, required: false}
    env: {API_TOKEN: "{token}", NOTE: "{note}", FIXED: "secret:fixed_key"}
    steps:
      ssh: [{argv: ["true"]}]
    rollback: {description: r}
"""


def op(tmp_path: Path, allowed: str) -> Operation:
    path = tmp_path / "ops.yaml"
    path.write_text(OPS.replace(", ALLOWED", f", allowed: {allowed}" if allowed else ""))
    return load_catalog(env={"OPSGATE_OPERATIONS": str(path)}).get("partner.ping")


def target(name: str) -> InventoryTarget:
    return InventoryTarget(name, "server", Environment.STAGING)


@pytest.mark.parametrize(
    ("allowed", "on", "ok", "refused"),
    [
        ("[partner_token]", "partner-gw", "partner_token", "prod_db_password"),
        ("[partner_token]", "anything", "partner_token", "root_ssh_key"),
        ("{partner-*: [partner_token], billing-gw: [billing]}", "PARTNER-EU", "partner_token",
         "billing"),
        ("{partner-*: [partner_token], billing-gw: [billing]}", "billing-gw", "billing",
         "partner_token"),
        ("", "partner-gw", None, "partner_token"),
    ],
    ids=["list", "list-any-target", "glob-case-insensitive", "per-target", "none-listed"],
)  # fmt: skip
def test_allowed_per_target(
    tmp_path: Path, allowed: str, on: str, ok: str | None, refused: str
) -> None:
    operation = op(tmp_path, allowed)
    if ok is not None:
        _plan.check_secrets(operation, target(on), {"token": f"secret:{ok}"})
    with pytest.raises(InvalidParams) as err:
        _plan.check_secrets(operation, target(on), {"token": f"secret:{refused}"})
    assert "partner.ping: parameter 'token' takes" in err.value.message
    assert "allowed:" in (err.value.hint or "")


def test_allowed_is_for_secret_parameters_only(tmp_path: Path) -> None:
    path = tmp_path / "ops.yaml"
    path.write_text(OPS.replace(", ALLOWED", "").replace(
        "note: {type: string, required: false}",
        "note: {type: string, required: false, allowed: [x]}"))  # fmt: skip
    with pytest.raises(CatalogError, match="not a secret"):
        load_catalog(env={"OPSGATE_OPERATIONS": str(path)})


def test_the_listing_shows_what_a_parameter_may_take(tmp_path: Path) -> None:
    shown = op(tmp_path, "{partner-*: [partner_token]}").to_json()["params"]["token"]
    assert shown["allowed"] == {"partner-*": ["partner_token"]}


def test_only_a_whole_secret_placeholder_or_a_literal_reveals(tmp_path: Path) -> None:
    operation = op(tmp_path, "[partner_token]")
    params = {"token": "secret:partner_token", "note": "secret:root_ssh_key"}
    named = {k: _plan.env_secret(operation, t, params) for k, t in operation.env.items()}
    assert named == {"API_TOKEN": "partner_token", "NOTE": None, "FIXED": "fixed_key"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('FIXED: "secret:fixed_key"', 'MIXED: "Bearer {token}"'),
        ('ssh: [{argv: ["true"]}]', 'http: [{path: "/x", headers: {X-Api-Token: "{token}"}}]'),
        ('ssh: [{argv: ["true"]}]', 'http: [{path: "/x?t={token}"}]'),
    ],
    ids=["env-with-other-text", "request-header", "request-path"],
)
def test_a_secret_goes_only_whole_into_env(tmp_path: Path, old: str, new: str) -> None:
    path = tmp_path / "ops.yaml"
    path.write_text(OPS.replace(", ALLOWED", "").replace(old, new))
    with pytest.raises(CatalogError, match="secret"):
        load_catalog(env={"OPSGATE_OPERATIONS": str(path)})
