"""Audit trail benchmarks: durable append latency and throughput, the hook's
cost (import + open + one append in a fresh process), and verify throughput.

    python benchmarks/bench_audit.py [--verify-entries N] [--postgres URL]

Each figure is printed as one line; nothing is written outside a temp dir.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opsgate.audit import EventType, open_log
from opsgate.audit.chain import genesis, link_hash
from opsgate.audit.verify import verify

ACTION = {
    "kind": "shell.exec",
    "tool": "Bash",
    "input": {"command": "kubectl -n web get pods -o wide"},
}
CHILD = (
    "import sys, pathlib\n"
    "from opsgate.audit import open_log\n"
    "log = open_log(pathlib.Path(sys.argv[1]), database_url=sys.argv[3] or None)\n"
    "for i in range(int(sys.argv[2])):\n"
    "    log.append('decision.made', actor={'type': 'agent', 'name': 'bench'},\n"
    "               action={'kind': 'shell.exec', 'input': {'i': i}})\n"
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def latency(root: Path) -> None:
    log = open_log(root / "lat")
    log.append(EventType.DECISION_MADE, action=ACTION)  # first append signs a checkpoint
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        log.append(
            EventType.DECISION_MADE,
            actor={"type": "agent", "name": "bench"},
            action=ACTION,
            decision="allow",
        )
        times.append(time.perf_counter() - t)
    log.close()
    print(
        f"sqlite append latency (durable, 1 writer): p50 {pct(times, 0.5):.3f} ms  "
        f"p99 {pct(times, 0.99):.3f} ms"
    )
    print(f"sqlite throughput, 1 writer: {len(times) / sum(times):,.0f} entries/s")


def threads(root: Path, n: int = 8, each: int = 1000) -> None:
    log = open_log(root / "threads")
    log.append(EventType.DECISION_MADE, action=ACTION)

    def work() -> None:
        for _ in range(each):
            log.append(EventType.DECISION_MADE, action=ACTION)

    pool = [threading.Thread(target=work) for _ in range(n)]
    t = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - t
    log.close()
    print(f"sqlite throughput, {n} threads (group commit): {n * each / elapsed:,.0f} entries/s")


def processes(root: Path, url: str = "", n: int = 4, each: int = 1000) -> float:
    """``n`` processes append ``each`` entries to one log; entries/s, incl. process start.
    The chain is verified afterwards: exactly one warm-up + n × each decisions."""
    name = "postgres" if url else "sqlite"
    home = root / f"p-{name}-{n}"
    env = {**os.environ, "OPSGATE_AUDIT_CHECKPOINT_EVERY": "1000"}
    subprocess.run([sys.executable, "-c", CHILD, str(home), "1", url], env=env, check=True)
    t = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(home), str(each), url], env=env)
        for _ in range(n)
    ]
    assert all(p.wait() == 0 for p in procs)
    elapsed = time.perf_counter() - t
    rate = n * each / elapsed
    print(
        f"{name} throughput, {n} process(es) x {each}: {rate:,.0f} entries/s "
        "(durable, incl. process start)"
    )
    with open_log(home, database_url=url or None) as log:
        report = verify(
            log.log_id, log.store.rows(), [("s", b) for b in log.store.checkpoint_bodies()], None
        )
        decisions = sum(1 for _, body, _ in log.store.rows() if b'"event":"decision.made"' in body)
    assert report.ok, report.summary()
    assert decisions == n * each + 1, decisions
    print(f"  chain verified: {report.entries:,} entries, one chain, no gaps")
    return rate


def postgres(root: Path, url: str, each: int) -> None:
    """PostgreSQL with 1 and 4 appending processes, each on a fresh database of
    ``url``'s server.  Without a URL, a throwaway cluster is started when the server
    binaries exist (tests/pg_cluster.py, shared with the integration tests)."""
    if not url:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from pg_cluster import missing_reason, pg_cluster

        reason = missing_reason()
        if reason:
            print(f"postgres: skipped — {reason}")
            return
        with pg_cluster() as started:
            postgres(root, started, each)
        return
    import psycopg

    for n in (1, 4):
        name = f"opsgate_bench_{n}_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}".encode())
        try:
            processes(root, url.rsplit("/", 1)[0] + f"/{name}", n=n, each=each)
        finally:
            with psycopg.connect(url, autocommit=True) as con:
                con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def hook_process(root: Path, runs: int = 30) -> None:
    """What the Claude Code hook pays: start, import, open, one durable append."""
    code = (
        "import pathlib, sys\nfrom opsgate.audit import open_log\n"
        "open_log(pathlib.Path(sys.argv[1])).append('decision.made', actor={'type': 'agent'},"
        " action={'kind': 'shell.exec'})"
    )
    subprocess.run([sys.executable, "-c", code, str(root / "hook")], check=True)

    def timed(args: list[str]) -> float:
        t = time.perf_counter()
        subprocess.run(args, check=True)
        return time.perf_counter() - t

    base = [timed([sys.executable, "-c", "pass"]) for _ in range(runs)]
    hook = [timed([sys.executable, "-c", code, str(root / "hook")]) for _ in range(runs)]
    print(
        f"hook-like process: python -c pass p50 {pct(base, 0.5):.1f} ms; "
        f"+ import/open/append p50 {pct(hook, 0.5):.1f} ms p99 {pct(hook, 0.99):.1f} ms "
        f"(audit share p50 {pct(hook, 0.5) - pct(base, 0.5):.1f} ms)"
    )


def verify_rate(entries: int) -> None:
    """Verify over synthetic rows built with the real chain (writing a million
    entries through SQLite first would dominate the run)."""
    log_id = "bench"
    prev, rows = genesis(log_id), []
    template = (
        b'{"action":{"input":{"command":"kubectl -n web get pods -o wide"},'
        b'"kind":"shell.exec"},"event":"decision.made","seq":%d}'
    )
    for seq in range(1, entries + 1):
        body = template % seq
        prev = link_hash(prev, seq, body)
        rows.append((seq, body, prev))
    t = time.perf_counter()
    report = verify(log_id, rows, (), None)
    elapsed = time.perf_counter() - t
    assert report.ok
    print(
        f"verify: {entries:,} entries in {elapsed:.2f} s "
        f"({entries / elapsed:,.0f} entries/s, in memory)"
    )


def verify_sqlite(root: Path, entries: int) -> None:
    log = open_log(root / "verify")
    for _ in range(entries // 1000):
        for _ in range(1000):
            log.append(
                EventType.DECISION_MADE,
                actor={"type": "agent", "name": "bench"},
                action=ACTION,
                decision="allow",
            )
    t = time.perf_counter()
    report = verify(
        log.log_id, log.store.rows(), [("s", b) for b in log.store.checkpoint_bodies()], None
    )
    elapsed = time.perf_counter() - t
    log.close()
    assert report.ok
    print(
        f"verify from SQLite: {report.entries:,} entries in {elapsed:.3f} s "
        f"({report.entries / elapsed:,.0f} entries/s)"
    )


def verify_file(root: Path, entries: int) -> None:
    """`opsgate audit verify` end to end (a fresh process: start, open, read, check)
    over a real SQLite log file of ``entries`` entries plus a signed checkpoint.

    The fixture is built fast (chained with the real chain code, inserted in large
    transactions without fsync); the verification is the real CLI reading the file."""
    import sqlite3

    home = root / "verify-file"
    with open_log(home) as log:  # schema, identity and signing key as in production
        log_id = log.log_id
    db = sqlite3.connect(home / "audit.db", isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    template = (
        b'{"action":{"input":{"command":"kubectl -n web get pods -o wide"},"kind":"shell.exec",'
        b'"tool":"Bash"},"actor":{"name":"claude-code","session":"s-%d","type":"agent"},'
        b'"approver":null,"classification":{"category":"read","risk":"low"},'
        b'"decision":"allow","environment":"prod","event":"decision.made","evidence":[],'
        b'"result":null,"rule":"read-only","schema":1,"seq":%d,'
        b'"target":"k8s:prod/web","time":"2025-01-01T00:00:00.000000Z"}'
    )
    t = time.perf_counter()
    prev = genesis(log_id)
    for start in range(1, entries + 1, 100_000):
        rows = []
        for seq in range(start, min(entries, start + 99_999) + 1):
            body = template % (seq % 97, seq)
            prev = link_hash(prev, seq, body)
            rows.append((seq, body, prev))
        db.execute("BEGIN")
        db.executemany("INSERT INTO audit_entries VALUES (?, ?, ?)", rows)
        db.execute("COMMIT")
    db.close()
    with open_log(home) as log:
        log.checkpoint()  # real path: signs the head, appends checkpoint.created
    built = time.perf_counter() - t
    size = (home / "audit.db").stat().st_size
    opsgate = Path(sys.executable).with_name("opsgate")
    key = str(home / "audit-signing-key.pem")
    cmd = [str(opsgate), "audit", "verify", "--db", str(home / "audit.db"), "--key", key]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t
    assert done.returncode == 0, done.stdout + done.stderr
    print(
        f"verify from file: `opsgate audit verify --db FILE` over {entries + 1:,} entries "
        f"({size / 1e6:,.0f} MB) in {elapsed:.2f} s end to end, "
        f"{(entries + 1) / elapsed:,.0f} entries/s (fixture built in {built:.1f} s)"
    )
    print(f"  {done.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verify-entries", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("OPSGATE_DATABASE_URL", ""),
        help="a server to use (default: start a throwaway cluster if binaries exist)",
    )
    parser.add_argument("--pg-entries", type=int, default=2000, help="entries per process")
    parser.add_argument(
        "--only", choices=["sqlite", "postgres", "verify"], help="run one group only"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.only in (None, "sqlite"):
            latency(root)
            threads(root)
            processes(root)
            hook_process(root)
        if args.only in (None, "postgres"):
            postgres(root, args.postgres, args.pg_entries)
        if args.only in (None, "verify"):
            verify_sqlite(root, 10_000)
            verify_rate(args.verify_entries)
            verify_file(root, args.verify_entries)


if __name__ == "__main__":
    main()
