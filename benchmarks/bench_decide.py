"""In-process decision latency over the corpora (after import), without the audit write.

Every case is decided ``--rounds`` times after one warm-up pass; the figures are
per decision.  Run: ``python benchmarks/bench_decide.py``.
"""

from __future__ import annotations

import argparse
import time

from _common import load_cases, percentile

from opsgate.guard import evaluate
from opsgate.models import Action


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = load_cases()
    actions = [
        Action("", c["tool"], c["input"], cwd=c.get("cwd", "/home/dev/project"),
               project_dir=c.get("cwd", "/home/dev/project"))
        for c in cases
    ]  # fmt: skip
    for action in actions:  # warm-up: imports, grammar, family tables, sqlglot
        evaluate(action)
    samples: list[float] = []
    for _ in range(args.rounds):
        for action in actions:
            t0 = time.perf_counter()
            evaluate(action)
            samples.append(time.perf_counter() - t0)
    us = [s * 1e6 for s in samples]
    print(f"in-process decision, {len(actions)} cases x {args.rounds} rounds = {len(us)} decisions")
    print(
        f"  p50 {percentile(us, 50):7.0f} us   p90 {percentile(us, 90):7.0f} us   "
        f"p99 {percentile(us, 99):7.0f} us   max {max(us):7.0f} us"
    )


if __name__ == "__main__":
    main()
