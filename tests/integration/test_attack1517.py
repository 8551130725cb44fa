"""Hostile tests of issues 15, 16 and 17 as built: lockdown, secret sources, the
remote administrative CLI, /metrics and the health routes, request ids, the
console's server-side rules and Slack interactions, incident artifacts, the SDK.

Each attack runs against real ``opsgate serve`` processes and real CLI
subprocesses.  An attack that gets through today is ``xfail(strict=True)`` with
the finding as its reason; an attack that is refused is a plain test, so the
refusal stays."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_fake import SIGNING_SECRET, TEAM, FakeSlack, block_action, signed

from servers import OPSGATE, free_port, owner_password

CHANGE = {
    "tool": "Bash",
    "input": {"command": "kubectl --context staging-eu rollout restart deploy/shop"},
}
PROD_DROP = {
    "tool": "Bash",
    "input": {"command": "psql postgres://db.prod.example.com/app -c 'DROP TABLE users'"},
}


def _change() -> dict[str, Any]:
    """A staging write nobody proposed before: a card of its own."""
    return {
        "tool": "Bash",
        "input": {
            "command": "kubectl --context staging-eu rollout restart "
            f"deploy/shop-{os.urandom(4).hex()}"
        },
    }


READ = {"tool": "Bash", "input": {"command": "ls -la"}}
HELPER_STDERR = "HELPER-STDERR-CANARY-5c1e"
HELPER_VALUE = "HELPER-VALUE-CANARY-0b7d"
PLAIN_CANARY = "plainCanary7q3kZ"  # a stored secret's value that looks like nothing special
PASSWORDS = {"ada": "ada-password-1", "mem": "mem-password-1", "vic": "vic-password-1"}

PARTNER_OPS = """
version: 1
operations:
  - name: partner.echo
    description: call the partner with its token (here it prints what it was given)
    effect: read
    impact: safe
    targets: [server]
    params:
      token: {type: secret, allowed: {partner-*: [partner_token, helper_ok, helper_bad]}}
    env: {API_TOKEN: "{token}"}
    steps:
      local:
        - argv: [sh, -c, 'echo "token=$API_TOKEN"']
    rollback: {description: "nothing to roll back"}
