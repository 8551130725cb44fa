"""Replicas survive their database: three real ``opsgate serve`` processes on one
real PostgreSQL cluster, under load from agent clients, while the database is
restarted (``pg_ctl restart -m immediate``: a crash and recovery) and then stopped
for a few seconds and started again.

What must hold: during an outage a decision is answered 503, never an allow that
was not recorded; every replica answers decisions again within ``RECOVERY``
seconds of the database's return, by itself; ``/readyz`` reports the outage and
the return; every acknowledged decision is in the audit trail; and ``opsgate audit
verify`` finds one intact chain signed with the replicas' shared key.

Skips (with the reason) where the PostgreSQL server binaries are missing.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_server_scaleout import Replica, clean_env

from pg_cluster import Cluster, missing_reason, pg_server
from servers import OPSGATE
from servers import owner_password as first_owner_password

RECOVERY = 10.0  # seconds from the database's return to every replica answering
CLIENTS_PER_REPLICA = 2

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Answer:
    replica: str
    sent: float
    done: float
    status: int  # 0: no HTTP answer (connection error, timeout)
    decision: str | None
    marker: str
    destructive: bool


class Load:
    """Agent clients sending ``evaluate`` to every replica until stopped; each
    request carries a unique marker in its command, to find it in the audit."""

    def __init__(self, replicas: list[Replica], token: str) -> None:
        self.replicas = replicas
        self.token = token
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._ids = itertools.count()
        self._threads = [
            threading.Thread(target=self._client, args=(r,), daemon=True)
            for r in replicas
            for _ in range(CLIENTS_PER_REPLICA)
        ]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _client(self, replica: Replica) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=replica.url, headers=headers, timeout=5) as client:
            while not self._stop.is_set():
                n = next(self._ids)
                marker = f"pgr{n:06d}x"
                destructive = n % 2 == 1
                command = (
                    f"kubectl --context staging delete namespace {marker}"
                    if destructive
                    else f"ls /srv/{marker}"
                )
                sent = time.monotonic()
                status, decision = 0, None
                try:
                    r = client.post(
                        "/api/v1/evaluate", json={"tool": "Bash", "input": {"command": command}}
                    )
                    status = r.status_code
                    if status == 200:
                        decision = r.json()["decision"]
                except httpx.TransportError:
                    pass
                self.answers.append(
                    Answer(replica.name, sent, time.monotonic(), status, decision, marker,
                           destructive)
                )  # fmt: skip
                if status != 200:
                    time.sleep(0.05)  # a refused client retries soon, not in a tight loop

    def first_success_after(self, replica: str, moment: float) -> float | None:
        done = [
            a.done
            for a in self.answers
            if a.replica == replica and a.status == 200 and a.sent >= moment
        ]
        return min(done) if done else None


class ReadyWatch:
    """Polls each replica's ``/readyz`` every 100 ms: (time, status) per replica."""

    def __init__(self, replicas: list[Replica]) -> None:
        self.replicas = replicas
        self.seen: dict[str, list[tuple[float, int]]] = {r.name: [] for r in replicas}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _poll(self) -> None:
        with httpx.Client(timeout=3) as client:
            while not self._stop.is_set():
                for r in self.replicas:
                    try:
                        status = client.get(f"{r.url}/readyz").status_code
                    except httpx.TransportError:
                        status = 0
                    self.seen[r.name].append((time.monotonic(), status))
                time.sleep(0.1)

    def statuses(self, replica: str, start: float, end: float) -> list[int]:
        return [s for t, s in self.seen[replica] if start <= t <= end]


