"""Lockdown under load on real replicas: the scenario shared by
``tests/integration/test_lockdown_scaleout.py`` (asserts) and
``benchmarks/bench_lockdown.py`` (repeats and reports).

Replicas are real ``opsgate serve`` processes sharing one PostgreSQL database.
Agent clients keep proposing on every replica — new writes (each would get a
card), identical retries of approved cards (each would ride its grant) and reads —
while an approver keeps approving pending cards.  ``opsgate lockdown on`` runs as
a real process; from its return on, every answer is recorded with its replica and
its send and answer times (wall clock, comparable with the audit trail's).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from servers import OPSGATE, Serve

__all__ = ["PASSWORD", "Cluster", "Run", "Sample", "cluster", "lockdown_under_load"]

PASSWORD = "correct horse battery staple"
STAGING = "kubectl --context staging"


@dataclass(frozen=True, slots=True)
class Sample:
    """One answer: which replica, what was asked, when (wall clock), what came back."""

    replica: int
    kind: str  # write | retry | read | approve
    sent: float
    answered: float
    status: int
    verdict: str  # allow / deny / require_approval; for approve: approved / refused
    decided_by: str = ""
    card: bool = False
    grant: bool = False


@dataclass
class Cluster:
    urls: list[str]
    env: dict[str, str]
    agent: dict[str, str]
    admin: list[dict[str, str]]  # a session per replica
    home: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
        env.update(self.env, OPSGATE_HOME=str(self.home / "cli"), OPSGATE_PASSWORD=PASSWORD)
        return subprocess.run([OPSGATE, *args], capture_output=True, text=True, env=env,
                              timeout=120, check=False)  # fmt: skip


@contextmanager
def cluster(database_url: str, root: Path, replicas: int = 3) -> Iterator[Cluster]:
    """People and an agent token made in the database first (so no replica makes an
    owner), then the replicas, each with its own data directory and a shared key."""
    from opsgate.approvals.control import open_control_plane
    from opsgate.approvals.model import Role

    env = {"OPSGATE_DATABASE_URL": database_url,
           "OPSGATE_AUDIT_KEY": str(root / "shared" / "audit-signing-key.pem")}  # fmt: skip
    (root / "shared").mkdir(parents=True, exist_ok=True)
    # Its data directory holds the shared key: any checkpoint it signs verifies.
    control = open_control_plane(root / "shared", database_url)
    try:
        control.create_user(None, "olive", PASSWORD, Role.OWNER)
        owner = control.session(control.login("olive", PASSWORD)[1])
        assert owner is not None
        control.create_user(owner, "ada", PASSWORD, Role.ADMIN)
        _info, secret = control.create_token(owner, "claude", Role.AGENT)
    finally:
        control.close()  # type: ignore[attr-defined]
    started: list[Serve] = []
    try:
        for i in range(replicas):
            started.append(Serve(root / f"replica-{i}", env=env))
        urls = [s.url for s in started]
        admin = [_login(url, "ada") for url in urls]
        yield Cluster(urls, env, {"Authorization": f"Bearer {secret}"}, admin, root)
    finally:
        for server in started:
            server.stop()


def _login(url: str, name: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/session", json={"name": name, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Cookie": f"opsgate_session={r.cookies['opsgate_session']}"}


def _bash(command: str) -> dict[str, Any]:
    return {"tool": "Bash", "input": {"command": command}, "cwd": "/srv/app"}


@dataclass
class Run:
    """What one lockdown under load saw."""

    pressed: float  # the command was started (wall clock)
    returned: float  # … and returned
    committed: float  # the time of its ``lockdown.started`` audit entry
    samples: list[Sample] = field(default_factory=list)
    approved_cards: list[str] = field(default_factory=list)  # their grants, made before

    def after_return(self) -> list[Sample]:
        return [s for s in self.samples if s.sent >= self.returned]

    def first_refusal(self) -> dict[int, float]:
        """Per replica: seconds from the lockdown's commit to its first answer that
        refused a write because of it."""
        out: dict[int, float] = {}
        for s in sorted(self.samples, key=lambda s: s.answered):
            if s.decided_by == "lockdown" and s.replica not in out:
                out[s.replica] = s.answered - self.committed
        return out


class _Load:
    """Client threads, ``per_replica`` on each replica, plus one approver."""

    def __init__(self, c: Cluster, per_replica: int, retries: list[str]) -> None:
        self.c = c
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self.retries = list(retries)
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.threads = [
            threading.Thread(target=self._agent, args=(r,), daemon=True)
            for r in range(len(c.urls))
            for _ in range(per_replica)
        ]
        self.threads.append(threading.Thread(target=self._approver, daemon=True))

    def __enter__(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def _record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def _agent(self, replica: int) -> None:
        url = self.c.urls[replica]
        with httpx.Client(base_url=url, headers=self.c.agent, timeout=30) as client:
            while not self.stop.is_set():
                n = next(self.counter)
                for kind, command in self._mix(n):
                    self._propose(client, replica, kind, command)

    def _mix(self, n: int) -> list[tuple[str, str]]:
        mix = [("write", f"{STAGING} rollout restart deploy/load-{n}"),
               ("read", f"{STAGING} get pods")]  # fmt: skip
        if self.retries:
            mix.append(("retry", self.retries[n % len(self.retries)]))
        return mix

    def _propose(self, client: httpx.Client, replica: int, kind: str, command: str) -> None:
        sent = time.time()
        r = client.post("/api/v1/propose", json=_bash(command))
        answered = time.time()
        body = r.json() if r.status_code == 200 else {}
        decision = body.get("decision") or {}
        self._record(Sample(replica, kind, sent, answered, r.status_code,
                            decision.get("decision", ""), decision.get("decided_by", ""),
                            bool(body.get("card")), bool(body.get("grant"))))  # fmt: skip

    def _approver(self) -> None:
        """Keeps approving whatever is pending, round robin over the replicas."""
        clients = [httpx.Client(base_url=u, headers=h, timeout=30)
                   for u, h in zip(self.c.urls, self.c.admin, strict=True)]  # fmt: skip
        try:
            for replica in itertools.cycle(range(len(clients))):
                if self.stop.is_set():
                    return
                client = clients[replica]
                listed = client.get("/api/v1/cards", params={"state": "pending", "limit": 5})
                for card in listed.json().get("items", []) if listed.status_code == 200 else []:
                    sent = time.time()
                    r = client.post(f"/api/v1/cards/{card['id']}/approve", json={})
                    verdict = "approved" if r.status_code == 200 else "refused"
                    self._record(Sample(replica, "approve", sent, time.time(), r.status_code,
                                        verdict))  # fmt: skip
        finally:
            for client in clients:
                client.close()


def _approved(c: Cluster, count: int) -> list[str]:
    """``count`` approved write commands: the identical retry of each rides a grant."""
    commands = []
    with httpx.Client(base_url=c.urls[0], timeout=30) as client:
        for i in range(count):
            command = f"{STAGING} scale deploy/granted-{i} --replicas 2"
            r = client.post("/api/v1/propose", json=_bash(command), headers=c.agent)
            card = r.json()["card"]
            assert card is not None, r.text
            ok = client.post(f"/api/v1/cards/{card['id']}/approve", json={}, headers=c.admin[0])
            assert ok.status_code == 200, ok.text
            commands.append(command)
    return commands


def _committed(c: Cluster) -> float:
    """The time of the newest ``lockdown.started`` entry: made in the lockdown's first
    transaction, just before it commits."""
    from datetime import datetime

    r = httpx.get(f"{c.urls[-1]}/api/v1/audit", params={"event": "lockdown.started", "limit": 1},
                  headers=c.admin[-1], timeout=30)  # fmt: skip
    items = r.json()["items"]
    assert items, r.text
    return datetime.fromisoformat(items[0]["time"].replace("Z", "+00:00")).timestamp()


def press_cli(c: Cluster) -> None:
    done = c.cli("lockdown", "on", "--user", "ada", "--reason", "load test incident")
    assert done.returncode == 0, done.stderr


def press_api(c: Cluster) -> None:
    r = httpx.post(f"{c.urls[0]}/api/v1/lockdown", json={"reason": "load test incident"},
                   headers=c.admin[0], timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text


def lockdown_under_load(
    c: Cluster,
    *,
    per_replica: int = 2,
    warm: float = 1.0,
    after: float = 1.5,
    grants: int = 20,
    press: Callable[[Cluster], None] = press_cli,
) -> Run:
    """Load for ``warm`` seconds, press the button (``opsgate lockdown on`` as a real
    process, or ``press_api``), load for ``after`` more seconds; the lockdown stays
    on when this returns."""
    retries = _approved(c, grants)
    with _Load(c, per_replica, retries) as load:
        time.sleep(warm)
        pressed = time.time()
        press(c)
        returned = time.time()
        time.sleep(after)
    run = Run(pressed, returned, _committed(c), samples=list(load.samples))
    run.approved_cards = retries
    return run
