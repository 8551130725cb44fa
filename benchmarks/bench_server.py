"""HTTP API benchmark: evaluate and propose throughput and latency, 32 concurrent
clients, against real ``opsgate serve`` processes (SQLite; PostgreSQL with 1 and
3 replicas when the server binaries are installed).  Every decision the service
makes is durably audited before the response is sent.

    python benchmarks/bench_server.py [--seconds 5] [--clients 32] [--no-postgres]
                                      [--load auto|wrk|httpx]
    python benchmarks/bench_server.py --races 1000    # + approve/deny and grant races
    python benchmarks/bench_server.py --races 1000 --seconds 0   # the races only
    python benchmarks/bench_server.py --only postgres --replicas 1   # one setup

With wrk, each figure is followed by what a request cost: the servers' CPU time
(all replicas, from ``/proc``), and on PostgreSQL the database's CPU time and its
commits per request — on this shared 2-core machine the rate moves with whatever
else runs, the cost per request much less.

The load comes from ``wrk`` (``benchmarks/wrk/*.lua``) when it is installed
(``apt-get install wrk``): a C client, so the figures are the server's.  Without it
the Python httpx client is used, which needs about a core of its own on this
2-core machine and so understates the server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from _common import percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
OPSGATE = str(Path(sys.executable).parent / "opsgate")

READS = ["ls -la", "git status", "kubectl --context staging get pods", "cat README.md"]
WRITES = [
    "kubectl --context staging rollout restart deploy/api-{n}",
    "kubectl --context staging delete namespace ns-{n}",
    "psql -h db.staging.internal -c 'DELETE FROM sessions WHERE id = {n}'",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(
        self, home: Path, database_url: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = env
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
        env["OPSGATE_HOME"] = str(home)
        if database_url:
            env["OPSGATE_DATABASE_URL"] = database_url
        env.update(extra or {})
        self.proc = subprocess.Popen(
            # OPSGATE_HOME and OPSGATE_DATABASE_URL from the environment: an explicit
            # --data-dir would mean SQLite there.
            [OPSGATE, "serve", "--port", str(self.port), "--create", "--log-level", "warning"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.out: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"opsgate serve did not start: {''.join(self.out)}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)

    def password(self) -> str | None:
        time.sleep(0.1)
        path = self.home / "initial-owner-password"  # serve writes it there, not to stdout
        return path.read_text().strip() if path.exists() else None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def bootstrap(server: Server) -> tuple[dict[str, str], dict[str, str]]:
    """(owner session headers, agent token headers)."""
    password = server.password()
    assert password, "no owner password printed"
    r = httpx.post(f"{server.url}/api/v1/session", json={"name": "owner", "password": password})
    owner = {"Cookie": f"opsgate_session={r.cookies['opsgate_session']}"}
    token = httpx.post(f"{server.url}/api/v1/tokens", headers=owner, json={"name": "bench"})
    return owner, {"Authorization": f"Bearer {token.json()['secret']}"}


async def load(urls: list[str], headers: dict[str, str], route: str, clients: int,
               seconds: float) -> tuple[int, list[float], int]:  # fmt: skip
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client(i: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=urls[i % len(urls)], headers=headers,
                                     timeout=30) as c:  # fmt: skip
            while time.perf_counter() < stop:
                n = next(counter)
                command = READS[n % 4] if n % 2 else WRITES[n % 3].format(n=n)
                body = {"tool": "Bash", "input": {"command": command}, "cwd": "/tmp/project"}
                t0 = time.perf_counter()
                r = await c.post(route, json=body)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    return len(latencies), latencies, errors


def report(label: str, route: str, done: int, lat: list[float], errors: int, secs: float) -> None:
    ms = [x * 1000 for x in lat]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    print(f"{label:<22} {route:<9} {done / secs:8.0f} decisions/s  p50 {p50:6.1f} ms"
          f"  p99 {p99:6.1f} ms  max {max(ms):7.1f} ms  errors {errors}")  # fmt: skip


def run(label: str, urls: list[str], agent: dict[str, str], ns: argparse.Namespace,
        cost: Cost | None = None) -> None:  # fmt: skip
    if ns.seconds <= 0:
        return
    for route in ("evaluate", "propose"):
        if ns.load == "wrk":
            token = agent["Authorization"].removeprefix("Bearer ")
            wrk_load(urls, token, route, ns.clients, 1.0)  # warm-up
            before = cost.sample() if cost is not None else None
            reports = wrk_load(urls, token, route, ns.clients, ns.seconds)
            wrk_report(label, route, reports)
            if cost is not None and before is not None:
                cost.report(before, sum(_wrk_count(r) for r in reports))
            continue
        asyncio.run(load(urls, agent, f"/api/v1/{route}", ns.clients, 1.0))  # warm-up
        done, lat, errors = asyncio.run(load(urls, agent, f"/api/v1/{route}", ns.clients,
                                             ns.seconds))  # fmt: skip
        report(label, route, done, lat, errors, ns.seconds)


WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_load(urls: list[str], token: str, route: str, clients: int, seconds: float) -> list[str]:
    """One ``wrk`` per replica, the clients shared out between them, all at once;
    each one's report."""
    share = [clients // len(urls) + (i < clients % len(urls)) for i in range(len(urls))]
    script = str(WRK_SCRIPTS / f"{route}.lua")
    duration = f"-d{max(1, round(seconds))}s"
    env = {**os.environ, "TOKEN": token}
    procs = [
        subprocess.Popen(
            ["wrk", "-t1", f"-c{n}", duration, "--latency", "-s", script, f"{url}/api/v1/{route}"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for url, n in zip(urls, share, strict=True)
        if n > 0
    ]
    return [proc.communicate()[0] for proc in procs]


def _wrk_figure(report: str, pattern: str) -> re.Match[str]:
    found = re.search(pattern, report, re.MULTILINE)
    if found is None:
        raise SystemExit(f"unexpected wrk output (no {pattern!r}):\n{report}")
    return found


def _wrk_ms(report: str, pct: int) -> float:
    found = _wrk_figure(report, rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _wrk_errors(report: str) -> int:
    """Non-2xx answers plus socket errors (connect, read, write, timeout)."""
    errors = 0
    for line in report.splitlines():
        if "Non-2xx" in line or "Socket errors" in line:
            errors += sum(int(n) for n in re.findall(r"\d+", line.partition(":")[2]))
    return errors


def _wrk_count(report: str) -> int:
    return int(_wrk_figure(report, r"(\d+) requests in").group(1))


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` so far (processes gone count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Cost:
    """What a request costs: the servers' CPU, and on PostgreSQL the database's CPU
    and its commits (``pg_stat_database``), per request over one wrk run."""

    def __init__(self, servers: list[Server], cluster: Any = None) -> None:
        self.servers = servers
        self.cluster = cluster

    def _pg(self) -> tuple[list[int], int]:
        if self.cluster is None:
            return [], 0
        import psycopg

        with psycopg.connect(self.cluster.url, autocommit=True) as db:
            pids = [r[0] for r in db.execute("SELECT pid FROM pg_stat_activity")]
            row = db.execute("SELECT xact_commit FROM pg_stat_database "
                             "WHERE datname = current_database()").fetchone()  # fmt: skip
        postmaster = int((self.cluster.data / "postmaster.pid").read_text().split()[0])
        return [postmaster, *pids], int(row[0]) if row else 0

    def sample(self) -> tuple[float, float, int, list[int]]:
        pg_pids, commits = self._pg()
        return _cpu_seconds([s.proc.pid for s in self.servers]), _cpu_seconds(pg_pids), \
            commits, pg_pids  # fmt: skip

    def report(self, before: tuple[float, float, int, list[int]], requests: int) -> None:
        server, pg, commits, pids = before
        after_pids, after_commits = self._pg()
        pids = sorted(set(pids) | set(after_pids))
        server_ms = (_cpu_seconds([s.proc.pid for s in self.servers]) - server) * 1000
        line = f"{'':<22} cost      server CPU {server_ms / max(requests, 1):.2f} ms/request"
        if self.cluster is not None:
            pg_ms = (_cpu_seconds(pids) - pg) * 1000
            per = max(requests, 1)
            line += (f", PostgreSQL CPU {pg_ms / per:.2f} ms/request, "
                     f"{(after_commits - commits) / per:.2f} commits/request")  # fmt: skip
        print(line + f"  (load average {os.getloadavg()[0]:.2f})")


def wrk_report(label: str, route: str, reports: list[str]) -> None:
    """Decisions/s summed over the replicas; each percentile the worst replica's."""
    rate = sum(float(_wrk_figure(r, r"Requests/sec:\s+([\d.]+)").group(1)) for r in reports)
    errors = sum(_wrk_errors(r) for r in reports)
    p50, p90, p99 = (max(_wrk_ms(r, pct) for r in reports) for pct in (50, 90, 99))
    print(
        f"{label:<22} {route:<9} {rate:8.0f} decisions/s  p50 {p50:6.1f} ms"
        f"  p90 {p90:6.1f} ms  p99 {p99:6.1f} ms  errors {errors}  (wrk)"
    )


def races(label: str, urls: list[str], owner: dict[str, str], agent: dict[str, str],
          count: int) -> None:  # fmt: skip
    """``count`` approve/deny races (approve and deny sent at once, to different
    replicas when there are several), then ``count`` grant-consumption races (one
    approved action consumed at once from every replica, three consumers when there
    is one).  A round passes when exactly one contender wins and the card's final
    state (or the grant) agrees with the winner."""
    admin_pw = "bench admin password"
    httpx.post(f"{urls[0]}/api/v1/users", headers=owner,
               json={"name": "ada", "password": admin_pw, "role": "admin"})  # fmt: skip
    r = httpx.post(f"{urls[-1]}/api/v1/session", json={"name": "ada", "password": admin_pw})
    admin = {"Cookie": f"opsgate_session={r.cookies['opsgate_session']}"}
    consumers = urls if len(urls) > 1 else urls * 3

    def restart(name: str) -> dict[str, Any]:
        return {"tool": "Bash", "input": {"command": f"kubectl --context staging rollout "
                                                     f"restart deploy/{name}"}}  # fmt: skip

    tag = os.urandom(3).hex()

    async def main() -> tuple[int, int, int, float, float]:
        clients = [httpx.AsyncClient(base_url=u, timeout=60) for u in urls]
        sem = asyncio.Semaphore(32)
        decided_ok = grant_ok = server_errors = 0

        def at(n: int) -> httpx.AsyncClient:
            return clients[n % len(clients)]

        async def decide(n: int) -> None:
            nonlocal decided_ok, server_errors
            async with sem:
                body = restart(f"r{tag}-{n}")
                card = (await at(n).post("/api/v1/propose", json=body, headers=agent)).json()
                cid = card["card"]["id"]
                a, d = await asyncio.gather(
                    at(n + 1).post(f"/api/v1/cards/{cid}/approve", json={}, headers=admin),
                    at(n + 2).post(f"/api/v1/cards/{cid}/deny", json={"reason": "r"},
                                   headers=owner),
                )  # fmt: skip
                server_errors += (a.status_code >= 500) + (d.status_code >= 500)
                final = (await at(n).get(f"/api/v1/cards/{cid}", headers=owner)).json()
                winner = "approved" if a.status_code == 200 else "denied"
                if sorted((a.status_code, d.status_code)) == [200, 409] and \
                        final["state"] == winner:  # fmt: skip
                    decided_ok += 1

        async def consume(n: int) -> None:
            nonlocal grant_ok, server_errors
            async with sem:
                body = restart(f"g{tag}-{n}")
                card = (await at(n).post("/api/v1/propose", json=body, headers=agent)).json()
                cid = card["card"]["id"]
                r = await at(n + 1).post(f"/api/v1/cards/{cid}/approve", json={}, headers=admin)
                assert r.status_code == 200, r.text
                answers = await asyncio.gather(*(
                    clients[urls.index(u)].post("/api/v1/grants/consume", json=body,
                                                headers=agent)
                    for u in consumers
                ))  # fmt: skip
                server_errors += sum(x.status_code >= 500 for x in answers)
                if sum(bool(x.status_code == 200 and x.json()["matched"]) for x in answers) == 1:
                    grant_ok += 1

        try:
            t0 = time.perf_counter()
            await asyncio.gather(*(decide(n) for n in range(count)))
            t1 = time.perf_counter()
            await asyncio.gather(*(consume(n) for n in range(count)))
            t2 = time.perf_counter()
        finally:
            for c in clients:
                await c.aclose()
        return decided_ok, grant_ok, server_errors, t1 - t0, t2 - t1

    decided_ok, grant_ok, errors, t_decide, t_grant = asyncio.run(main())
    print(f"{label:<22} approve/deny races: {decided_ok}/{count} with exactly one outcome "
          f"({t_decide:.1f} s)")  # fmt: skip
    print(f"{label:<22} grant races ({len(consumers)} consumers): {grant_ok}/{count} consumed "
          f"exactly once ({t_grant:.1f} s); 5xx: {errors}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None,
                        help="measure one store only")  # fmt: skip
    parser.add_argument(
        "--replicas",
        type=int,
        action="append",
        default=None,
        help="PostgreSQL replica counts (repeatable; default 1 and 3)",
    )
    parser.add_argument("--races", type=int, default=0, help="also run N approve/deny races")
    parser.add_argument("--load", choices=("auto", "wrk", "httpx"), default="auto",
                        help="load generator (auto: wrk when installed)")  # fmt: skip
    ns = parser.parse_args()
    if ns.load == "auto":
        ns.load = "wrk" if shutil.which("wrk") else "httpx"
        if ns.load == "httpx" and ns.seconds > 0:
            print("wrk is not installed (apt-get install wrk): using the Python client, "
                  "which takes a core of its own and understates the server")  # fmt: skip
    elif ns.load == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--load wrk: wrk is not installed (apt-get install wrk)")
    print(f"opsgate HTTP API, {ns.clients} concurrent clients, {ns.seconds:.0f} s per figure; "
          "half reads, half writes (each write creates a card); all audited")  # fmt: skip
    if ns.only != "postgres":
        sqlite(ns)
    if ns.no_postgres or ns.only == "sqlite":
        return
    postgres(ns)


def sqlite(ns: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "sqlite")
        try:
            owner, agent = bootstrap(server)
            run("sqlite, 1 process", [server.url], agent, ns, Cost([server]))
            if ns.races:
                races("sqlite, 1 process", [server.url], owner, agent, ns.races)
        finally:
            server.stop()


def postgres(ns: argparse.Namespace) -> None:
    from pg_cluster import missing_reason, pg_server

    reason = missing_reason()
    if reason:
        print(f"postgresql: skipped ({reason})")
        return
    counts = ns.replicas or ((1, 3) if ns.seconds > 0 else (3,))
    for replicas in counts:
        with pg_server(max_connections=200) as cluster, tempfile.TemporaryDirectory() as tmp, \
                ExitStack() as stack:  # fmt: skip
            servers = []
            for i in range(replicas):
                s = Server(Path(tmp) / f"r{i}", database_url=cluster.url)
                stack.callback(s.stop)
                servers.append(s)
            owner, agent = bootstrap(servers[0])
            label = f"postgresql, {replicas} replica{'s' * (replicas > 1)}"
            run(label, [s.url for s in servers], agent, ns, Cost(servers, cluster))
            if ns.races and replicas == 3:
                races(label, [s.url for s in servers], owner, agent, ns.races)


if __name__ == "__main__":
    main()
