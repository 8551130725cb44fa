"""In-process decision latency over the corpora (after import), without the audit write.

Every case is decided ``--rounds`` times after one warm-up pass; the figures are
per decision.  Cases with files on disk (``files``/``links``/``mode``: a script, a
Makefile, a package.json the command runs) are reported apart: their decisions
read and classify those files.  Run: ``python benchmarks/bench_decide.py [CORPUS…]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from _common import OWN, SHARED, load_cases, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from corpus_agents import CASES, PROJECT, case_setting  # noqa: E402

from opsgate.guard import evaluate  # noqa: E402
from opsgate.models import Action  # noqa: E402

_FIXTURE_KEYS = frozenset({"files", "links", "mode"})


def _action(case: dict[str, Any]) -> Action:
    default = str(CASES / case["id"]) if _FIXTURE_KEYS & case.keys() else PROJECT
    cwd = case.get("cwd", default)
    return Action("", case["tool"], case["input"], cwd=cwd, project_dir=cwd)


def _time(actions: list[Action], rounds: int) -> list[float]:
    for action in actions:  # warm-up: imports, grammar, family tables, sqlglot
        evaluate(action)
    samples = []
    for _ in range(rounds):
        for action in actions:
            t0 = time.perf_counter()
            evaluate(action)
            samples.append((time.perf_counter() - t0) * 1e6)
    return samples


def _report(label: str, us: list[float]) -> None:
    print(
        f"{label}: {len(us)} decisions\n"
        f"  p50 {percentile(us, 50):7.0f} us   p90 {percentile(us, 90):7.0f} us   "
        f"p99 {percentile(us, 99):7.0f} us   max {max(us):7.0f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="*", type=Path, help=f"default: {SHARED} and {OWN}")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = load_cases(args.corpus or None)
    plain = [c for c in cases if not _FIXTURE_KEYS & c.keys()]
    on_disk = [c for c in cases if _FIXTURE_KEYS & c.keys()]
    us = _time([_action(c) for c in plain], args.rounds)
    disk_us: list[float] = []
    for case in on_disk:
        # Each fixture is built (outside the timing) and decided on while it exists.
        with case_setting(case):
            disk_us += _time([_action(case)], args.rounds)
    print(f"in-process decision, {len(cases)} cases x {args.rounds} rounds")
    if us:
        _report("  cases without files on disk", us)
    if disk_us:
        _report(f"  cases with files on disk ({len(on_disk)})", disk_us)
    _report("  all cases", us + disk_us)


if __name__ == "__main__":
    main()