"""


# --- real servers ------------------------------------------------------------------------------


class Plane:
    """``opsgate serve`` with JSON logs at info level (the shared ``Serve`` logs at
    warning), its stdout and stderr collected."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
        full.update({"OPSGATE_HOME": str(home), **env})
        argv = [
            OPSGATE,
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(home),
            "--create",
            "--log-level",
            "info",
            "--log-format",
            "json",
        ]
        self.log = home.parent / f"serve-{self.port}.log"
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(argv, env=full, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "opsgate serve did not start"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        password = owner_password(home)
        assert password
        self.owner_password = password

    def logs(self) -> str:
        self._out.flush()
        return self.log.read_text()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self._out.close()


@dataclass
class Org:
    plane: Plane
    sessions: dict[str, httpx.Client] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    agent: str = ""

    def login(self, name: str, password: str) -> httpx.Client:
        # Idle connections are dropped before the server's 5 s keep-alive ends: a CLI
        # run between two requests may take longer on a busy machine, and a request
        # sent on a connection the server is closing gets no answer.
        client = httpx.Client(
            base_url=self.plane.url, timeout=30, limits=httpx.Limits(keepalive_expiry=2.0)
        )
        r = client.post("/api/v1/session", json={"name": name, "password": password})
        assert r.status_code == 200, r.text
        return client

    def close(self) -> None:
        for client in self.sessions.values():
            client.close()
        self.plane.stop()

    def agent_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.agent}"}

    def propose(self, action: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        r = httpx.post(
            f"{self.plane.url}/api/v1/propose",
            json=action,
            timeout=30,
            headers={"Authorization": f"Bearer {token or self.agent}"},
        )
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def cli(
        self, *args: str, stdin: str = "", home: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
        laptop = home or self.plane.home.parent / "laptop"
        laptop.mkdir(exist_ok=True)
        base.update({"OPSGATE_HOME": str(laptop), "OPSGATE_URL": self.plane.url, **env})
        return subprocess.run(
            [OPSGATE, *args],
            capture_output=True,
            text=True,
            env=base,
            timeout=60,
            check=False,
            input=stdin,
        )


def _make_org(plane: Plane) -> Org:
    org = Org(plane)
    owner = org.login("owner", plane.owner_password)
    org.sessions["owner"] = owner
    for name, role in (("ada", "admin"), ("mem", "member"), ("vic", "viewer")):
        r = owner.post(
            "/api/v1/users", json={"name": name, "password": PASSWORDS[name], "role": role}
        )
        assert r.status_code == 201, r.text
        org.ids[name] = r.json()["id"]
        org.sessions[name] = org.login(name, PASSWORDS[name])
    r = owner.post("/api/v1/tokens", json={"name": "agent-1", "role": "agent"})
    assert r.status_code == 201, r.text
    org.agent = r.json()["secret"]
    return org


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[Org]:
    """The main control plane: the local runner on, an operator's operation taking
    a secret, Slack connected (a stand-in speaking Slack's protocol)."""
    root = tmp_path_factory.mktemp("attack")
    ops = root / "ops"
    ops.mkdir()
    (ops / "partner.yaml").write_text(PARTNER_OPS)
    from slack_fake import BOT_TOKEN

    plane = Plane(
        root / "home",
        {
            "OPSGATE_LOCAL_RUNNER": "1",
            "OPSGATE_OPERATIONS": str(ops),
            "OPSGATE_SLACK_BOT_TOKEN": BOT_TOKEN,
            "OPSGATE_SLACK_CHANNEL": "C0APPROVALS",
            "OPSGATE_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "OPSGATE_SLACK_API_URL": slack.url,
        },
    )
    made = _make_org(plane)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    """A control plane of its own for the lockdown attacks (a lockdown stops everything)."""
    plane = Plane(tmp_path_factory.mktemp("lockdown") / "home", {})
    made = _make_org(plane)
    try:
        yield made
    finally:
        made.close()


# --- lockdown ----------------------------------------------------------------------------------


def _hook(org: Org, command: str, tmp: Path) -> dict[str, Any]:
    """``opsgate hook claude`` in connected mode, fed Claude Code's exact JSON."""
    payload = {
        "session_id": "s-1",
        "transcript_path": str(tmp / "t.jsonl"),
        "cwd": str(tmp),
        "permission_mode": "bypassPermissions",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env.update(
        {
            "OPSGATE_URL": org.plane.url,
            "OPSGATE_TOKEN": org.agent,
            "OPSGATE_HOME": str(tmp / "agent-home"),
        }
    )
    proc = subprocess.run(
        [OPSGATE, "hook", "claude"],
        input=json.dumps(payload),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode == 2:
        return {"permissionDecision": "deny", "permissionDecisionReason": proc.stderr}
    out: dict[str, Any] = json.loads(proc.stdout or "{}").get("hookSpecificOutput", {})
    return out


def test_lockdown_cannot_be_pressed_or_lifted_by_an_agent_viewer_or_member(locked: Org) -> None:
    url = locked.plane.url
    for who in ("vic", "mem"):
        s = locked.sessions[who]
        assert s.post("/api/v1/lockdown", json={"reason": "x"}).status_code == 403
    for path in ("/api/v1/lockdown", "/api/v1/lockdown/lift"):
        r = httpx.post(url + path, json={"reason": "x"}, headers=locked.agent_headers())
        assert r.status_code == 403, (path, r.text)
    # Through the CLI with the agent's token exported (the agent's own shell).
    proc = locked.cli("lockdown", "on", "--reason", "agent", OPSGATE_TOKEN=locked.agent)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert (
        httpx.get(url + "/api/v1/lockdown", headers=locked.agent_headers()).json()["locked"]
        is False
    )


def test_lockdown_an_admin_token_presses_but_never_lifts(locked: Org) -> None:
    admin = locked.sessions["ada"]
    made = admin.post("/api/v1/tokens", json={"name": "pager", "role": "admin"})
    assert made.status_code == 201, made.text
    bot = {"Authorization": f"Bearer {made.json()['secret']}"}
    url = locked.plane.url
    assert (
        httpx.post(url + "/api/v1/lockdown", json={"reason": "paged"}, headers=bot).status_code
        == 200
    )
    try:
        r = httpx.post(url + "/api/v1/lockdown/lift", json={"reason": "bot"}, headers=bot)
        assert r.status_code == 403, r.text
        proc = locked.cli("lockdown", "off", "--reason", "bot", "--token", made.json()["secret"])
        assert proc.returncode == 4, proc.stdout + proc.stderr
        assert httpx.get(url + "/api/v1/lockdown", headers=bot).json()["locked"] is True
    finally:
        r = admin.post("/api/v1/lockdown/lift", json={"reason": "drill over"})
        assert r.status_code == 200, r.text


def test_lockdown_no_write_through_any_path_even_with_a_grant_from_before(
    locked: Org, tmp_path: Path
) -> None:
    """An approved card's retry, /evaluate, /propose, /grants/consume, the http hook,
    the hook in connected mode, the SDK: every write refused; the pending card
    cannot be approved; nothing approved before comes back after the lift."""
    url, admin = locked.plane.url, locked.sessions["ada"]
    approved = locked.propose(CHANGE)["card"]
    assert admin.post(f"/api/v1/cards/{approved['id']}/approve", json={}).status_code == 200
    pending = locked.propose(
        {**CHANGE, "input": {"command": "kubectl --context staging-eu delete pod x"}}
    )
    r = admin.post("/api/v1/lockdown", json={"reason": "incident 4711"})
    assert r.status_code == 200 and r.json()["revoked_grants"], r.text
    try:
        retry = locked.propose(CHANGE)
        assert retry["decision"]["decision"] == "deny" and retry["grant"] is None, retry
        assert "locked down" in " ".join(retry["decision"]["reasons"])
        r = httpx.post(url + "/api/v1/evaluate", json=CHANGE, headers=locked.agent_headers())
        assert r.json()["decision"] == "deny", r.text
        r = httpx.post(url + "/api/v1/grants/consume", json=CHANGE, headers=locked.agent_headers())
        assert r.status_code != 200 or r.json()["matched"] is False, r.text
        assert _hook(locked, CHANGE["input"]["command"], tmp_path)["permissionDecision"] == "deny"
        hook = httpx.post(
            url + "/api/v1/hooks/claude",
            headers=locked.agent_headers(),
            json={
                "hook_event_name": "PreToolUse",
                "tool_name": "Bash",
                "tool_input": CHANGE["input"],
                "cwd": str(tmp_path),
                "session_id": "s",
                "permission_mode": "bypassPermissions",
            },
        )
        assert hook.json()["hookSpecificOutput"]["permissionDecision"] == "deny", hook.text
        r = locked.sessions["owner"].post(f"/api/v1/cards/{pending['card']['id']}/approve", json={})
        assert r.status_code == 409, r.text
        from opsgate import ActionDenied, Gate

        with Gate(url, locked.agent) as gate:
            with pytest.raises(ActionDenied):
                gate.require(CHANGE["input"]["command"])
            assert gate.check("ls -la").allowed  # reads keep working
    finally:
        r = locked.sessions["owner"].post("/api/v1/lockdown/lift", json={"reason": "over"})
        assert r.status_code == 200, r.text
    after = locked.propose(CHANGE)
    assert after["decision"]["decision"] != "allow" and after["grant"] is None, after
    r = admin.post(f"/api/v1/cards/{pending['card']['id']}/approve", json={})
    assert r.status_code == 409, r.text  # cancelled by the lockdown, not revived


def test_lockdown_console_form_needs_an_admin_and_the_csrf_token(locked: Org) -> None:
    for who in ("vic", "ada"):
        page = locked.sessions[who].get("/settings")
        assert page.status_code == 200, page.text
    csrf_vic = _csrf(locked.sessions["vic"].get("/settings").text)
    r = locked.sessions["vic"].post(
        "/settings/lockdown",
        data={"csrf": csrf_vic, "action": "on", "reason": "viewer", "confirm": "yes"},
    )
    assert r.status_code == 403, r.text[:300]
    r = locked.sessions["ada"].post(
        "/settings/lockdown", data={"action": "on", "reason": "no csrf", "confirm": "yes"}
    )
    assert r.status_code == 403, r.text[:300]
    state = httpx.get(locked.plane.url + "/api/v1/lockdown", headers=locked.agent_headers()).json()
    assert state["locked"] is False, state


def test_lockdown_mcp_cannot_execute_an_operation_approved_before(locked: Org) -> None:
    """An operation card approved just before the lockdown, executed by the agent
    through ``opsgate mcp`` (the executor, local runner on): cancelled, never run,
    not after the lift either; new writes over MCP refused."""
    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    owner, admin = locked.sessions["owner"], locked.sessions["ada"]
    target = {"kind": "server", "environment": "staging", "connection": {"runner": "local"}}
    assert owner.put("/api/v1/inventory/box", json=target).status_code == 200
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(
        {
            "OPSGATE_HOME": str(locked.plane.home),
            "OPSGATE_TOKEN": locked.agent,
            "OPSGATE_LOCAL_RUNNER": "1",
        }
    )
    seen: list[dict[str, Any]] = []

    async def scenario() -> None:
        params = StdioServerParameters(command=OPSGATE, args=["mcp"], env=env)
        with (locked.plane.home.parent / "mcp-stderr.log").open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()

                async def call(name: str, **arguments: Any) -> dict[str, Any]:
                    result = await session.call_tool(name, arguments)
                    assert not result.is_error, result.content
                    out: dict[str, Any] = result.structured_content or {}
                    seen.append(out)
                    return out

                proposed = await call(
                    "propose_operation",
                    operation="service.restart",
                    target="box",
                    parameters={"service": "opsgate-none"},
                )
                card = proposed["card_id"]
                assert admin.post(f"/api/v1/cards/{card}/approve", json={}).status_code == 200
                assert admin.post("/api/v1/lockdown", json={"reason": "mcp"}).status_code == 200
                try:
                    assert (await call("execute_card", card_id=card))["status"] == "cancelled"
                    again = await call(
                        "propose_operation",
                        operation="service.restart",
                        target="box",
                        parameters={"service": "other"},
                    )
                    assert again["decision"] == "deny" and again["decided_by"] == "lockdown"
                    shell = await call(
                        "propose_action",
                        kind="shell",
                        target="box",
                        command="systemctl restart nginx",
                    )
                    assert shell["decision"] == "deny" and not shell["card_created"]
                finally:
                    assert owner.post("/api/v1/lockdown/lift", json={}).status_code == 200
                after = await call("execute_card", card_id=card)
                assert after["status"] == "cancelled" and after.get("execution") is None, after

    anyio.run(scenario)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf"\s+value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


# --- secret sources ----------------------------------------------------------------------------


def _secrets_ready(org: Org) -> None:
    owner = org.sessions["owner"]
    if any(s["name"] == "helper_ok" for s in owner.get("/api/v1/secrets").json()):
        return
    puts = {
        "partner_token": {"value": "PARTNER-TOKEN-value-1234"},
        "root_ssh_key": {"value": PLAIN_CANARY},
        "helper_ok": {"command": [sys.executable, "-c", f"print({HELPER_VALUE!r})"]},
        "helper_bad": {
            "command": [
                sys.executable,
                "-c",
                f"import sys; print({HELPER_VALUE!r}); "
                f"sys.stderr.write({HELPER_STDERR!r}); sys.exit(3)",
            ]
        },
    }
    for name, body in puts.items():
        r = owner.put(f"/api/v1/secrets/{name}", json=body)
        assert r.status_code == 204, (name, r.text)
    for name in ("partner-gw", "evil-gw"):
        r = owner.put(
            f"/api/v1/inventory/{name}",
            json={"kind": "server", "environment": "staging", "connection": {"runner": "local"}},
        )
        assert r.status_code == 200, r.text


def _run_partner(org: Org, target: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{org.plane.url}/api/v1/operations/partner.echo/run",
        timeout=60,
        json={"target": target, "params": {"token": token}},
        headers=org.agent_headers(),
    )


def _everything_said(org: Org) -> str:
    """Every place a value could have reached: audit, cards, metrics, server logs."""
    owner = org.sessions["owner"]
    parts = [
        owner.get("/api/v1/audit", params={"limit": 500}).text,
        owner.get("/api/v1/cards").text,
        owner.get("/metrics").text,
        owner.get("/api/v1/secrets").text,
        org.plane.logs(),
    ]
    return "\n".join(parts)


def test_secret_helper_only_an_owner_sets_one(org: Org) -> None:
    r = org.sessions["ada"].put("/api/v1/secrets/ada_helper", json={"command": ["true"]})
    assert r.status_code == 403, r.text
    proc = org.cli(
        "secrets",
        "set",
        "ada_helper2",
        "--user",
        "ada",
        "--from-command",
        "--",
        "echo",
        "x",
        OPSGATE_PASSWORD=PASSWORDS["ada"],
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    r = httpx.put(
        f"{org.plane.url}/api/v1/secrets/agent_helper",
        json={"command": ["true"]},
        headers=org.agent_headers(),
    )
    assert r.status_code == 403, r.text
    names = {s["name"] for s in org.sessions["owner"].get("/api/v1/secrets").json()}
    assert not names & {"ada_helper", "ada_helper2", "agent_helper"}


def test_secret_helper_failure_never_shows_what_it_printed(org: Org) -> None:
    _secrets_ready(org)
    r = _run_partner(org, "partner-gw", "secret:helper_bad")
    assert HELPER_STDERR not in r.text and HELPER_VALUE not in r.text, r.text
    said = _everything_said(org)
    assert HELPER_STDERR not in said and HELPER_VALUE not in said


def test_secret_helper_value_is_redacted_from_the_run_output(org: Org) -> None:
    _secrets_ready(org)
    r = _run_partner(org, "partner-gw", "secret:helper_ok")
    assert r.status_code == 200, r.text
    assert HELPER_VALUE not in r.text, r.text
    assert HELPER_VALUE not in _everything_said(org)


@pytest.mark.parametrize(
    "token",
    [
        "secret:root_ssh_key",
        "root_ssh_key",
        "secret:ROOT_SSH_KEY",
        "secret: root_ssh_key",
        "secret:root_ssh_key ",
        "secret:partner_token/../root_ssh_key",
    ],
)
def test_secret_an_agent_cannot_name_a_secret_the_operation_does_not_allow(
    org: Org, token: str
) -> None:
    _secrets_ready(org)
    r = _run_partner(org, "partner-gw", token)
    assert PLAIN_CANARY not in r.text, r.text
    assert r.status_code == 422 or "token=" + PLAIN_CANARY not in r.text, r.text


def test_secret_allowed_on_one_target_is_refused_on_another(org: Org) -> None:
    _secrets_ready(org)
    r = _run_partner(org, "evil-gw", "secret:partner_token")
    assert r.status_code == 422, r.text


def test_secret_helper_check_never_prints_the_helper_output(org: Org) -> None:
    proc = org.cli(
        "secrets",
        "set",
        "checked",
        "--user",
        "owner",
        "--check",
        "--from-command",
        "--",
        sys.executable,
        "-c",
        f"import sys; print({HELPER_VALUE!r}); sys.stderr.write({HELPER_STDERR!r}); sys.exit(2)",
        OPSGATE_PASSWORD=org.plane.owner_password,
    )
    assert proc.returncode != 0
    said = proc.stdout + proc.stderr
    assert HELPER_VALUE not in said and HELPER_STDERR not in said, said


def test_secret_helper_failure_names_the_secret_readably(org: Org) -> None:
    _secrets_ready(org)
    r = _run_partner(org, "partner-gw", "secret:helper_bad")
    assert "secret 'helper_bad'" in r.json()["reason"], r.text


# --- the administrative CLI through a server ---------------------------------------------------


def _laptop_login(org: Org, laptop: Path) -> str:
    """A person runs ``opsgate login`` on the machine their agent also runs on
    (HOME is the laptop; no OPSGATE_HOME: the session goes to ~/.opsgate)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env.update({"HOME": str(laptop), "OPSGATE_URL": org.plane.url})
    proc = subprocess.run(
        [OPSGATE, "login", "--user", "ada", "--password-stdin"],
        env=env,
        input=PASSWORDS["ada"] + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    session = laptop / ".opsgate" / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    return str(json.loads(session.read_text())["secret"])


def _agent_hook(org: Org, laptop: Path, command: str) -> str:
    """The agent's hook on that laptop, connected: its verdict for ``command``."""
    payload = {
        "session_id": "s-2",
        "transcript_path": str(laptop / "t.jsonl"),
        "cwd": str(laptop / "project"),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    (laptop / "project").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env.update({"HOME": str(laptop), "OPSGATE_URL": org.plane.url, "OPSGATE_TOKEN": org.agent})
    proc = subprocess.run(
        [OPSGATE, "hook", "claude"],
        input=json.dumps(payload),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode == 2:
        return "deny"
    out = json.loads(proc.stdout or "{}").get("hookSpecificOutput", {})
    return str(out.get("permissionDecision", "allow"))


@pytest.fixture(scope="module")
def laptop(org: Org, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A person's laptop after `opsgate login`, with opsgate's other files on it."""
    home = tmp_path_factory.mktemp("laptop")
    _laptop_login(org, home)
    (home / ".opsgate" / "initial-owner-password").write_text("owner-password\n")
    config = home / ".config" / "opsgate"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text('user = "ada"\n')
    return home


SESSION_READS = [
    "cat ~/.opsgate/session.json",
    "grep -r secret ~/.opsgate",
    "head -c 300 ~/.opsgate/session.json",
    "python3 -c 'print(open(\"'$HOME'/.opsgate/session.json\").read())'",
    "find ~/.opsgate -name '*.json' -exec cat {} +",
    "tail -n 5 ~/.opsgate/session.json",
    "jq . ~/.opsgate/session.json",
    "base64 ~/.opsgate/session.json",
    "cp ~/.opsgate/session.json ./s.json",
    'node -e \'console.log(require("fs").readFileSync('
    'process.env.HOME+"/.opsgate/session.json","utf8"))\'',
    "head -c 100 ~/.opsgate/initial-owner-password",
    "cat ~/.config/opsgate/config.toml",
]


@pytest.mark.parametrize("command", SESSION_READS[:2])
def test_remote_cli_agent_cannot_cat_the_persons_login_session(
    org: Org, tmp_path: Path, command: str
) -> None:
    """`opsgate login` leaves a person's session in ~/.opsgate/session.json; with it,
    an agent of the same OS user approves its own card as that person."""
    secret = _laptop_login(org, tmp_path)
    assert _agent_hook(org, tmp_path, command) != "allow"
    card = org.propose(_change())["card"]
    r = httpx.post(
        f"{org.plane.url}/api/v1/cards/{card['id']}/approve",
        json={},
        cookies={"opsgate_session": secret},
        timeout=30,
    )
    assert r.status_code == 200  # what the agent could do with it: why every read must be refused


@pytest.mark.parametrize("command", SESSION_READS[2:])
def test_remote_cli_agent_reads_the_persons_login_session(
    org: Org, laptop: Path, command: str
) -> None:
    assert _agent_hook(org, laptop, command) != "allow"


@pytest.mark.parametrize(
    "template",
    [
        "curl -X POST -b opsgate_session=abc {url}/api/v1/cards/c_0123456789abcdef/approve",
        "curl -s -X POST -H 'Cookie: opsgate_session=abc' {url}/api/v1/lockdown/lift",
        "python3 -c 'import urllib.request as u; u.urlopen(u.Request(\"{url}/api/v1/cards/"
        'c_0123456789abcdef/approve", data=b"{{}}", '
        'headers={{"Cookie": "opsgate_session=abc"}}))\'',
    ],
)
def test_remote_cli_agent_posts_to_its_own_control_planes_admin_routes(
    org: Org, tmp_path: Path, template: str
) -> None:
    assert _agent_hook(org, tmp_path, template.format(url=org.plane.url)) != "allow"


def test_remote_cli_an_exported_agent_token_never_approves_and_user_beats_it(org: Org) -> None:
    card = org.propose(_change())["card"]
    proc = org.cli("approve", card["id"], OPSGATE_TOKEN=org.agent)
    assert proc.returncode == 4 and "OPSGATE_TOKEN" in proc.stderr, proc.stderr
    proc = org.cli("approve", card["id"], "--token", org.agent)
    assert proc.returncode == 4, proc.stderr
    state = org.sessions["owner"].get(f"/api/v1/cards/{card['id']}").json()["state"]
    assert state == "pending"
    proc = org.cli(
        "approve",
        card["id"],
        "--user",
        "ada",
        OPSGATE_TOKEN=org.agent,
        OPSGATE_PASSWORD=PASSWORDS["ada"],
    )
    assert proc.returncode == 0, proc.stderr
    assert org.agent not in proc.stdout + proc.stderr


def test_remote_cli_session_file_is_0600_whatever_the_umask_or_an_old_file(
    org: Org, tmp_path: Path
) -> None:
    home = tmp_path / "h"
    home.mkdir()
    old = home / "session.json"
    old.write_text("{}")
    old.chmod(0o644)
    script = (
        f"import os, subprocess, sys; os.umask(0); sys.exit(subprocess.run({OPSGATE!r} "
        "and [sys.argv[1], 'login', '--user', 'vic', '--password-stdin']).returncode)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update({"OPSGATE_HOME": str(home), "OPSGATE_URL": org.plane.url})
    proc = subprocess.run(
        [sys.executable, "-c", script, OPSGATE],
        env=env,
        text=True,
        input=PASSWORDS["vic"] + "\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def test_remote_cli_unreachable_error_never_prints_url_credentials(org: Org) -> None:
    port = free_port()
    for url in (
        f"http://user:URLPASS-CANARY@127.0.0.1:{port}",
        f"http://127.0.0.1:{port}/?token=URLTOKEN-CANARY",
    ):
        proc = org.cli("cards", "--token", "og_nothing", OPSGATE_URL=url)
        assert proc.returncode == 12, proc.stderr
        assert "CANARY" not in proc.stdout + proc.stderr, proc.stderr


def test_config_show_masks_a_password_inside_the_url(org: Org) -> None:
    proc = org.cli("config", "show", OPSGATE_URL="https://ops:URLPASS-CANARY@opsgate.example")
    assert proc.returncode == 0, proc.stderr
    assert "URLPASS-CANARY" not in proc.stdout


def test_config_show_masks_every_secret_setting(org: Org) -> None:
    canaries = {
        "OPSGATE_TOKEN": "og_TOKEN-CANARY-abcdefabcdef",
        "OPSGATE_PASSWORD": "PASSWORD-CANARY-1",
        "OPSGATE_DATABASE_URL": "postgresql://u:DBPASS-CANARY@db/opsgate",
        "OPSGATE_SLACK_BOT_TOKEN": "xoxb-1-2-BOT-CANARY",
        "OPSGATE_SLACK_SIGNING_SECRET": "SIGNING-CANARY",
        "OPSGATE_WEBHOOK_SECRET": "WEBHOOK-CANARY",
    }
    for fmt in ((), ("--json",)):
        proc = org.cli("config", "show", *fmt, **canaries)
        assert proc.returncode == 0, proc.stderr
        assert "CANARY" not in proc.stdout + proc.stderr, proc.stdout


def test_remote_cli_password_prompt_without_a_terminal_is_a_clean_error(org: Org) -> None:
    proc = subprocess.run(
        [OPSGATE, "cards", "--user", "ada"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")},
            "OPSGATE_URL": org.plane.url,
            "OPSGATE_HOME": str(org.plane.home.parent / "x"),
        },
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        start_new_session=True,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2 and "OPSGATE_PASSWORD" in proc.stderr, proc.stderr


def test_remote_cli_wrong_password_is_not_echoed(org: Org, tmp_path: Path) -> None:
    proc = org.cli(
        "login", "--user", "ada", "--password-stdin", stdin="WRONG-PW-CANARY\n", home=tmp_path
    )
    assert proc.returncode == 4, proc.stderr
    assert "WRONG-PW-CANARY" not in proc.stdout + proc.stderr + org.plane.logs()


# --- /metrics, /healthz, /readyz, request ids, logs ----------------------------------------------


def test_metrics_and_health_leak_nothing_without_credentials(org: Org) -> None:
    url = org.plane.url
    _secrets_ready(org)
    org.propose(_change())
    assert httpx.get(url + "/metrics").status_code == 401
    for path in ("/healthz", "/readyz"):
        r = httpx.get(url + path)
        assert r.status_code == 200 and set(r.json()) <= {"status", "version", "checks"}, r.text
    r = httpx.get(url + "/metrics", headers=org.agent_headers())
    assert r.status_code in (401, 403) and "opsgate_" not in r.text
    body = org.sessions["vic"].get("/metrics")
    assert body.status_code == 200 and "opsgate_decisions_total" in body.text
    for word in ("ada", "vic", "agent-1", "staging-eu", "kubectl", "c_", PLAIN_CANARY, "partner"):
        assert word not in body.text, word


def test_request_id_malformed_is_replaced_never_logged(org: Org) -> None:
    evil = 'x","user":"owner","level":"INFO' + "y" * 80
    r = httpx.get(
        org.plane.url + "/api/v1/lockdown", headers={**org.agent_headers(), "X-Request-Id": evil}
    )
    assert r.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["x-request-id"]), r.headers
    r = httpx.get(
        org.plane.url + "/api/v1/cards?token=QUERY-TOKEN-CANARY",
        headers={"X-Request-Id": "ok-id.1:2"},
    )
    assert r.headers["x-request-id"] == "ok-id.1:2"
    time.sleep(0.3)
    logs = org.plane.logs()
    assert '"user":"owner"' not in logs and "QUERY-TOKEN-CANARY" not in logs
    lines = [line for line in logs.splitlines() if line.startswith("{")]
    assert lines and all(isinstance(json.loads(line), dict) for line in lines)
    assert any(json.loads(line).get("request_id") == "ok-id.1:2" for line in lines)


def test_request_id_of_a_person_cannot_be_reused_by_an_agent(org: Org) -> None:
    owner = org.sessions["owner"]
    r = owner.put("/api/v1/inventory/rid-target", json={"kind": "server", "environment": "staging"})
    person_id = r.headers["x-request-id"]
    httpx.post(
        org.plane.url + "/api/v1/propose",
        json=_change(),
        timeout=30,
        headers={**org.agent_headers(), "X-Request-Id": person_id},
    )
    entries = owner.get("/api/v1/audit", params={"limit": 50}).json()["items"]
    actors = {e["actor"]["name"] for e in entries if e.get("request") == person_id}
    assert actors == {"owner"}, actors


def test_request_id_one_caller_id_sent_twice_is_two_requests_in_the_audit(org: Org) -> None:
    """An agent (or a proxy) that repeats its X-Request-Id: the entries keep it only as
    ``caller_request``; each request has its own id, and the log line of each names
    it, so logs and audit still meet on one request."""
    same = "trace-" + os.urandom(4).hex()
    for _ in range(2):
        r = httpx.post(
            org.plane.url + "/api/v1/propose",
            json=_change(),
            timeout=30,
            headers={**org.agent_headers(), "X-Request-Id": same},
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == same, r.text
    entries = org.sessions["owner"].get("/api/v1/audit", params={"limit": 50}).json()["items"]
    ours = [e for e in entries if e.get("caller_request") == same]
    ids = {e["request"] for e in ours}
    assert len(ids) == 2 and same not in ids, ours
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids), ids
    time.sleep(0.3)
    logged = [json.loads(line) for line in org.plane.logs().splitlines() if line.startswith("{")]
    named = {line.get("audit_request") for line in logged if line.get("request_id") == same}
    assert ids <= named, named


def test_request_id_a_caller_id_that_is_not_printable_never_reaches_the_audit(org: Org) -> None:
    for sent in ("a\u202eb", "x" * 65, "id with spaces", "ok\ttab"):
        try:
            r = httpx.post(
                org.plane.url + "/api/v1/propose",
                json=_change(),
                timeout=30,
                headers={**org.agent_headers(), "X-Request-Id": sent},
            )
        except (httpx.LocalProtocolError, UnicodeEncodeError):
            continue  # the client itself refuses to send it
        assert r.status_code == 200 and r.headers["x-request-id"] != sent, r.headers
    entries = org.sessions["owner"].get("/api/v1/audit", params={"limit": 50}).json()["items"]
    kept = [e["caller_request"] for e in entries if "caller_request" in e]
    assert all(re.fullmatch(r"[A-Za-z0-9._:\-]{1,64}", k) for k in kept), kept


# --- Slack interactions and account links ------------------------------------------------------


def _click(org: Org, payload: dict[str, Any], **sign: Any) -> httpx.Response:
    body, headers = signed(payload, **sign)
    return httpx.post(
        f"{org.plane.url}/api/v1/slack/interactions", content=body, headers=headers, timeout=30
    )


def _link_code(org: Org, slack: FakeSlack, who: str, member: str) -> str:
    session = org.sessions[who]
    before = len(slack.calls_to("chat.postMessage"))
    r = session.post(
        "/people",
        data={
            "csrf": _csrf(session.get("/people").text),
            "action": "slack-link",
            "slack_user": member,
        },
    )
    assert r.status_code in (200, 303), r.text[:300]
    sent = slack.wait("chat.postMessage", before + 1)
    mine = [m for m in sent[before:] if m.get("channel") == member]
    assert mine, sent[before:]
    codes = re.findall(r'"value":\s*"([^"]+)"', json.dumps(mine[-1]))
    assert codes, mine[-1]
    return codes[0]


def _state(org: Org, card_id: str) -> str:
    return str(org.sessions["owner"].get(f"/api/v1/cards/{card_id}").json()["state"])


def test_slack_forged_stale_future_and_replayed_clicks_are_refused(org: Org) -> None:
    card = org.propose(_change())["card"]
    click = block_action("opsgate_approve", card["id"], user="U0ADA")
    assert _click(org, click, secret="not-the-signing-secret").status_code == 401
    assert _click(org, click, at=time.time() - 400).status_code == 401
    assert _click(org, click, at=time.time() + 400).status_code == 401
    body, headers = signed(click)
    tampered = body.replace(b"U0ADA", b"U0MAX")
    r = httpx.post(f"{org.plane.url}/api/v1/slack/interactions", content=tampered, headers=headers)
    assert r.status_code == 401
    for drop in ("X-Slack-Signature", "X-Slack-Request-Timestamp"):
        partial = {k: v for k, v in headers.items() if k != drop}
        r = httpx.post(f"{org.plane.url}/api/v1/slack/interactions", content=body, headers=partial)
        assert r.status_code == 401
    first = httpx.post(f"{org.plane.url}/api/v1/slack/interactions", content=body, headers=headers)
    again = httpx.post(f"{org.plane.url}/api/v1/slack/interactions", content=body, headers=headers)
    assert first.status_code == 200 and again.status_code == 409, (first.text, again.text)
    assert _state(org, card["id"]) == "pending"  # U0ADA is linked to nobody (yet)


def test_slack_link_only_by_the_claimed_account_and_roles_still_apply(
    org: Org, slack: FakeSlack
) -> None:
    code = _link_code(org, slack, "vic", "U0VIC")
    _click(org, block_action("opsgate_link", code, user="U0EVE"))  # someone else's click
    card = org.propose(_change())["card"]
    assert _click(org, block_action("opsgate_approve", card["id"], user="U0EVE")).status_code == 200
    assert _state(org, card["id"]) == "pending"
    code = _link_code(org, slack, "vic", "U0VIC")
    assert _click(org, block_action("opsgate_link", code, user="U0VIC")).status_code == 200
    assert _click(org, block_action("opsgate_link", code, user="U0VIC")).status_code == 200
    linked = org.sessions["owner"].get("/api/v1/audit", params={"limit": 100}).json()["items"]
    accounts = [e["result"]["account"] for e in linked if e["event"] == "account.linked"]
    assert accounts == [f"{TEAM}:U0VIC"], accounts  # U0EVE's click linked nothing
    assert _click(org, block_action("opsgate_approve", card["id"], user="U0VIC")).status_code == 200
    assert _state(org, card["id"]) == "pending"  # a viewer never approves, from Slack either
    # A link code is for one account: a second use, even by that account, links nothing more.
    code = _link_code(org, slack, "ada", "U0ADA")
    org.sessions["owner"].post(f"/api/v1/users/{org.ids['ada']}/disable")
    try:
        _click(org, block_action("opsgate_link", code, user="U0ADA"))
        _click(org, block_action("opsgate_approve", card["id"], user="U0ADA"))
        assert _state(org, card["id"]) == "pending"  # disabled: no link, no approval
    finally:
        org.sessions["owner"].post(f"/api/v1/users/{org.ids['ada']}/enable")
        org.sessions.pop("ada").close()
        org.sessions["ada"] = org.login("ada", PASSWORDS["ada"])


def test_slack_destructive_needs_the_console_and_caution_is_approved(
    org: Org, slack: FakeSlack
) -> None:
    code = _link_code(org, slack, "ada", "U0ADA")
    assert _click(org, block_action("opsgate_link", code, user="U0ADA")).status_code == 200
    drop = org.propose(
        {
            "tool": "Bash",
            "input": {
                "command": "kubectl --context staging-eu delete namespace shop-"
                + os.urandom(3).hex()
            },
        }
    )
    assert drop["card"]["impact"] == "destructive", drop
    _click(org, block_action("opsgate_approve", drop["card"]["id"], user="U0ADA"))
    assert _state(org, drop["card"]["id"]) == "pending"
    card = org.propose(_change())["card"]
    _click(org, block_action("opsgate_approve", card["id"], user="U0ADA"))
    assert _state(org, card["id"]) == "approved"


# --- the console's server-side rules -----------------------------------------------------------


def test_console_forms_need_their_own_csrf_token(org: Org) -> None:
    ada, vic = org.sessions["ada"], org.sessions["vic"]
    vic_csrf = _csrf(vic.get("/people").text)
    forms = [
        (
            "/people",
            {"action": "add", "name": "mallory", "password": "mallory-pass-1", "role": "viewer"},
        ),
        ("/people", {"action": "disable", "user": org.ids["mem"]}),
        ("/people", {"action": "create", "name": "csrf-token", "role": "agent"}),
        ("/settings", {"approval_ttl_seconds": "60", "two_approvers": "no"}),
    ]
    for path, form in forms:
        for csrf in ("", vic_csrf, "0" * 64):
            r = ada.post(path, data={**form, **({"csrf": csrf} if csrf else {})})
            assert r.status_code == 403, (path, form, csrf, r.status_code)
    names = [u["name"] for u in org.sessions["owner"].get("/api/v1/users").json()]
    assert "mallory" not in names


def test_console_people_rules_are_the_servers(org: Org) -> None:
    ada, owner = org.sessions["ada"], org.sessions["owner"]
    r = ada.post(
        "/api/v1/users", json={"name": "root2", "password": "root2-password", "role": "owner"}
    )
    assert r.status_code == 403, r.text
    me = owner.get("/api/v1/session").json()["user"]["id"]
    r = owner.post(f"/api/v1/users/{me}/disable")
    assert r.status_code in (403, 409, 422), r.text  # never lock the last owner out
    r = ada.patch(f"/api/v1/users/{org.ids['mem']}", json={"role": "admin"})
    assert r.status_code == 403, r.text
    for who in ("mem", "vic"):
        r = org.sessions[who].patch("/api/v1/settings", json={"approval_ttl_seconds": 86400})
        assert r.status_code == 403, (who, r.text)
        r = org.sessions[who].patch(
            "/api/v1/settings", json={"two_approvers_for_destructive_production": False}
        )
        assert r.status_code == 403, (who, r.text)


def test_console_a_disabled_persons_tokens_stop_working(org: Org) -> None:
    owner = org.sessions["owner"]
    r = owner.post(
        "/api/v1/users", json={"name": "dora", "password": "dora-password-1", "role": "admin"}
    )
    assert r.status_code == 201, r.text
    dora = org.login("dora", "dora-password-1")
    try:
        made = dora.post("/api/v1/tokens", json={"name": "dora-bot", "role": "admin"}).json()
        bot = {"Authorization": f"Bearer {made['secret']}"}
        assert httpx.get(org.plane.url + "/api/v1/cards", headers=bot).status_code == 200
        assert owner.post(f"/api/v1/users/{r.json()['id']}/disable").status_code == 200
        assert dora.get("/api/v1/cards").status_code == 401
        card = org.propose(_change())["card"]
        r2 = httpx.post(f"{org.plane.url}/api/v1/cards/{card['id']}/approve", json={}, headers=bot)
        assert r2.status_code in (401, 403), r2.text
    finally:
        dora.close()


def test_console_token_names_are_unique_even_when_created_at_once(org: Org) -> None:
    from concurrent.futures import ThreadPoolExecutor

    owner = org.sessions["owner"]
    cookies = dict(owner.cookies)

    def create(_: int) -> int:
        return httpx.post(
            org.plane.url + "/api/v1/tokens",
            json={"name": "burst", "role": "agent"},
            cookies=cookies,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(create, range(8)))
    assert sorted(codes) == [201] + [409] * 7, codes
    live = [
        t for t in owner.get("/api/v1/tokens").json() if t["name"] == "burst" and not t["revoked"]
    ]
    assert len(live) == 1


def test_console_deny_reason_reaches_the_agent_without_secrets(org: Org) -> None:
    _secrets_ready(org)
    card = org.propose(_change())["card"]
    reason = f"no: the key {PLAIN_CANARY} and AKIAIOSFODNN7EXAMPLE are not for you"
    r = org.sessions["ada"].post(f"/api/v1/cards/{card['id']}/deny", json={"reason": reason})
    assert r.status_code == 200, r.text
    seen = httpx.get(f"{org.plane.url}/api/v1/cards/{card['id']}", headers=org.agent_headers())
    assert "not for you" in seen.text, seen.text  # the reason reaches the agent
    assert "AKIAIOSFODNN7EXAMPLE" not in seen.text and PLAIN_CANARY not in seen.text, seen.text


def test_console_nobody_approves_what_they_cannot(org: Org) -> None:
    owner, mem = org.sessions["owner"], org.sessions["mem"]
    own = owner.post("/api/v1/propose", json=_change()).json()["card"]
    r = owner.post(f"/api/v1/cards/{own['id']}/approve", json={})
    assert r.status_code == 403, r.text  # nobody approves their own request
    assert owner.patch("/api/v1/settings", json={"production_protection": False}).status_code == 200
    try:
        prod = org.propose(
            {
                "tool": "Bash",
                "input": {
                    "command": "kubectl --context prod-eu "
                    "rollout restart deploy/a" + os.urandom(2).hex()
                },
            }
        )
        assert prod["card"] is not None, prod
        r = mem.post(f"/api/v1/cards/{prod['card']['id']}/approve", json={})
        assert r.status_code == 403, r.text  # a member approves caution only off production
        page = mem.get(f"/cards/{prod['card']['id']}")
        assert page.status_code == 200
        assert f'action="/cards/{prod["card"]["id"]}/approve"' not in page.text  # not offered
    finally:  # (turning it on again cancels the card: test_card_lifecycle)
        owner.patch("/api/v1/settings", json={"production_protection": True})


def _prod_cards(org: Org) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pending and an approved production card, then Production Protection on."""
    owner = org.sessions["owner"]
    assert owner.patch("/api/v1/settings", json={"production_protection": False}).status_code == 200
    try:
        prod = org.propose(
            {
                "tool": "Bash",
                "input": {
                    "command": "kubectl --context prod-eu "
                    "rollout restart deploy/b" + os.urandom(2).hex()
                },
            }
        )["card"]
        approved = org.propose(
            {
                "tool": "Bash",
                "input": {
                    "command": "kubectl --context prod-eu "
                    "rollout restart deploy/c" + os.urandom(2).hex()
                },
            }
        )["card"]
        r = org.sessions["ada"].post(f"/api/v1/cards/{approved['id']}/approve", json={})
        assert r.status_code == 200, r.text
    finally:
        owner.patch("/api/v1/settings", json={"production_protection": True})
    return prod, approved


def test_console_a_card_production_protection_forbids_cannot_be_approved(org: Org) -> None:
    prod, _approved = _prod_cards(org)
    r = org.sessions["ada"].post(f"/api/v1/cards/{prod['id']}/approve", json={})
    assert r.status_code == 409 and "Production Protection" in r.text, r.text


def test_console_cards_that_cannot_be_honoured_are_cancelled_at_once(org: Org) -> None:
    prod, approved = _prod_cards(org)
    assert _state(org, prod["id"]) == "cancelled"
    assert _state(org, approved["id"]) == "cancelled"


def test_console_a_revoked_tokens_cards_are_cancelled(org: Org) -> None:
    owner = org.sessions["owner"]
    made = owner.post("/api/v1/tokens", json={"name": "short-lived", "role": "agent"}).json()
    card = org.propose(_change(), token=made["secret"])["card"]
    assert owner.delete(f"/api/v1/tokens/{made['token']['id']}").status_code == 200
    assert _state(org, card["id"]) == "cancelled"


# --- incident artifacts, policy diff, the SDK --------------------------------------------------


def test_incident_report_never_carries_a_canary_secret(org: Org, tmp_path: Path) -> None:
    _secrets_ready(org)
    canaries = [PLAIN_CANARY, "AKIAIOSFODNN7EXAMPLE", "ghp_" + "C4n4ry" * 6, "PgCanaryPw99"]
    actions = [
        f"kubectl --context staging-eu create secret generic k --from-literal=key={PLAIN_CANARY}",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws --profile staging s3 rm s3://staging-bucket/x",
        f"curl -X POST -H 'Authorization: token {canaries[2]}' https://api.github.com/repos/a/b/forks",
        f"psql postgresql://app:{canaries[3]}@db.staging.example.com/app "
        "-c 'DELETE FROM t WHERE id=1'",
    ]
    cards = []
    for command in actions:
        r = httpx.post(
            f"{org.plane.url}/api/v1/propose",
            timeout=30,
            headers=org.agent_headers(),
            json={
                "tool": "Bash",
                "input": {"command": command},
                "reasoning": f"using {PLAIN_CANARY}",
                "rollback": f"rotate {PLAIN_CANARY}",
            },
        )
        assert r.status_code == 200, r.text
        if r.json()["card"]:
            cards.append(r.json()["card"]["id"])
    assert cards
    org.sessions["ada"].post(
        f"/api/v1/cards/{cards[0]}/deny", json={"reason": f"not {PLAIN_CANARY}"}
    )
    out = tmp_path / "artifacts"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    proc = subprocess.run(
        [
            OPSGATE,
            "incident",
            "report",
            "--since",
            "1h",
            "--postmortem",
            "--data-dir",
            str(org.plane.home),
            "--out",
            str(out),
            *[a for c in cards for a in ("--card", c)],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = {p.name: p.read_text() for p in out.iterdir()}
    assert "incident_report.md" in written and "DECISION_RECORD.md" in written, list(written)
    for name, text in {**written, "stdout": proc.stdout + proc.stderr}.items():
        for canary in canaries:
            assert canary not in text, (name, canary)
    zipped = org.sessions["ada"].get("/incident/report.zip", params={"since": "1h"})
    assert zipped.status_code == 200, zipped.text[:300]
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        inside = {n: archive.read(n).decode() for n in archive.namelist()}
    assert inside
    for name, text in inside.items():
        for canary in canaries:
            assert canary not in text, (name, canary)


def _diff(org: Org, tmp_path: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "old.yaml").write_text(old)
    (tmp_path / "new.yaml").write_text(new)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    return subprocess.run(
        [
            OPSGATE,
            "policy",
            "diff",
            str(tmp_path / "old.yaml"),
            str(tmp_path / "new.yaml"),
            "--data-dir",
            str(org.plane.home),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_policy_diff_an_allow_rule_never_lets_a_write_through_and_loosening_fails_ci(
    org: Org, tmp_path: Path
) -> None:
    _secrets_ready(org)
    org.propose(_change())
    base = "version: 1\n"
    proc = _diff(
        org,
        tmp_path,
        base,
        base + "rules:\n  - {action: shell.exec, resource: 'kubectl*', effect: allow}\n",
    )
    assert proc.returncode in (0, 1), proc.stderr
    for change in json.loads(proc.stdout)["changes"]:
        assert change["new"]["decision"] != "allow", change  # a write still needs a person
    for canary in (PLAIN_CANARY, HELPER_VALUE):
        assert canary not in proc.stdout + proc.stderr
    # A rule that denies kubectl writes, taken away: looser, and CI is told so.
    strict = base + "rules:\n  - {action: shell.exec, resource: 'kubectl*', effect: deny}\n"
    proc = _diff(org, tmp_path, strict, base)
    assert proc.returncode == 1, proc.stdout[:2000] + proc.stderr
    proc = _diff(org, tmp_path, base, "version: 1\nrules: [{action: 1}]\n")
    assert proc.returncode == 3, proc.stderr


def test_sdk_an_approval_runs_the_gated_call_once_and_only_that_call(org: Org) -> None:
    from opsgate import ApprovalRequired, Gate

    ran: list[str] = []
    deploy = f"shop-{os.urandom(3).hex()}"
    with Gate(org.plane.url, org.agent) as gate:

        @gate.gated("kubectl --context staging-eu rollout restart deploy/{name}")
        def restart(name: str) -> None:
            ran.append(name)

        with pytest.raises(ApprovalRequired) as needed:
            restart(deploy)
        card = needed.value.card
        assert (
            org.sessions["ada"].post(f"/api/v1/cards/{card.id}/approve", json={}).status_code == 200
        )
        assert gate.wait_for(card, timeout=10).state == "approved"
        with pytest.raises(ApprovalRequired):
            restart(deploy + "-other")  # another call: its own card
        restart(deploy)
        with pytest.raises(ApprovalRequired):
            restart(deploy)  # the grant was used
    assert ran == [deploy]


def test_console_an_automation_token_cannot_approve_without_a_person(org: Org) -> None:
    made = org.sessions["ada"].post("/api/v1/tokens", json={"name": "ada-ci", "role": "admin"})
    assert made.status_code == 201, made.text
    card = org.propose(_change())["card"]
    r = httpx.post(
        f"{org.plane.url}/api/v1/cards/{card['id']}/approve",
        json={},
        headers={"Authorization": f"Bearer {made.json()['secret']}"},
    )
    assert r.status_code == 403, r.text


def test_console_no_token_of_any_role_approves_or_denies_but_people_still_do(org: Org) -> None:
    """What a script tries next with a token: a member's token for a card members
    approve, deny instead of approve, the console's form route, the CLI with
    --token; each refused with the reason, the card still pending; then the person
    behind the token approves it logged in."""
    owner = org.sessions["owner"]
    made = org.sessions["ada"].post("/api/v1/tokens", json={"name": "ada-cd", "role": "admin"})
    member = org.sessions["ada"].post("/api/v1/tokens", json={"name": "ada-ci2", "role": "member"})
    assert made.status_code == member.status_code == 201, (made.text, member.text)
    made = made.json()
    bearer = {"Authorization": f"Bearer {made['secret']}"}
    card = org.propose(_change())["card"]
    url = f"{org.plane.url}/api/v1/cards/{card['id']}"
    r = httpx.post(
        url + "/approve", json={}, headers={"Authorization": f"Bearer {member.json()['secret']}"}
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "person_required", r.text
    assert "API token never approves" in r.json()["error"]["message"], r.text
    r = httpx.post(url + "/deny", json={"reason": "no"}, headers=bearer)
    assert r.status_code == 403 and "never denies" in r.text, r.text
    r = httpx.post(f"{org.plane.url}/cards/{card['id']}/approve", headers=bearer, data={})
    assert r.status_code in (303, 401, 403), r.text
    proc = org.cli("approve", card["id"], "--token", made["secret"])
    assert proc.returncode == 4 and "--user" in proc.stderr, proc.stderr
    assert made["secret"] not in proc.stdout + proc.stderr
    assert _state(org, card["id"]) == "pending"
    audit = owner.get("/api/v1/audit", params={"limit": 50}).json()["items"]
    assert not [e for e in audit if e["event"] in ("card.approved", "card.denied")
                and (e.get("result") or {}).get("card") == card["id"]]  # fmt: skip
    proc = org.cli("approve", card["id"], "--user", "ada", OPSGATE_PASSWORD=PASSWORDS["ada"])
    assert proc.returncode == 0, proc.stderr
    assert _state(org, card["id"]) == "approved"


def test_console_an_agent_token_opens_no_console_route(org: Org) -> None:
    url, agent = org.plane.url, org.agent_headers()
    for path in ("/incident/report.zip?since=1h", "/audit", "/people", "/settings", "/inbox"):
        r = httpx.get(url + path, headers=agent, timeout=10)
        assert r.status_code in (303, 401, 403), (path, r.status_code)
    card = org.propose(_change())["card"]
    r = httpx.post(f"{url}/cards/{card['id']}/approve", headers=agent, data={})
    assert r.status_code in (401, 403), r.text
    r = httpx.post(
        f"{url}/api/v1/cards/{card['id']}/approve", json={}, cookies={"opsgate_session": org.agent}
    )
    assert r.status_code == 401, r.text
    assert _state(org, card["id"]) == "pending"


def test_secret_validation_errors_never_echo_a_value_and_admins_keep_off_helpers(org: Org) -> None:
    _secrets_ready(org)
    owner, ada = org.sessions["owner"], org.sessions["ada"]
    bodies = [
        {"value": "ECHO-CANARY-1", "bogus": 1},
        {"value": ["ECHO-CANARY-2"]},
        {"value": "ECHO-CANARY-3", "command": ["true"]},
        {"command": "ECHO-CANARY-4 as a string"},
        {"value": "x" * 70_000 + "ECHO-CANARY-5"},
    ]
    for body in bodies:
        r = owner.put("/api/v1/secrets/echoed", json=body)
        assert r.status_code == 422 and "ECHO-CANARY" not in r.text, r.text
    r = httpx.post(
        f"{org.plane.url}/api/v1/session", json={"name": "owner", "password": ["ECHO-CANARY-6"]}
    )
    assert r.status_code == 422 and "ECHO-CANARY" not in r.text, r.text
    assert ada.put("/api/v1/secrets/helper_ok", json={"value": "admin-value"}).status_code == 403
    assert ada.delete("/api/v1/secrets/helper_ok").status_code == 403
    time.sleep(0.2)
    assert "ECHO-CANARY" not in org.plane.logs()


def test_console_two_approvals_are_two_people_not_a_person_and_their_token(org: Org) -> None:
    owner, ada = org.sessions["owner"], org.sessions["ada"]
    both = {"production_protection": False, "two_approvers_for_destructive_production": True}
    assert owner.patch("/api/v1/settings", json=both).status_code == 200
    try:
        command = "kubectl --context prod-eu delete namespace shop-" + os.urandom(3).hex()
        card = org.propose({"tool": "Bash", "input": {"command": command}})["card"]
        assert card["approvers_needed"] == 2, card
        made = ada.post("/api/v1/tokens", json={"name": "ada-second", "role": "admin"}).json()
        confirm = {"confirmation": card["confirm"]}
        assert ada.post(f"/api/v1/cards/{card['id']}/approve", json=confirm).status_code == 200
        r = httpx.post(
            f"{org.plane.url}/api/v1/cards/{card['id']}/approve",
            json=confirm,
            headers={"Authorization": f"Bearer {made['secret']}"},
        )
        assert r.status_code == 409, r.text
        second = org.login("ada", PASSWORDS["ada"])
        try:
            r = second.post(f"/api/v1/cards/{card['id']}/approve", json=confirm)
            assert r.status_code == 409, r.text
        finally:
            second.close()
        assert _state(org, card["id"]) == "pending"
    finally:
        off = {"production_protection": True, "two_approvers_for_destructive_production": False}
        owner.patch("/api/v1/settings", json=off)


def _audit_copy(org: Org, tmp_path: Path) -> Path:
    import sqlite3

    copy = tmp_path / "audit-copy.db"
    with sqlite3.connect(org.plane.home / "audit.db") as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def _report(org: Org, db: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    return subprocess.run(
        [
            OPSGATE,
            "incident",
            "report",
            "--since",
            "1h",
            "--data-dir",
            str(org.plane.home),
            "--db",
            str(db),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_incident_report_says_when_the_trail_was_edited(org: Org, tmp_path: Path) -> None:
    import sqlite3

    card = org.propose(_change())["card"]
    assert (
        org.sessions["ada"].post(f"/api/v1/cards/{card['id']}/approve", json={}).status_code == 200
    )
    copy = _audit_copy(org, tmp_path)
    clean = _report(org, copy, tmp_path / "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    with sqlite3.connect(copy) as db:
        rows = db.execute("SELECT seq, body FROM audit_entries").fetchall()
        seq, body = next(
            (s, b) for s, b in rows if b"card.approved" in bytes(b) and b"ada" in bytes(b)
        )
        forged = bytes(body).replace(b'"ada"', b'"owner"')
        db.execute("UPDATE audit_entries SET body = ? WHERE seq = ?", (forged, seq))
    proc = _report(org, copy, tmp_path / "edited")
    assert proc.returncode == 8, proc.stdout + proc.stderr
    report = (tmp_path / "edited" / "incident_report.md").read_text()
    assert "TAMPERED" in report.upper() or "FAIL" in report.upper(), report[:1500]


def test_incident_report_says_what_no_checkpoint_covers(org: Org, tmp_path: Path) -> None:
    import sqlite3

    org.propose(_change())
    copy = _audit_copy(org, tmp_path)
    with sqlite3.connect(copy) as db:
        db.execute("DELETE FROM audit_entries WHERE seq > (SELECT MAX(seq) - 3 FROM audit_entries)")
    proc = _report(org, copy, tmp_path / "cut")
    report = (tmp_path / "cut" / "incident_report.md").read_text()
    covered = re.search(
        r"not covered|no (signed )?checkpoint covers|after the last checkpoint",
        report,
        re.IGNORECASE,
    )
    assert proc.returncode == 8 or covered, report[-1500:]


IN_PROCESS_APPROVE = (
    'python3 -c \'import os, sys; os.environ.pop("OPSGATE_TOKEN", None); '
    'from opsgate.cli import main; sys.exit(main(["approve", "{card}"]))\''
)


@pytest.mark.parametrize("template", [IN_PROCESS_APPROVE, "pipx run opsgate approve {card}"])
def test_remote_cli_agent_approves_through_the_cli_in_process(
    org: Org, laptop: Path, template: str
) -> None:
    card = org.propose(_change())["card"]
    command = template.format(card=card["id"])
    verdict = _agent_hook(org, laptop, command)
    if verdict == "allow" and template == IN_PROCESS_APPROVE:
        # What the agent's shell then does (same user, same HOME, its token exported).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
        env.update(
            {
                "HOME": str(laptop),
                "OPSGATE_URL": org.plane.url,
                "OPSGATE_TOKEN": org.agent,
                "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            }
        )
        subprocess.run(
            ["bash", "-c", command],
            env=env,
            cwd=laptop,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert _state(org, card["id"]) == "pending", "the agent approved its own card"
    assert verdict != "allow"


def _hook_reason(org: Org, home: Path, command: str) -> str:
    payload = {
        "session_id": "s-deny",
        "transcript_path": str(home / "t.jsonl"),
        "cwd": str(home),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env.update({"HOME": str(home), "OPSGATE_URL": org.plane.url, "OPSGATE_TOKEN": org.agent})
    proc = subprocess.run(
        [OPSGATE, "hook", "claude"],
        input=json.dumps(payload),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = json.loads(proc.stdout or "{}").get("hookSpecificOutput", {})
    return str(out.get("permissionDecisionReason", "")) + proc.stderr


def test_console_deny_reason_reaches_the_agent_behind_the_hook(org: Org, tmp_path: Path) -> None:
    command = _change()["input"]["command"]
    first = _hook_reason(org, tmp_path, command)
    found = re.search(r"c_[0-9a-f]{16}", first)
    assert found, first
    why = "use the blue-green deploy script instead"
    r = org.sessions["ada"].post(f"/api/v1/cards/{found.group(0)}/deny", json={"reason": why})
    assert r.status_code == 200, r.text
    assert why in _hook_reason(org, tmp_path, command)


def test_sdk_fails_closed_and_guards_the_block(org: Org, tmp_path: Path) -> None:
    import anyio

    from opsgate import ApprovalRequired, Gate, GateUnavailable

    ran: list[str] = []
    write = _change()["input"]["command"]
    with Gate(org.plane.url, org.agent) as gate:
        with pytest.raises(ApprovalRequired), gate.guard(write):
            ran.append("guarded block")

        @gate.gated(lambda: write)
        async def coro() -> None:
            ran.append("coroutine")

        with pytest.raises(ApprovalRequired):
            anyio.run(coro)
    for url, token in ((f"http://127.0.0.1:{free_port()}", org.agent), (org.plane.url, "og_bogus")):
        with Gate(url, token, timeout=5) as gone:
            with pytest.raises(GateUnavailable):
                gone.require(write)
            with pytest.raises(GateUnavailable):
                gone.require("ls")  # unreachable or unknown: nothing is allowed, reads neither
    assert ran == []


def test_console_api_refuses_a_cross_origin_request_with_the_session_cookie(org: Org) -> None:
    cookies = dict(org.sessions["ada"].cookies)
    card = org.propose(_change())["card"]
    evil = {"Origin": "https://evil.example"}
    for content_type, body in (
        ("application/x-www-form-urlencoded", b""),
        ("text/plain", b"{}"),
        ("multipart/form-data; boundary=x", b"--x--\r\n"),
    ):
        r = httpx.post(
            f"{org.plane.url}/api/v1/cards/{card['id']}/approve",
            content=body,
            headers={**evil, "content-type": content_type},
            cookies=cookies,
        )
        assert r.status_code == 403, r.text
    for path, body in (
        ("/api/v1/lockdown", b'{"reason":"csrf"}'),
        ("/api/v1/tokens", b'{"name":"csrf","role":"admin"}'),
    ):
        r = httpx.post(
            org.plane.url + path,
            content=body,
            cookies=cookies,
            headers={**evil, "content-type": "text/plain"},
        )
        assert r.status_code == 403, r.text
    assert _state(org, card["id"]) == "pending"


def test_secret_changes_are_audited_with_the_secrets_name(org: Org) -> None:
    owner = org.sessions["owner"]
    name = "audited_" + os.urandom(3).hex()
    assert owner.put(f"/api/v1/secrets/{name}", json={"command": ["true"]}).status_code == 204
    assert owner.delete(f"/api/v1/secrets/{name}").status_code == 204
    entries = owner.get("/api/v1/audit", params={"limit": 20}).json()["items"]
    changes = [e for e in entries if e["event"].startswith("secret.")]
    assert len(changes) >= 2, [e["event"] for e in entries]
    assert all(name in json.dumps(e) for e in changes[:2]), changes[:2]


def test_slack_message_text_escapes_what_the_agent_wrote(org: Org, slack: FakeSlack) -> None:
    marker = os.urandom(3).hex()
    context = f"staging-{marker}-<!channel>-<https://evil.example/x|approve here>"
    org.propose(
        {
            "tool": "Bash",
            "input": {"command": f"kubectl --context '{context}' rollout restart deploy/a"},
        }
    )
    deadline = time.monotonic() + 10
    while True:
        posted = [m for m in slack.calls_to("chat.postMessage") if marker in json.dumps(m)]
        if posted or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert posted, "no Slack message"
    text = str(posted[0]["text"])
    assert "<!channel>" not in text and "<https://evil.example" not in text, text
