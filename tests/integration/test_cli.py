"""The ``opsgate`` command line, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from test_hook_process import OPSGATE


def run(*args: str, home: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env["OPSGATE_HOME"] = str(home)
    return subprocess.run([OPSGATE, *args], capture_output=True, text=True, env=env, timeout=60,
                          check=False, input=stdin.decode() if stdin else None)  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="top"),
        pytest.param(["check"], id="check"),
        pytest.param(["hook"], id="hook"),
        pytest.param(["hook-client"], id="hook-client"),
        pytest.param(["policy"], id="policy"),
        pytest.param(["policy", "test"], id="policy-test"),
        pytest.param(["audit"], id="audit"),
        pytest.param(["audit", "verify"], id="audit-verify"),
        # the control plane's commands
        pytest.param(["serve"], id="serve"),
        pytest.param(["init"], id="init"),
        pytest.param(["users"], id="users"),
        pytest.param(["users", "add"], id="users-add"),
        pytest.param(["users", "set-role"], id="users-set-role"),
        pytest.param(["tokens"], id="tokens"),
        pytest.param(["tokens", "create"], id="tokens-create"),
        pytest.param(["tokens", "revoke"], id="tokens-revoke"),
        pytest.param(["inventory"], id="inventory"),
        pytest.param(["inventory", "add"], id="inventory-add"),
        pytest.param(["cards"], id="cards"),
        pytest.param(["approve"], id="approve"),
        pytest.param(["deny"], id="deny"),
        pytest.param(["secrets"], id="secrets"),
        pytest.param(["secrets", "set"], id="secrets-set"),
        pytest.param(["lockdown"], id="lockdown"),
        pytest.param(["lockdown", "on"], id="lockdown-on"),
        pytest.param(["lockdown", "off"], id="lockdown-off"),
        pytest.param(["lockdown", "status"], id="lockdown-status"),
        pytest.param(["login"], id="login"),
        pytest.param(["logout"], id="logout"),
        pytest.param(["config"], id="config"),
        pytest.param(["config", "show"], id="config-show"),
        pytest.param(["completion"], id="completion"),
        pytest.param(["audit", "backup"], id="audit-backup"),
        pytest.param(["audit", "export"], id="audit-export"),
    ],
)
def test_help_works_for_every_command(args: list[str], tmp_path: Path) -> None:
    proc = run(*args, "--help", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout
    assert f"opsgate {' '.join(args)}".rstrip() in proc.stdout  # the right command's help
    assert not (tmp_path / "opsgate.db").exists()  # --help touches no state


def test_check_json_has_the_documented_fields(tmp_path: Path) -> None:
    proc = run("check", "--json", "--cwd", str(tmp_path), "--", "rm -rf ~", home=tmp_path)
    assert proc.returncode == 10, proc.stderr  # require_approval
    data = json.loads(proc.stdout)
    for key in ("decision", "impact", "categories", "environment", "reasons"):
        assert key in data
    assert data["decision"] == "require_approval"
    assert data["impact"] == "destructive"
    assert "filesystem.delete" in data["categories"]


def test_check_explains_in_text(tmp_path: Path) -> None:
    proc = run("check", "--", "cat ~/.ssh/id_rsa", home=tmp_path)
    assert proc.returncode == 11  # deny
    assert proc.stdout.startswith("DENY")
    assert "safeguard.secrets" in proc.stdout
    assert "cat ~/.ssh/id_rsa" in proc.stdout  # the evidence


def test_check_without_command_is_a_clear_error(tmp_path: Path) -> None:
    proc = run("check", home=tmp_path)
    assert proc.returncode == 2
    assert "no command given" in proc.stderr and "hint:" in proc.stderr


def test_check_output_into_a_closed_pipe_is_not_a_crash(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    command = f"{OPSGATE} check -- 'rm -rf ~' | head -c1"
    proc = subprocess.run(command, shell=True, capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip
    assert "Traceback" not in proc.stderr


POLICY = """version: 1
settings: {production_protection: true}
rules:
  - {id: no-push-main, action: git.push, resource: main, effect: deny, reason: "not main"}
"""


def test_policy_validate_and_test(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    assert run("policy", "validate", str(policy), home=tmp_path).returncode == 0
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps({"id": "push-main", "command": "git push origin main", "expect": "deny"}) + "\n"
        + json.dumps({"id": "build", "command": "npm run build", "expect": "allow"}) + "\n"
    )  # fmt: skip
    proc = run("policy", "test", str(policy), str(cases), home=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "2/2 passed" in proc.stdout
    cases.write_text(json.dumps({"id": "wrong", "command": "ls", "expect": "deny"}) + "\n")
    proc = run("policy", "test", str(policy), str(cases), home=tmp_path)
    assert proc.returncode == 1
    assert "FAIL wrong: expected deny, got allow" in proc.stdout


def test_policy_validate_reports_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("version: 1\nrules:\n  - {effect: allow, resourse: x}\n")
    proc = run("policy", "validate", str(policy), home=tmp_path)
    assert proc.returncode == 3
    assert f"{policy}:3:" in proc.stderr
    assert "resourse" in proc.stderr


def test_policy_schema_is_json(tmp_path: Path) -> None:
    proc = run("policy", "schema", home=tmp_path)
    assert json.loads(proc.stdout)["title"] == "opsgate policy"
