"""Scale-out: three real ``opsgate serve`` processes sharing one real PostgreSQL
cluster (started by the test) behave as one control plane.

Through HTTP, against different replicas: people and tokens made on one work on
all; a card proposed on A is pending on B and C; approve on B racing deny on C
gives exactly one outcome, seen identically everywhere; the identical retry on C
consumes the grant once; consumption racing from A, B and C succeeds once; each
notification is delivered once although all three replicas poll the outbox; and
``opsgate audit verify`` finds one intact chain, contiguous sequence numbers,
holding every replica's entries.

The audit signing key: each replica has its own ``OPSGATE_HOME``, but all three
point ``OPSGATE_AUDIT_KEY`` at one shared key file (as a deployment mounts one
secret into every replica), so every signed checkpoint in the shared chain
verifies against one key.  Separate keys would also verify (each checkpoint names
its key id), but then ``audit verify`` needs every replica's public key.

Skips (with the reason) where the PostgreSQL server binaries are missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import OPSGATE, free_port, postgres_or_skip
from servers import owner_password as first_owner_password

BUDGET = 60.0  # seconds, the whole scale-out scenario including start-up

pytestmark = pytest.mark.postgres


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(extra)
    return env


class Replica:
    """One ``opsgate serve`` process on its own free 127.0.0.1 port."""

    def __init__(self, home: Path, name: str = "replica", **env: str) -> None:
        self.name = name
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            # The data directory from OPSGATE_HOME (its signing key), the state from
            # OPSGATE_DATABASE_URL: an explicit --data-dir would mean SQLite there.
            [OPSGATE, "serve", "--port", str(self.port), "--create",
             "--log-level", "warning", "--expire-interval", "1"],
            env=clean_env(OPSGATE_HOME=str(home), **env),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_ready(self, timeout: float = 30.0) -> Replica:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"{self.name} exited: {''.join(self.lines)}"
            assert time.monotonic() < deadline, f"{self.name} did not start: {self.lines}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)

    def owner_password(self) -> str | None:
        return first_owner_password(self.home)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()


class Receiver:
    """Records every webhook POST (with its delivery id)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.seen: list[tuple[str, dict[str, Any]]] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with lock:
                    outer.seen.append(
                        (self.headers.get("X-Opsgate-Delivery", ""), json.loads(body))
                    )
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 15.0) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while len(self.seen) < count:
            assert time.monotonic() < deadline, f"got {len(self.seen)} of {count} deliveries"
            time.sleep(0.05)
        return list(self.seen)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def login(url: str, name: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/session", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return {"Cookie": f"opsgate_session={r.cookies['opsgate_session']}"}


def bash(command: str) -> dict[str, Any]:
    return {"tool": "Bash", "input": {"command": command}}


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_or_skip(max_connections=100) as url:
        yield url


def test_three_replicas_behave_as_one(database_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    key = tmp_path / "shared" / "audit-signing-key.pem"
    receiver = Receiver()
    env = {
        "OPSGATE_DATABASE_URL": database_url,
        "OPSGATE_AUDIT_KEY": str(key),
        "OPSGATE_WEBHOOK_URL": receiver.url,
        "OPSGATE_WEBHOOK_SECRET": "scale-out signing secret",
        "OPSGATE_PUBLIC_URL": "https://opsgate.example.test",  # the load balancer's address
    }
    replicas: list[Replica] = []
    try:
        # A first: it migrates the schema and creates the owner; B and C start together.
        a = Replica(tmp_path / "a", "A", **env).wait_ready()
        replicas.append(a)
        b, c = Replica(tmp_path / "b", "B", **env), Replica(tmp_path / "c", "C", **env)
        replicas += [b, c]
        b.wait_ready()
        c.wait_ready()
        time.sleep(0.1)
        password = a.owner_password()
        assert password, "".join(a.lines)
        assert b.owner_password() is None and c.owner_password() is None  # one owner, once

        # People and tokens made on one replica work on every replica.
        owner_a = login(a.url, "owner", password)
        for name, via in (("ada", a), ("bob", b)):
            r = httpx.post(
                f"{via.url}/api/v1/users",
                headers=login(via.url, "owner", password),
                json={"name": name, "password": f"{name} password!", "role": "admin"},
            )
            assert r.status_code == 201, r.text
        # A session made on A is good on C: sessions live in the shared database.
        token = httpx.post(f"{c.url}/api/v1/tokens", headers=owner_a, json={"name": "claude"})
        assert token.status_code == 201, token.text
        agent = {"Authorization": f"Bearer {token.json()['secret']}"}
        ada_b = login(b.url, "ada", "ada password!")
        bob_c = login(c.url, "bob", "bob password!")
        ada_a = login(a.url, "ada", "ada password!")
        for replica in replicas:
            r = httpx.get(f"{replica.url}/api/v1/users", headers=ada_a)
            assert sorted(u["name"] for u in r.json()) == ["ada", "bob", "owner"]

        # Propose on A; pending on B and C.
        proposed = httpx.post(
            f"{a.url}/api/v1/propose",
            json=bash("kubectl --context staging delete namespace scale"),
            headers=agent,
        ).json()["card"]
        for replica in (b, c):
            got = httpx.get(f"{replica.url}/api/v1/cards/{proposed['id']}", headers=ada_a)
            assert got.status_code == 200 and got.json()["state"] == "pending"

        # Approve on B racing deny on C: exactly one outcome, identical on all three.
        def decide(card: dict[str, Any], approve_on: Replica, deny_on: Replica) -> list[int]:
            def approve() -> httpx.Response:
                return httpx.post(
                    f"{approve_on.url}/api/v1/cards/{card['id']}/approve",
                    headers=ada_b
                    if approve_on is b
                    else login(approve_on.url, "ada", "ada password!"),
                    json={"confirmation": card.get("confirm")},
                    timeout=30,
                )

            def deny() -> httpx.Response:
                return httpx.post(
                    f"{deny_on.url}/api/v1/cards/{card['id']}/deny",
                    headers=bob_c if deny_on is c else login(deny_on.url, "bob", "bob password!"),
                    json={"reason": "race"},
                    timeout=30,
                )

            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [pool.submit(approve), pool.submit(deny)]
                responses = [f.result() for f in futures]
            for r in responses:
                assert r.status_code in (200, 409), r.text
            return sorted(r.status_code for r in responses)

        races = [proposed]
        for i in range(11):
            races.append(
                httpx.post(
                    f"{replicas[i % 3].url}/api/v1/propose",
                    json=bash(f"kubectl --context staging delete namespace race-{i}"),
                    headers=agent,
                ).json()["card"]
            )
        for card in races:
            assert decide(card, b, c) == [200, 409]
        for card in races:
            views = [
                httpx.get(f"{r.url}/api/v1/cards/{card['id']}", headers=ada_a).json()
                for r in replicas
            ]
            assert views[0]["state"] in ("approved", "denied")
            assert views[0] == views[1] == views[2]

        # Grants: approved on B; the identical retry on C consumes it, once.
        action = bash("kubectl --context staging rollout restart deploy/api")
        card = httpx.post(f"{a.url}/api/v1/propose", json=action, headers=agent).json()["card"]
        r = httpx.post(f"{b.url}/api/v1/cards/{card['id']}/approve", headers=ada_b, json={})
        assert r.status_code == 200 and r.json()["state"] == "approved", r.text
        retry = httpx.post(f"{c.url}/api/v1/propose", json=action, headers=agent).json()
        assert retry["grant"] is not None and retry["grant"]["card_id"] == card["id"]
        assert retry["card"] is None
        again = httpx.post(f"{a.url}/api/v1/propose", json=action, headers=agent).json()
        assert again["grant"] is None and again["card"] is not None  # used up: a new card

        # Grant consumption racing from A, B and C: exactly one succeeds.
        for i in range(5):
            action = bash(f"kubectl --context staging rollout restart deploy/grant-{i}")
            card = httpx.post(f"{c.url}/api/v1/propose", json=action, headers=agent).json()
            card = card["card"]
            r = httpx.post(f"{a.url}/api/v1/cards/{card['id']}/approve", headers=ada_a, json={})
            assert r.status_code == 200, r.text

            def consume(replica: Replica, body: dict[str, Any] = action) -> bool:
                r = httpx.post(
                    f"{replica.url}/api/v1/grants/consume", json=body, headers=agent, timeout=30
                )
                assert r.status_code == 200, r.text
                return bool(r.json()["matched"])

            with ThreadPoolExecutor(max_workers=3) as pool:
                outcomes = list(pool.map(consume, replicas))
            assert outcomes.count(True) == 1, outcomes

        # Every card event notified once, although all three replicas poll the outbox.
        card_events = [
            e
            # (each grant.used is a card.used notification: the card says its retry ran)
            for name in ("card.created", "card.approved", "card.denied", "grant.used")
            for e in httpx.get(
                f"{b.url}/api/v1/audit", params={"event": name, "limit": 200}, headers=ada_b
            ).json()["items"]
        ]
        seen = receiver.wait(len(card_events))
        time.sleep(0.5)  # a duplicate would show up by now
        seen = list(receiver.seen)
        delivery_ids = [d for d, _ in seen]
        assert len(seen) == len(card_events)
        assert len(set(delivery_ids)) == len(delivery_ids)
        assert sorted((p["event"], p["card"]["id"]) for _, p in seen) == sorted(
            (e["event"].replace("grant.used", "card.used"), e["result"]["card"])
            for e in card_events
        )
    finally:
        for replica in replicas:
            replica.stop()
        receiver.close()

    # One intact chain in the database, contiguous, with every replica's work in it.
    verify_env = clean_env(
        OPSGATE_DATABASE_URL=database_url,
        OPSGATE_AUDIT_KEY=str(key),
        OPSGATE_HOME=str(tmp_path / "verifier"),
    )
    verify = subprocess.run(
        [OPSGATE, "audit", "verify"], env=verify_env, capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    listed = subprocess.run(
        [OPSGATE, "audit", "--json"], env=verify_env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [e["seq"] for e in entries] == list(range(entries[0]["seq"], len(entries) + 1))
    assert entries[0]["seq"] in (0, 1)
    names = {e["event"] for e in entries}
    assert {"card.created", "card.approved", "card.denied", "grant.used"} <= names
    # Work done on each replica is in the one chain: users made on A and B, the token on
    # C, cards decided on B (approve) and on C (deny).
    changes = [e.get("result") or {} for e in entries]
    assert {"ada", "bob"} <= {r.get("name") for r in changes if r.get("change") == "user.created"}
    assert any(r.get("change") == "token.created" for r in changes)
    assert time.monotonic() - started < BUDGET, "the scale-out scenario is over its budget"
