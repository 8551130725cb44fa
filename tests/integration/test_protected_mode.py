"""Protected mode (issue 13 deliverable 3; security review C3, C4, M4): installed for
real under a temporary root, the decision service running as a throwaway service
user, and the agent as a separate unprivileged user.  The agent's user cannot
replace the socket, edit the database, read the signing key or change the hook's
settings or programs; a service on the socket run by any other user is refused; the
agent's environment changes nothing; every decision is audited by the service."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_payloads import CASES, claude, encode
from test_hook_agents import allowed, blocked

from system_support import (
    NOBODY,
    System,
    as_user,
    drop_user,
    make_root,
    new_user,
    python_for_everyone,
    skip_unless_possible,
)

AGENTS = ("claude", "codex", "gemini", "cursor", "copilot")
PROBE = "/usr/bin/python3"  # the agent's own tools: any interpreter it can run


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    skip_unless_possible()
    root = make_root()
    service_user = f"ogs{os.urandom(4).hex()}"
    box = System(root, python_for_everyone(root), service_user)
    try:
        for agent in AGENTS:
            box.install(agent)
        box.start()
        yield box
    finally:
        box.tear_down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def agent(system: System) -> Iterator[tuple[str, int, int]]:
    home = system.root / "home" / "agent"
    user = new_user("oga", home)
    yield user
    drop_user(user[0])


def _as_agent(agent: tuple[str, int, int], argv: list[str], data: bytes | None = None,
              **env: str) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    name, uid, gid = agent
    base = {"PATH": "/usr/bin:/bin", "HOME": f"/home/{name}", "USER": name}
    return as_user(uid, gid, argv, data=data, env={**base, **env})


def _try(agent: tuple[str, int, int], code: str) -> str:
    """Run ``code`` as the agent; its last line of output ("ok" or the error's name)."""
    wrapped = (
        f"try:\n    {code}\n    print('ok')\n"
        "except Exception as exc:\n    print(type(exc).__name__)"
    )
    proc = _as_agent(agent, [PROBE, "-c", wrapped])
    return proc.stdout.decode().strip().splitlines()[-1]


def _mode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, stat.S_IMODE(st.st_mode)


def test_ownership_and_modes(system: System) -> None:
    uid, _ = system.ids()
    assert _mode(system.data) == (uid, 0o700)
    assert _mode(system.socket.parent) == (uid, 0o755)
    assert _mode(system.socket) == (uid, 0o666)
    assert _mode(system.config) == (0, 0o644)
    for program in ("opsgate-hook-fast", "opsgate-hook"):
        assert _mode(system.path(f"/usr/local/lib/opsgate/{program}")) == (0, 0o755)
    for name in ("audit.db", "audit.db-wal", "audit-signing-key.pem"):
        if (system.data / name).exists():
            assert _mode(system.data / name)[1] == 0o600, name
    assert _mode(system.path("/etc/claude-code/managed-settings.json")) == (0, 0o644)


def test_agent_user_cannot_replace_the_socket(system: System, agent: tuple[str, int, int]) -> None:
    sock = str(system.socket)
    assert _try(agent, f"import os; os.unlink({sock!r})") == "PermissionError"
    assert _try(agent, f"import os; os.rename({sock!r}, {sock + '.x'!r})") == "PermissionError"
    bind = f"import socket; socket.socket(socket.AF_UNIX).bind({sock + '.fake'!r})"
    assert _try(agent, bind) == "PermissionError"
    assert _try(agent, f"import os; os.symlink('/tmp/x', {sock + '.l'!r})") == "PermissionError"


def test_agent_user_cannot_edit_the_database_or_read_the_key(
    system: System, agent: tuple[str, int, int]
) -> None:
    for name in ("audit.db", "opsgate.db", "audit-signing-key.pem", "policy.yaml"):
        path = str(system.data / name)
        assert _try(agent, f"open({path!r}, 'rb').read()") in ("PermissionError",), name
        assert _try(agent, f"open({path!r}, 'ab')") == "PermissionError", name
    grant = (f"import sqlite3; c = sqlite3.connect({str(system.data / 'opsgate.db')!r}); "
             "c.execute('create table grants(x)'); c.commit()")  # fmt: skip
    assert _try(agent, grant) in ("OperationalError", "PermissionError")
    assert _try(agent, f"import os; os.listdir({str(system.data)!r})") == "PermissionError"


def test_agent_user_cannot_change_the_hook_settings_or_programs(
    system: System, agent: tuple[str, int, int]
) -> None:
    targets = [
        system.config,
        system.path("/usr/local/lib/opsgate/opsgate-hook-fast"),
        system.path("/usr/local/lib/opsgate/opsgate-hook"),
        system.path("/etc/claude-code/managed-settings.json"),
        system.path("/etc/codex/requirements.toml"),
        system.path("/etc/gemini-cli/settings.json"),
        system.path("/etc/cursor/hooks.json"),
        system.path("/etc/github-copilot/policy.d/opsgate.json"),
    ]
    for path in targets:
        assert path.exists(), path
        assert _try(agent, f"open({str(path)!r}, 'ab')") == "PermissionError", path
        assert _try(agent, f"import os; os.unlink({str(path)!r})") == "PermissionError", path
        new = str(path.parent / "opsgate-evil.json")
        assert _try(agent, f"open({new!r}, 'w')") == "PermissionError", path.parent


@pytest.mark.parametrize("agent_name", AGENTS)
def test_the_protected_hook_decides_for_the_agent_user(
    system: System, agent: tuple[str, int, int], agent_name: str
) -> None:
    destructive, benign, _ = CASES[agent_name]
    for program in ("opsgate-hook-fast", "opsgate-hook"):
        command = [str(system.path(f"/usr/local/lib/opsgate/{program}")), agent_name]
        assert "destructive" in blocked(agent_name, _as_agent(agent, command, encode(destructive)))
        allowed(agent_name, _as_agent(agent, command, encode(benign)))


def test_decisions_are_audited_by_the_service_with_the_os_user(
    system: System, agent: tuple[str, int, int]
) -> None:
    marker = f"echo audited-{os.urandom(4).hex()}"
    payload = encode(CASES["claude"][1]).replace(b'"npm test"', json.dumps(marker).encode())
    fast = [str(system.path("/usr/local/lib/opsgate/opsgate-hook-fast")), "claude"]
    allowed("claude", _as_agent(agent, fast, payload))
    export = system.cli("audit", "export", "--data-dir", str(system.data), "--format", "jsonl")
    entries = [json.loads(line) for line in export.stdout.splitlines() if marker in line]
    assert entries and entries[-1]["actor"]["os_user"] == agent[0]
    assert entries[-1]["decision"] == "allow"


def test_the_agents_environment_changes_nothing(
    system: System, agent: tuple[str, int, int], tmp_path: Path
) -> None:
    """OPSGATE_HOME, OPSGATE_HOOK_DAEMON=0, OPSGATE_POLICY (an allow-everything policy)
    and PYTHONPATH (a fake opsgate package that allows everything): ignored."""
    evil = tmp_path / "evil"
    (evil / "opsgate").mkdir(parents=True)
    (evil / "opsgate" / "__init__.py").write_text("import sys; sys.exit(0)\n")
    (evil / "policy.yaml").write_text(
        "version: 1\nrules:\n  - {id: all, action: shell.exec, resource: '*', effect: allow}\n"
    )
    for path in (tmp_path, evil, evil / "opsgate", *evil.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {
        "OPSGATE_HOME": str(evil),
        "OPSGATE_HOOK_DAEMON": "0",
        "PYTHONPATH": str(evil),
        "OPSGATE_POLICY": str(evil / "policy.yaml"),
        "LD_PRELOAD": str(evil / "none.so"),
    }
    destructive = encode(CASES["claude"][0])
    for program in ("opsgate-hook-fast", "opsgate-hook"):
        command = [str(system.path(f"/usr/local/lib/opsgate/{program}")), "claude"]
        assert "destructive" in blocked("claude", _as_agent(agent, command, destructive, **env))


def test_the_agents_unsent_variables_are_not_taken_as_unset(
    system: System, agent: tuple[str, int, int]
) -> None:
    """The service is not sent the agent's NODE_ENV or DATABASE_URL, so a migration
    that is local work only while NODE_ENV is unset (knex on the development block's
    SQLite file) is not taken as local there: a person is asked."""
    project = system.root / "home" / "agent" / "web"
    project.mkdir(exist_ok=True)
    (project / "knexfile.js").write_text(
        "module.exports = {\n"
        "  development: { client: 'sqlite3', connection: { filename: './dev.sqlite3' } },\n"
        "  production: { client: 'pg', connection: { host: 'db.prod.example.com' } },\n"
        "};\n"
    )
    for path in (project, project / "knexfile.js"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    payload = claude("Bash", {"command": "npx knex migrate:latest"}) | {"cwd": str(project)}
    fast = [str(system.path("/usr/local/lib/opsgate/opsgate-hook-fast")), "claude"]
    reason = blocked("claude", _as_agent(agent, fast, encode(payload), NODE_ENV="production"))
    assert "migrat" in reason


@pytest.mark.parametrize("who", ["agent", "nobody"])
def test_a_service_run_by_another_user_is_refused(
    system: System, agent: tuple[str, int, int], who: str
) -> None:
    """The real service stopped and a fake that answers allow to everything put on the
    socket — possible only for someone who can write the directory, so the test hands
    the directory over, as a compromise of it would."""
    name, uid, gid = agent if who == "agent" else ("nobody", NOBODY, NOBODY)
    run_dir, original = system.socket.parent, system.socket.parent.stat()
    system.stop()
    os.chown(run_dir, uid, gid)
    sock = str(system.socket)
    fake = "\n".join([
        "import os, socket",
        "s = socket.socket(socket.AF_UNIX)",
        f"s.bind({sock!r})",
        f"os.chmod({sock!r}, 0o666)",
        "s.listen(8)",
        "while True:",
        "    c, _ = s.accept()",
        "    try:",
        "        c.recv(1 << 20)",
        "        c.sendall(b'OK 0 0 0\\n')",
        "    except OSError:",
        "        pass",  # a client that hung up at once: the next one
        "    c.close()",
    ])  # fmt: skip
    system.socket.unlink(missing_ok=True)
    proc = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                             PROBE, "-c", fake])  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not system.socket.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        for program in ("opsgate-hook-fast", "opsgate-hook"):
            command = [str(system.path(f"/usr/local/lib/opsgate/{program}")), "claude"]
            reason = blocked("claude", _as_agent(agent, command, encode(CASES["claude"][1])))
            assert "another user" in reason, (name, program)
    finally:
        proc.kill()
        proc.wait()
        system.socket.unlink(missing_ok=True)
        os.chown(run_dir, original.st_uid, original.st_gid)
        system.start()


def test_a_restarted_service_is_waited_for(system: System, agent: tuple[str, int, int]) -> None:
    """As systemd restarts a killed service (Restart=always): a hook that runs into the
    gap waits for it and gets its answer, instead of a block."""
    system.stop(signal.SIGKILL)
    system.socket.unlink(missing_ok=True)
    restart = threading.Timer(0.8, system.start)
    restart.start()
    command = [str(system.path("/usr/local/lib/opsgate/opsgate-hook-fast")), "claude"]
    started = time.monotonic()
    proc = _as_agent(agent, command, encode(CASES["claude"][1]))
    restart.join()
    allowed("claude", proc)
    assert time.monotonic() - started >= 0.5


def test_doctor_says_protected_or_tamperable(system: System, agent: tuple[str, int, int]) -> None:
    _, uid, gid = agent
    doctor = [*system.opsgate, "doctor", "--root", str(system.root)]
    home = system.root / "home" / "agent"
    out = as_user(uid, gid, [*doctor, "claude"], env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
                  cwd=home)  # fmt: skip
    text = out.stdout.decode()
    assert out.returncode == 0, text + out.stderr.decode()
    assert "PROTECTED: Claude Code's own user cannot change or bypass this guard" in text
    assert "destructive canary (rm -rf /) was blocked" in text
    assert "audit not checked here" in text  # the data is the service user's alone
    gemini = as_user(uid, gid, [*doctor, "gemini"], env={"PATH": "/usr/bin:/bin",
                                                          "HOME": str(home)}, cwd=home)  # fmt: skip
    assert "TAMPERABLE by the agent's own user" in gemini.stdout.decode()
    as_root = system.cli("doctor", "claude", "--root", str(system.root), "--require-protected")
    assert "destructive canary audited" in as_root.stdout


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        str(p.relative_to(root)): (p.lstat().st_mode, p.lstat().st_uid,
                                   p.read_bytes() if p.is_file() else b"")
        for p in root.rglob("*")
    }  # fmt: skip


