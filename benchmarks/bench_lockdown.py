"""Lockdown under load on three real ``opsgate serve`` replicas sharing a throwaway
PostgreSQL cluster: how long from the lockdown's commit until every replica
refuses writes, and how long the button itself takes (the API route, and
``opsgate lockdown on`` as a process), over ``--rounds`` lock/lift cycles.

Load during each round: ``--clients`` agent threads per replica proposing new
writes, identical retries of approved cards (grants) and reads, plus an approver
approving whatever is pending.  Every round also counts violations: a write
allowed, a card made, or an approval granted for a request sent after the
button returned (must be 0).

    ../.venv/bin/python bench_lockdown.py [--rounds 5] [--clients 2] [--press api|cli|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lockdown_load import Cluster, Run, cluster, lockdown_under_load, press_api, press_cli  # noqa: E402
from pg_cluster import missing_reason, pg_cluster  # noqa: E402


def violations(run: Run) -> int:
    bad = 0
    for s in run.after_return():
        if s.kind in ("write", "retry") and (s.verdict != "deny" or s.card or s.grant):
            bad += 1
        if s.kind == "approve" and s.verdict == "approved":
            bad += 1
    return bad


def lift(c: Cluster) -> None:
    r = httpx.post(f"{c.urls[0]}/api/v1/lockdown/lift", json={"reason": "round over"},
                   headers=c.admin[0], timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=2, help="agent threads per replica")
    parser.add_argument("--press", choices=("api", "cli", "both"), default="both")
    ns = parser.parse_args()
    reason = missing_reason()
    if reason:
        sys.exit(f"bench_lockdown: {reason}")
    presses = {"api": [press_api], "cli": [press_cli], "both": [press_api, press_cli]}[ns.press]
    rows: dict[str, list[tuple[float, float, float, int, int]]] = {}
    with pg_cluster(max_connections=100) as url, cluster(url, Path(tempfile.mkdtemp())) as c:
        for i in range(ns.rounds):
            for press in presses:
                run = lockdown_under_load(c, per_replica=ns.clients, press=press)
                firsts = run.first_refusal()
                assert set(firsts) == {0, 1, 2}, firsts
                rows.setdefault(press.__name__, []).append((
                    max(firsts.values()), run.returned - run.pressed,
                    run.committed - run.pressed, len(run.after_return()), violations(run),
                ))  # fmt: skip
                lift(c)
                slowest = max(firsts.values()) * 1000
                print(f"round {i + 1} {press.__name__}: last replica refused {slowest:.0f} ms "
                      "after the commit", flush=True)  # fmt: skip
                time.sleep(0.5)
    print(f"\n3 replicas, PostgreSQL, {ns.clients} agent clients per replica + 1 approver")
    for name, found in rows.items():
        last = [r[0] * 1000 for r in found]
        took = [r[1] * 1000 for r in found]
        commit = [r[2] * 1000 for r in found]
        print(
            f"{name}: commit → last replica refuses p50 {percentile(last, 50):.0f} ms, "
            f"max {max(last):.0f} ms; press → commit p50 {percentile(commit, 50):.0f} ms; "
            f"press → return p50 {percentile(took, 50):.0f} ms, max {max(took):.0f} ms; "
            f"{sum(r[3] for r in found)} answers after the return, "
            f"{sum(r[4] for r in found)} violations"
        )


if __name__ == "__main__":
    main()
