"""The operation catalog as data: the built-ins load against the schema, and the
loader refuses templates that could inject (secrets or SQL in argv, unknown
placeholders); parameters are validated before anything is proposed."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.execute.catalog import load_catalog
from opsgate.execute.errors import CatalogError, InvalidParams

BASE = """
version: 1
operations:
  - name: x.op
    description: d
    effect: write
    impact: caution
    targets: [server]
    params:
      p: {type: string, pattern: "^[a-z]+$"}
      s: {type: secret, required: false}
      q: {type: sql, required: false}
    steps:
      ssh: [{argv: [STEP]}]
    rollback: {description: r}
"""


def load(tmp_path: Path, step: str) -> None:
    path = tmp_path / "ops.yaml"
    path.write_text(BASE.replace("STEP", step))
    load_catalog(env={"OPSGATE_OPERATIONS": str(path)})


def test_builtins_cover_the_issue() -> None:
    names = {op.name for op in load_catalog(env={}).list()}
    assert {"logs.read", "service.status", "service.restart", "service.reload", "deploy.git",
            "deploy.command", "deploy.rollback", "backup.create", "backup.restore", "sql.query",
            "sql.migrate", "command.run", "http.check"} <= names  # fmt: skip


@pytest.mark.parametrize(
    "step",
    [
        pytest.param('"{s}"', id="secret-in-argv"),
        pytest.param('"{q}"', id="sql-in-argv"),
        pytest.param('"{nope}"', id="unknown-placeholder"),
        pytest.param('"@p"', id="splice-of-a-non-enum"),
    ],
)
def test_dangerous_templates_are_refused(tmp_path: Path, step: str) -> None:
    with pytest.raises(CatalogError):
        load(tmp_path, step)


def test_schema_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\noperations: [{name: x}]\n")
    with pytest.raises(CatalogError, match=r"bad\.yaml"):
        load_catalog(env={"OPSGATE_OPERATIONS": str(path)})


@pytest.mark.parametrize(
    ("operation", "params", "problem"),
    [
        ("service.restart", {"service": "web; reboot"}, "must match"),
        ("service.restart", {"service": "-h"}, "not start with '-'"),
        ("service.restart", {}, "is required"),
        ("service.restart", {"service": "web", "extra": 1}, "unknown parameter"),
        ("logs.read", {"service": "web", "lines": 10**6}, "between"),
        ("logs.read", {"service": "web", "lines": "ten"}, "integer"),
        ("deploy.git", {"app_dir": "/srv/../etc", "service": "w"}, "absolute path"),
        ("deploy.git", {"app_dir": "srv", "service": "w"}, "absolute path"),
        ("command.run", {"command": "rm"}, "one of"),
    ],
)
def test_parameters_are_validated(operation: str, params: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidParams, match=problem):
        load_catalog(env={}).get(operation).validate(params)


def test_defaults_fill_in() -> None:
    got = load_catalog(env={}).get("logs.read").validate({"service": "web"})
    assert got == {"service": "web", "lines": "200"}
