"""Governed execution benchmark.

1. Exactly once under crashes and races: ``--trials`` approved cards (default
   200), each sent to two executor processes at once; every ``--crash-every``-th
   trial one of them is killed with SIGKILL a random moment after it got the
   card, restarted, and the recovery sweep runs.  Every card's operation appends
   the card id to a file; a double execution is a card id found twice.  On
   SQLite, and on PostgreSQL when the server binaries exist.
2. Overhead around an SSH operation with approval already granted: the time of
   ``Executor.run(card)`` (atomic claim + audit, secret decryption, redaction,
   rollback record, result + audit) minus the bare asyncssh connect-and-run of the
   same command, against a real sshd on loopback (``--ssh-runs``, default 50).

    python benchmarks/bench_execute.py [--trials 200] [--ssh-runs 50] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _common import percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
WORKER = ROOT / "tests" / "execute_worker.py"
LEASE = 0.3

from execute_env import org  # noqa: E402
from opsgate.environments import InventoryTarget  # noqa: E402
from opsgate.models import Environment  # noqa: E402


class Worker:
    def __init__(self, home: Path, url: str | None) -> None:
        env = {k: v for k, v in os.environ.items() if k != "OPSGATE_DATABASE_URL"}
        if url:
            env["OPSGATE_DATABASE_URL"] = url
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(home), str(LEASE), "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def send(self, card: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(card + "\n")
        self.proc.stdin.flush()

    def answer(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def trials(n: int, crash_every: int, url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home, out = Path(tmp) / "home", Path(tmp) / "ran.txt"
        out.touch()
        with org(home, url, local_runner=True) as o:
            local = (("runner", "local"),)
            box = InventoryTarget("box", "server", Environment.STAGING, connection=local)
            o.cp.put_target(o.owner, box)
            cards = []
            for i in range(n):
                # A crash trial's run sleeps a second, so the kill lands mid-run.
                crash = bool(crash_every) and i % crash_every == crash_every - 1
                params = {"file": str(out), "line": f"t{i}", "sleep": 1 if crash else 0}
                card = o.ex.propose_operation(o.agent, "test.append", "box", params).card
                assert card is not None
                o.cp.approve(o.admin, card.id, None)
                cards.append(card.id)
            workers = [Worker(home, url), Worker(home, url)]
            crashes = interrupted = 0
            started = time.perf_counter()
            for i, card in enumerate(cards):
                for w in workers:
                    w.send(card)
                if crash_every and i % crash_every == crash_every - 1:
                    victim = random.randrange(2)
                    time.sleep(random.uniform(0.05, 0.5))
                    workers[victim].kill()
                    workers[1 - victim].answer()
                    workers[victim] = Worker(home, url)
                    time.sleep(LEASE + 0.05)
                    interrupted += len(o.ex.recover(stale_after=LEASE))
                    crashes += 1
                else:
                    for w in workers:
                        w.answer()
            elapsed = time.perf_counter() - started
            for w in workers:
                w.close()
            states = Counter(o.cp.get_card(o.admin, c).state.value for c in cards)
        lines = Counter(out.read_text().split())
    return {
        "trials": n,
        "crashes": crashes,
        "interrupted": interrupted,
        "double_executions": sum(1 for v in lines.values() if v > 1),
        "executed": len(lines),
        "states": dict(states),
        "seconds": round(elapsed, 1),
    }


async def ssh_overhead(runs: int) -> dict[str, float]:
    import asyncssh

    from sshd_server import sshd

    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        server = stack.enter_context(sshd())
        o = stack.enter_context(org(Path(tmp) / "home"))
        o.ex.set_secret(o.admin, "op_key", server.op_key)
        o.ex.set_secret(o.admin, "bk_key", server.bk_key)
        o.cp.put_target(o.owner, InventoryTarget("web-staging", "server", Environment.STAGING,
                                                 connection=server.connection()))  # fmt: skip
        key = asyncssh.import_private_key(server.op_key)
        known = asyncssh.import_known_hosts(f"[127.0.0.1]:{server.port} {server.host_key}\n")

        async def bare() -> float:
            t0 = time.perf_counter()
            async with asyncssh.connect("127.0.0.1", port=server.port, username=server.op_user,
                                        client_keys=[key], known_hosts=known, agent_path=None,
                                        config=None) as conn:  # fmt: skip
                done = await conn.run(command, check=True)
                assert done.exit_status == 0
            return time.perf_counter() - t0

        bench = server.root / "bench.txt"

        def approved() -> str:  # a write with one SSH step, approved before timing
            params = {"file": str(bench), "line": "x"}
            card = o.ex.propose_operation(o.agent, "test.append", "web-staging", params).card
            assert card is not None
            o.cp.approve(o.admin, card.id, None)
            return card.id

        bench.touch(mode=0o666)
        bench.chmod(0o666)
        script = 'echo "$2" >> "$1"; sleep "$3"'
        command = shlex.join(["sh", "-c", script, "sh", str(bench), "x", "0"])
        for _ in range(3):  # warm up both paths
            await bare()
            await o.ex.run(approved())
        bare_times, og_times = [], []
        for _ in range(runs):
            bare_times.append(await bare())
            card = approved()
            t0 = time.perf_counter()
            result = await o.ex.run(card)
            og_times.append(time.perf_counter() - t0)
            assert result is not None and result.status == "completed", result
    over = [a - b for a, b in zip(og_times, bare_times, strict=True)]
    ms = 1000
    return {
        "runs": runs,
        "bare_p50_ms": round(percentile(bare_times, 50) * ms, 1),
        "opsgate_p50_ms": round(percentile(og_times, 50) * ms, 1),
        "overhead_p50_ms": round((percentile(og_times, 50) - percentile(bare_times, 50)) * ms, 1),
        "overhead_pairwise_p50_ms": round(percentile(over, 50) * ms, 1),
        "overhead_pairwise_p95_ms": round(percentile(over, 95) * ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--crash-every", type=int, default=3)
    parser.add_argument("--ssh-runs", type=int, default=50)
    parser.add_argument("--no-postgres", action="store_true")
    ns = parser.parse_args()
    print("exactly once, SQLite:", trials(ns.trials, ns.crash_every, None), flush=True)
    from pg_cluster import missing_reason, pg_cluster

    if not ns.no_postgres and missing_reason() is None:
        with pg_cluster() as url:
            print("exactly once, PostgreSQL:", trials(ns.trials, ns.crash_every, url), flush=True)
    if ns.ssh_runs:
        print("SSH overhead:", asyncio.run(ssh_overhead(ns.ssh_runs)), flush=True)


if __name__ == "__main__":
    main()
