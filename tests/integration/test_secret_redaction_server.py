"""A real ``opsgate serve`` masks the secret store's values wherever an agent copies
them: into a command or its reasoning, on the card and in the audit trail.  The
server learns the stored values when it starts, a value set through its API at
once, and one set by another process (the CLI, another replica) within seconds.
Before, ``AuditLog.add_secrets`` was never called: the trail kept them verbatim."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from opsgate.approvals.control import open_control_plane
from opsgate.approvals.model import Role
from opsgate.audit import open_log
from opsgate.execute import Executor
from servers import OPSGATE, Serve

PASSWORD = "correct horse battery staple"
AT_START = "stored-before-start-7QmZ"
VIA_API = "set-through-the-api-4KpW"
VIA_CLI = "set-by-another-process-9RtX"


def _propose(url: str, agent: dict[str, str], value: str) -> dict[str, object]:
    body = {"tool": "Bash", "cwd": "/srv/app",
            "input": {"command": f"kubectl --context staging annotate deploy/api note={value}"},
            "reasoning": f"the value I found is {value}"}  # fmt: skip
    r = httpx.post(f"{url}/api/v1/propose", json=body, headers=agent, timeout=30)
    assert r.status_code == 200, r.text
    card = r.json()["card"]
    assert card is not None
    return card  # type: ignore[no-any-return]


def test_the_server_masks_stored_secrets_an_agent_copies(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cp = open_control_plane(data_dir=home)
    try:
        cp.create_user(None, "olive", PASSWORD, Role.OWNER)
        owner = cp.session(cp.login("olive", PASSWORD)[1])
        assert owner is not None
        _info, secret = cp.create_token(owner, "claude", Role.AGENT)
        Executor(cp).set_secret(owner, "db_password", AT_START)  # type: ignore[attr-defined]
    finally:
        cp.close()  # type: ignore[attr-defined]
    agent = {"Authorization": f"Bearer {secret}"}
    server = Serve(home)
    try:
        r = httpx.post(f"{server.url}/api/v1/session", json={"name": "olive", "password": PASSWORD})
        owner_cookie = {"Cookie": f"opsgate_session={r.cookies['opsgate_session']}"}
        cards = [_propose(server.url, agent, AT_START)]
        r = httpx.put(f"{server.url}/api/v1/secrets/api_key", json={"value": VIA_API},
                      headers=owner_cookie)  # fmt: skip
        assert r.status_code == 204, r.text
        cards.append(_propose(server.url, agent, VIA_API))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
        env.update(OPSGATE_HOME=str(home), OPSGATE_PASSWORD=PASSWORD)
        done = subprocess.run([OPSGATE, "secrets", "set", "partner", "--user", "olive"],
                              input=VIA_CLI, env=env, capture_output=True, text=True,
                              timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        time.sleep(3.0)  # the server checks for secrets changed elsewhere every 2 s
        cards.append(_propose(server.url, agent, VIA_CLI))
        shown = [httpx.get(f"{server.url}/api/v1/cards/{c['id']}", headers=owner_cookie).text
                 for c in cards]  # fmt: skip
        audit = httpx.get(f"{server.url}/api/v1/audit", params={"limit": 200},
                          headers=owner_cookie).text  # fmt: skip
    finally:
        server.stop()
    with open_log(home, readonly=True) as log:
        stored = " ".join(e.body.decode() for e in log.entries())
    for value in (AT_START, VIA_API, VIA_CLI):
        for where, text in (("card", " ".join(shown)), ("audit API", audit), ("trail", stored)):
            assert value not in text, f"{value} in the {where}"
    assert "note=[REDACTED]" in stored and "the value I found is [REDACTED]" in stored
