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


def processes(root: Path, url: str = "", n: int = 4, each: int = 1000) -> None:
    name = "postgres" if url else "sqlite"
    env = {**os.environ, "OPSGATE_AUDIT_CHECKPOINT_EVERY": "1000"}
    warm = subprocess.run(
        [sys.executable, "-c", CHILD, str(root / f"p-{name}"), "1", url], env=env, check=True
    )
    del warm
    t = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root / f"p-{name}"), str(each), url], env=env
        )
        for _ in range(n)
    ]
    assert all(p.wait() == 0 for p in procs)
    elapsed = time.perf_counter() - t
    print(
        f"{name} throughput, {n} processes x {each}: {n * each / elapsed:,.0f} entries/s "
        "(incl. process start)"
    )


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verify-entries", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("OPSGATE_DATABASE_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        latency(root)
        threads(root)
        processes(root)
        if args.postgres:
            processes(root, args.postgres)
        hook_process(root)
        verify_sqlite(root, 10_000)
        verify_rate(args.verify_entries)


if __name__ == "__main__":
    main()