def _shared_key(path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with pg_server(max_connections=100) as server:
        yield server


def _agent_token(replica: Replica) -> str:
    password = first_owner_password(replica.home)
    assert password, "".join(replica.lines)
    with httpx.Client(base_url=replica.url, timeout=10) as client:
        r = client.post("/api/v1/session", json={"name": "owner", "password": password})
        assert r.status_code == 200, r.text
        made = client.post("/api/v1/tokens", json={"name": "load", "role": "agent"})
        assert made.status_code == 201, made.text
        return str(made.json()["secret"])


def _audited_markers(url: str, key: Path, home: Path) -> dict[str, str]:
    env = clean_env(OPSGATE_DATABASE_URL=url, OPSGATE_AUDIT_KEY=str(key), OPSGATE_HOME=str(home))
    out = subprocess.run(
        [OPSGATE, "audit", "export", "--format", "jsonl"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    found: dict[str, str] = {}
    for line in out.stdout.splitlines():
        doc = json.loads(line)
        if doc.get("event") != "decision.made":
            continue
        command = str((doc.get("action") or {}).get("input", {}).get("command", ""))
        for word in command.replace("/", " ").split():
            if word.startswith("pgr"):
                found[word] = str(doc.get("decision"))
    return found


def _recovered(load: Load, watch: ReadyWatch, names: list[str], back: float) -> dict[str, float]:
    """Seconds from ``back`` to each replica's first decision and first ready answer."""
    deadline = back + RECOVERY + 5
    while time.monotonic() < deadline:
        firsts = {n: load.first_success_after(n, back) for n in names}
        ready = {
            n: next((t for t, s in watch.seen[n] if t >= back and s == 200), None) for n in names
        }
        if all(firsts.values()) and all(ready.values()):
            break
        time.sleep(0.1)
    late = {n: t for n, t in firsts.items() if t is None or t - back > RECOVERY}
    assert not late, f"replicas not answering {RECOVERY} s after the database returned: {late}"
    assert all(ready.values()), f"/readyz not 200 again: {ready}"
    return {n: round(t - back, 2) for n, t in firsts.items() if t is not None}


def test_replicas_recover_from_a_database_restart(cluster: Cluster, tmp_path: Path) -> None:
    key = _shared_key(tmp_path / "audit-signing-key.pem")
    env = {"OPSGATE_DATABASE_URL": cluster.url, "OPSGATE_AUDIT_KEY": str(key)}
    replicas = [Replica(tmp_path / name, name, **env) for name in ("a", "b", "c")]
    try:
        for r in replicas:
            r.wait_ready()
        names = [r.name for r in replicas]
        token = _agent_token(next(r for r in replicas if first_owner_password(r.home)))
        with Load(replicas, token) as load, ReadyWatch(replicas) as watch:
            time.sleep(2)  # load flowing
            crash = time.monotonic()
            cluster.restart("immediate")  # returns once PostgreSQL accepts connections
            back = time.monotonic()
            after_restart = _recovered(load, watch, names, back)

            cluster.stop("immediate")
            down = time.monotonic()
            time.sleep(3)
            up = time.monotonic()
            cluster.start()
            back2 = time.monotonic()
            after_stop = _recovered(load, watch, names, back2)
            time.sleep(1)
        print(f"\nrecovery after restart -m immediate: {after_restart} s "
              f"(restart took {back - crash:.2f} s); after a 3 s stop: {after_stop} s")  # fmt: skip

        statuses = {a.status for a in load.answers}
        assert statuses <= {200, 503}, f"unexpected answers: {statuses}"
        outage = [a for a in load.answers if down <= a.sent and a.done <= up]
        assert outage and all(a.status == 503 for a in outage), "a decision passed while down"
        for name in names:
            assert 503 in watch.statuses(name, down + 1.5, up), f"{name}: /readyz missed the outage"
        assert not [a for a in load.answers if a.destructive and a.decision == "allow"]

        acknowledged = [a for a in load.answers if a.status == 200]
        audited = _audited_markers(cluster.url, key, tmp_path / "verifier")
        lost = [a.marker for a in acknowledged if audited.get(a.marker) != a.decision]
        assert not lost, f"{len(lost)} acknowledged decisions missing from the audit: {lost[:5]}"
        assert len(acknowledged) > 50

        verify = subprocess.run(
            [OPSGATE, "audit", "verify", "--key", str(key)],
            env=clean_env(OPSGATE_DATABASE_URL=cluster.url, OPSGATE_HOME=str(tmp_path / "v")),
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "intact" in verify.stdout
    finally:
        for r in replicas:
            r.stop()
    assert os.path.exists(key)


def test_replicas_with_their_own_keys_are_told_and_verify_names_the_keys(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The documented story is one shared key.  A replica started with another key
    than the log's newest checkpoint says so at start-up, and ``audit verify``
    trusting one key names the other (an intact log, two signers)."""
    env = {"OPSGATE_DATABASE_URL": cluster.url}
    a = Replica(tmp_path / "a", "a", **env).wait_ready()
    try:
        token = _agent_token(a)
        r = httpx.post(
            f"{a.url}/api/v1/evaluate",
            json={"tool": "Bash", "input": {"command": "ls"}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200  # the log's first entry: checkpointed by a's key
        b = Replica(tmp_path / "b", "b", **env).wait_ready()
        b.stop()
    finally:
        a.stop()
    warning = "".join(b.lines)
    assert "newest checkpoint" in warning and "OPSGATE_AUDIT_KEY" in warning, warning
    # b signs a checkpoint of its own (as it would after its next thousand entries).
    subprocess.run([OPSGATE, "audit", "checkpoint"], env=clean_env(**env, OPSGATE_HOME=str(b.home)),
                   capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    verifier = clean_env(**env, OPSGATE_HOME=str(tmp_path / "v"))
    verify = [OPSGATE, "audit", "verify", "--key", str(tmp_path / "a" / "audit-signing-key.pem")]
    only_a = subprocess.run(verify, env=verifier, capture_output=True, text=True, timeout=60,
                            check=False)  # fmt: skip
    assert only_a.returncode == 8, only_a.stdout + only_a.stderr
    assert "pass each public key you trust with --key" in only_a.stderr
    both = [*verify, "--key", str(tmp_path / "b" / "audit-signing-key.pem")]
    ok = subprocess.run(both, env=verifier, capture_output=True, text=True, timeout=60,
                        check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
