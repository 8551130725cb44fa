"""Configuration and scripting from the real ``opsgate`` process: ``config show`` and
its sources, the config file, a missing data directory, the policy file's settings
on ``serve``, exit codes, ``--json`` where it was missing, ``audit backup`` of a
running server, shell completion."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import OPSGATE, Serve, owner_password


def run(*args: str, home: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    base.update({"OPSGATE_HOME": str(home), "OPSGATE_HOOK_DAEMON": "0", **env})
    return subprocess.run([OPSGATE, *args], capture_output=True, text=True, env=base, timeout=60,
                          check=False, input=stdin, cwd=home.parent)  # fmt: skip


def _setting(shown: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in shown["settings"] if s["key"] == key)
    return found


def test_config_show_names_each_source_and_masks_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "config.toml"
    config.write_text('[server]\nport = 9100\n[notify]\nwebhook_secret = "hush-hush"\n')
    config.chmod(0o600)
    proc = run("config", "show", "--json", home=home, OPSGATE_LOG_LEVEL="debug")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["config_file"] == str(config)
    assert _setting(shown, "server.port") == {
        "key": "server.port", "env": "OPSGATE_PORT", "value": 9100,
        "source": f"file {config}", "secret": False,
    }  # fmt: skip
    assert _setting(shown, "server.log_level")["source"] == "environment OPSGATE_LOG_LEVEL"
    assert _setting(shown, "server.host") | {"env": ""} == {
        "key": "server.host", "env": "", "value": "127.0.0.1", "source": "default",
        "secret": False,
    }  # fmt: skip
    assert _setting(shown, "notify.webhook_secret")["value"] == "********"
    assert "hush-hush" not in proc.stdout
    flagged = json.loads(
        run("config", "show", "--json", "--data-dir", str(tmp_path), home=home).stdout
    )
    assert _setting(flagged, "data_dir")["source"] == "flag --data-dir"
    table = run("config", "show", home=home, OPSGATE_TOKEN="og_secret_value").stdout
    assert "og_secret_value" not in table and "environment OPSGATE_TOKEN" in table


def test_the_config_file_drives_check_and_a_bad_one_stops_every_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "strict.yaml").write_text(
        "version: 1\nrules:\n  - {id: no-ls, action: '*', resource: '*ls*', effect: deny}\n"
    )
    (home / "config.toml").write_text('policy = "../strict.yaml"\n')
    denied = run("check", "--json", "--", "ls -la", home=home)
    assert denied.returncode == 11 and json.loads(denied.stdout)["decided_by"] == "no-ls"
    allowed = run("check", "--policy", str(tmp_path / "none.yaml"), "--", "ls", home=home)
    assert allowed.returncode == 3  # the flag wins over the file (and names a missing file)
    (home / "config.toml").write_text("[server]\nprot = 1\n")
    broken = run("check", "--", "ls", home=home)
    assert broken.returncode == 9
    assert "unknown setting 'server.prot'" in broken.stderr and "server.port" in broken.stderr


def test_check_exit_codes_tell_the_verdict(tmp_path: Path) -> None:
    codes = {cmd: run("check", "--", cmd, home=tmp_path).returncode
             for cmd in ("ls", "rm -rf ~", "cat ~/.ssh/id_rsa")}  # fmt: skip
    assert codes == {"ls": 0, "rm -rf ~": 10, "cat ~/.ssh/id_rsa": 11}


def test_a_missing_data_directory_is_an_error_not_a_new_store(tmp_path: Path) -> None:
    typo = tmp_path / "opsgte"
    for args in (("cards", "--data-dir", str(typo)), ("audit", "--data-dir", str(typo)),
                 ("serve", "--data-dir", str(typo), "--port", "0")):  # fmt: skip
        proc = run(*args, home=tmp_path / "home", OPSGATE_USER="x", OPSGATE_PASSWORD="x")
        assert proc.returncode == 9, (args, proc.stderr)
        assert "does not exist" in proc.stderr and "init" in proc.stderr
        assert not typo.exists()
    made = run("init", "--data-dir", str(typo), "--password-stdin", "--json",
               home=tmp_path / "home", stdin="init-password-1\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["owner"] == "owner" and (typo / "opsgate.db").is_file()


def test_serve_exits_13_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        proc = run("serve", "--create", "--port", str(port), home=tmp_path / "home")
    assert proc.returncode == 13, proc.stderr
    assert "cannot listen" in proc.stderr and "--port" in proc.stderr


POLICY = """version: 1
settings: {write_actions: false, approval_ttl: 1m}
"""


def test_the_policy_file_s_settings_mean_the_same_on_serve(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "policy.yaml").write_text(POLICY)
    action = {
        "tool": "Bash",
        "input": {"command": "kubectl --context staging rollout restart deploy/x"},
    }
    local = run("check", "--json", "--", action["input"]["command"], home=home)
    assert json.loads(local.stdout)["decided_by"] == "settings.write_actions"
    served = Serve(home)
    try:
        password = owner_password(home)
        assert password
        login = {"name": "owner", "password": password}
        me = httpx.post(f"{served.url}/api/v1/session", json=login, timeout=30)
        cookies = {"opsgate_session": me.cookies["opsgate_session"]}
        settings = httpx.get(f"{served.url}/api/v1/settings", cookies=cookies, timeout=30).json()
        assert settings["write_actions"] is False and settings["approval_ttl_seconds"] == 60
        token = httpx.post(f"{served.url}/api/v1/tokens", json={"name": "a", "role": "agent"},
                           cookies=cookies, timeout=30).json()["secret"]  # fmt: skip
        r = httpx.post(f"{served.url}/api/v1/evaluate", json=action,
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        assert r.json()["decision"] == "deny" and r.json()["decided_by"] == "settings.write_actions"
        change = httpx.patch(f"{served.url}/api/v1/settings", json={"write_actions": True},
                             cookies=cookies, timeout=30)  # fmt: skip
        assert change.status_code == 409, change.text
        assert change.json()["error"]["code"] == "set_in_policy_file"
        # A setting the file leaves alone is still the console's to change.
        other = httpx.patch(f"{served.url}/api/v1/settings", cookies=cookies, timeout=30,
                            json={"two_approvers_for_destructive_production": True})  # fmt: skip
        assert other.status_code == 200, other.text
    finally:
        served.stop()


def test_audit_backup_of_a_running_server_verifies_offline(tmp_path: Path) -> None:
    home = tmp_path / "home"
    served = Serve(home)
    try:
        password = owner_password(home)
        for _ in range(3):  # entries that sit in the write-ahead log of the running server
            httpx.post(f"{served.url}/api/v1/session", timeout=30,
                       json={"name": "owner", "password": password})  # fmt: skip
        live = json.loads(run("audit", "--json", home=home).stdout)
        backup = tmp_path / "copy" / "audit.db"
        backup.parent.mkdir()
        made = run("audit", "backup", str(backup), "--json", home=home)
        assert made.returncode == 0, made.stderr
        out = json.loads(made.stdout)
        assert out["entries"] >= len(live) and out["public_key"] == f"{backup}.pub.pem"
        assert backup.stat().st_mode & 0o777 == 0o600  # private like the original, any umask
    finally:
        served.stop()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    verify = run("audit", "verify", "--json", "--db", str(backup), "--key", out["public_key"],
                 home=elsewhere)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["ok"] is True
    again = run("audit", "backup", str(backup), home=home)
    assert again.returncode == 2 and "--force" in again.stderr


def test_json_where_it_was_missing(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nsettings: {write_actions: false}\n")
    valid = json.loads(run("policy", "validate", str(policy), "--json", home=tmp_path).stdout)
    assert valid == {"file": str(policy), "valid": True, "rules": 0, "inventory": 0,
                     "settings": ["write_actions"]}  # fmt: skip
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "ls", "command": "ls", "expect": "allow"}) + "\n")
    tested = run("policy", "test", str(policy), str(cases), "--json", home=tmp_path)
    assert json.loads(tested.stdout)["passed"] == 1, tested.stdout
    doctor = run("doctor", "--json", home=tmp_path, HOME=str(tmp_path))
    assert doctor.returncode == 1 and json.loads(doctor.stdout) == []
    dry = run("install", "claude", "--project", "--dry-run", "--json", home=tmp_path)
    shown = json.loads(dry.stdout)
    assert shown["changed"] is True and shown["written"] is False and "+" in shown["diff"]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_shell_completion_knows_the_commands(tmp_path: Path, shell: str) -> None:
    proc = run("completion", shell, home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for word in ("approve", "login", "--after-seq", "backup"):
        assert word in proc.stdout
    if shell == "bash":
        check = subprocess.run(["bash", "-n"], input=proc.stdout, text=True, capture_output=True,
                               check=False)  # fmt: skip
        assert check.returncode == 0, check.stderr
