"""PostgreSQL restarted under load: how long until every replica answers again.

    python benchmarks/bench_pg_restart.py [--replicas 3] [--outages 5] [--clients 6]

Three ``opsgate serve`` replicas share one throwaway PostgreSQL cluster (and one
audit signing key); agent clients send ``evaluate`` to all of them, half harmless
and half destructive, each with a unique marker.  Each outage is ``pg_ctl restart
-m immediate`` (a crash and recovery).  Per outage: seconds from the database
accepting connections again to each replica's first answered decision.  At the
end: answers by status, allows of destructive actions (must be 0), acknowledged
decisions missing from the audit trail (must be 0), and ``audit verify``.
Target (issue 16): every replica answers within 10 s of the database's return.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from bench_server import OPSGATE, ROOT, Server, bootstrap

sys.path.insert(0, str(ROOT / "tests"))


class Load:
    def __init__(self, urls: list[str], headers: dict[str, str], clients: int) -> None:
        self.answers: list[tuple[str, float, int, str | None, str, bool]] = []
        self._stop = threading.Event()
        self._ids = itertools.count()
        self._threads = [
            threading.Thread(target=self._run, args=(urls[i % len(urls)], headers), daemon=True)
            for i in range(clients)
        ]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _run(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
            while not self._stop.is_set():
                n = next(self._ids)
                marker, destructive = f"pgb{n:07d}x", n % 2 == 1
                command = (
                    f"kubectl --context staging delete namespace {marker}"
                    if destructive
                    else f"ls /srv/{marker}"
                )
                status, decision = 0, None
                try:
                    r = client.post(
                        "/api/v1/evaluate", json={"tool": "Bash", "input": {"command": command}}
                    )
                    status = r.status_code
                    decision = r.json().get("decision") if status == 200 else None
                except httpx.TransportError:
                    pass
                self.answers.append((url, time.monotonic(), status, decision, marker, destructive))
                if status != 200:
                    time.sleep(0.05)

    def first_answer(self, url: str, after: float) -> float | None:
        found = [t for u, t, s, *_ in self.answers if u == url and s == 200 and t >= after]
        return min(found) if found else None


def audited(url: str, key: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(OPSGATE_DATABASE_URL=url, OPSGATE_AUDIT_KEY=str(key), OPSGATE_HOME=str(home))
    out = subprocess.run([OPSGATE, "audit", "export", "--format", "jsonl"], env=env,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    found = {}
    for line in out.splitlines():
        doc = json.loads(line)
        command = str((doc.get("action") or {}).get("input", {}).get("command", ""))
        for word in command.replace("/", " ").split():
            if word.startswith("pgb") and doc.get("event") == "decision.made":
                found[word] = str(doc.get("decision"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--outages", type=int, default=5)
    parser.add_argument("--clients", type=int, default=6)
    ns = parser.parse_args()
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pg_cluster import missing_reason, pg_server

    reason = missing_reason()
    if reason:
        print(f"skipped: {reason}")
        return
    with pg_server(max_connections=200) as cluster, tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "audit-key.pem"
        key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))  # fmt: skip
        key.chmod(0o600)
        shared = {"OPSGATE_AUDIT_KEY": str(key)}  # every replica signs with it
        servers = [
            Server(Path(tmp) / f"r{i}", database_url=cluster.url, env=shared)
            for i in range(ns.replicas)
        ]
        try:
            first = next(sv for sv in servers if sv.password())
            _owner, agent = bootstrap(first)
            recoveries: list[float] = []
            with Load([sv.url for sv in servers], agent, ns.clients) as load:
                time.sleep(2)
                for n in range(ns.outages):
                    started = time.monotonic()
                    cluster.restart("immediate")
                    back = time.monotonic()
                    deadline = back + 30
                    while time.monotonic() < deadline:
                        firsts = [load.first_answer(sv.url, back) for sv in servers]
                        if all(firsts):
                            break
                        time.sleep(0.05)
                    times = [round(t - back, 2) if t else None for t in firsts]
                    recoveries += [t for t in times if t is not None]
                    print(f"outage {n + 1}: restart took {back - started:.2f} s; "
                          f"replicas answered again after {times} s")  # fmt: skip
                    time.sleep(2)
            statuses = Counter(a[2] for a in load.answers)
            allowed_destructive = sum(1 for a in load.answers if a[5] and a[3] == "allow")
            trail = audited(cluster.url, key, Path(tmp) / "v")
            lost = [a for a in load.answers if a[2] == 200 and trail.get(a[4]) != a[3]]
            verify = subprocess.run(
                [OPSGATE, "audit", "verify", "--key", str(key)],
                env={**{k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")},
                     "OPSGATE_DATABASE_URL": cluster.url, "OPSGATE_HOME": str(Path(tmp) / "v")},
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            worst = max(recoveries) if recoveries else float("nan")
            print(
                f"{ns.replicas} replicas, {ns.outages} restarts: worst recovery {worst:.2f} s "
                f"(target 10 s); answers {dict(sorted(statuses.items()))}; destructive "
                f"allowed {allowed_destructive}; acknowledged but not audited {len(lost)}; "
                f"verify: {verify.stdout.strip() or verify.stderr.strip()}"
            )
        finally:
            for sv in servers:
                sv.stop()


if __name__ == "__main__":
    main()