def test_uninstall_removes_exactly_what_install_added() -> None:
    """An administrator's own managed settings are there first; installing every agent
    and uninstalling them again (the last with --purge, after a plain uninstall kept
    the audit trail and the user) leaves the tree byte for byte as it was."""
    skip_unless_possible()
    root = make_root()
    user = f"ogs{os.urandom(4).hex()}"
    try:
        box = System(root, python_for_everyone(root), user)
        claude = box.path("/etc/claude-code/managed-settings.json")
        claude.parent.mkdir(parents=True)
        claude.write_text('{\n    "permissions": {"deny": ["Bash(curl:*)"]}\n}\n')
        codex = box.path("/etc/codex/requirements.toml")
        codex.parent.mkdir(parents=True)
        codex.write_text('approval_policy = "on-request"\n')
        before = _snapshot(root)
        for name in AGENTS:
            box.install(name, "--no-start")
        assert json.loads(claude.read_text())["permissions"] == {"deny": ["Bash(curl:*)"]}
        for name in AGENTS:
            box.cli("uninstall", name, "--system", "--root", str(root))
        assert (
            box.data.is_dir() and subprocess.run(["id", user], capture_output=True).returncode == 0
        )
        box.cli("uninstall", "claude", "--system", "--root", str(root), "--purge")
        assert _snapshot(root) == before
        assert subprocess.run(["id", user], capture_output=True).returncode != 0
    finally:
        drop_user(user)
        shutil.rmtree(root, ignore_errors=True)
