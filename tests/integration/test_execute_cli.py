"""``opsgate secrets``, run as a real process: the value goes in on stdin, is
stored encrypted, and no command prints it back; agents and members cannot set."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from test_hook_process import OPSGATE

from execute_env import CANARY

PASSWORD = "correct horse battery"


def run(
    *args: str, home: Path, user: str = "olivia", stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env.update(OPSGATE_HOME=str(home), OPSGATE_USER=user, OPSGATE_PASSWORD=PASSWORD)
    return subprocess.run([OPSGATE, *args], capture_output=True, text=True, env=env, timeout=60,
                          check=False, input=stdin)  # fmt: skip


def test_secrets_set_list_delete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", "--owner", "olivia", "--password-stdin", home=home,
               stdin=PASSWORD + "\n").returncode == 0  # fmt: skip
    assert run("users", "add", "mia", "--role", "member", "--password-stdin", home=home,
               stdin=PASSWORD + "\n").returncode == 0  # fmt: skip
    done = run("secrets", "set", "api_token", home=home, stdin=CANARY + "\n")
    assert done.returncode == 0, done.stderr
    listed = run("secrets", "list", home=home, user="mia")
    assert listed.returncode == 0 and listed.stdout.splitlines()[1].startswith("api_token  ")
    names = run("secrets", "list", "--json", home=home, user="mia")
    assert [s["name"] for s in json.loads(names.stdout)] == ["api_token"]
    refused = run("secrets", "set", "other", home=home, user="mia", stdin="x" * 10)
    assert refused.returncode == 4 and "admin" in refused.stderr
    assert run("secrets", "delete", "api_token", home=home).returncode == 0
    assert run("secrets", "list", "--json", home=home).stdout.strip() == "[]"
    gone = run("secrets", "delete", "api_token", home=home)
    assert gone.returncode == 4
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert CANARY.encode() not in stored
    assert (home / "secret.key").stat().st_mode & 0o777 == 0o600


def test_inventory_add_with_connection_settings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", "--owner", "olivia", "--password-stdin", home=home,
               stdin=PASSWORD + "\n").returncode == 0  # fmt: skip
    added = run("inventory", "add", "web-staging", "--kind", "server", "--env", "staging",
                "--host", "127.0.0.1", "--port", "2222", "--ssh-user", "deploy",
                "--key", "secret:web_key", "--set", "backup_dir=/srv/backups",
                "--set", "backup_key=secret:web_backup", home=home)  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = run("inventory", "list", "--json", home=home)
    assert json.loads(listed.stdout)[0]["connection"] == {
        "backup_dir": "/srv/backups", "backup_key": "secret:web_backup", "host": "127.0.0.1",
        "key": "secret:web_key", "port": "2222", "user": "deploy",
    }  # fmt: skip


def test_inventory_add_refuses_raw_credentials_at_save_time(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("init", "--owner", "olivia", "--password-stdin", home=home,
               stdin=PASSWORD + "\n").returncode == 0  # fmt: skip
    base = ("inventory", "add", "db", "--kind", "database", "--env", "staging")
    for flags, key in (
        (("--key", CANARY), "key"),
        (("--set", f"dsn=postgresql://app:{CANARY}@db/app"), "dsn"),
        (("--set", f"token={CANARY}"), "token"),
        (("--set", "password=secret:"), "password"),  # an empty reference is no reference
    ):
        refused = run(*base, *flags, home=home)
        assert refused.returncode == 4, refused.stderr
        assert f"setting '{key}' as 'secret:NAME'" in refused.stderr
        assert CANARY not in refused.stdout + refused.stderr  # never echoed
    assert json.loads(run("inventory", "list", "--json", home=home).stdout) == []
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert CANARY.encode() not in stored  # not saved, not audited
    bad = run(*base, "--set", "novalue", home=home)
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
