"""In-process decision latency over the corpora (after import), without the audit write.

Every case is decided ``--rounds`` times after one warm-up pass; the figures are
per decision (wall time; ``--cpu``: the process's CPU time, steadier on a machine
shared with other work).  Cases with files on disk (``files``/``links``/``mode``: a script, a
Makefile, a package.json the command runs) are reported apart: their decisions
read and classify those files.  The environment is given as a mapping, as the hook's
resident service gives it with every request (``--os-environ``: read from the process
environment key by key, as ``opsgate check`` does, which costs some 15-30 us more per
decision).  Run: ``python benchmarks/bench_decide.py [CORPUS…]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from _common import OWN, SHARED, load_cases, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from corpus_agents import CASES, PROJECT, case_setting, ensure_project
from opsgate.guard import evaluate
from opsgate.models import Action

_FIXTURE_KEYS = frozenset({"files", "links", "mode"})


def _action(case: dict[str, Any]) -> Action:
    default = str(CASES / case["id"]) if _FIXTURE_KEYS & case.keys() else PROJECT
    cwd = case.get("cwd", default)
    return Action("", case["tool"], case["input"], cwd=cwd, project_dir=cwd)


_CLOCK = [time.perf_counter]
_OS_ENVIRON = [False]


def _time(actions: list[Action], rounds: int) -> list[float]:
    clock = _CLOCK[0]
    # The resident service's per-request mapping; None: the process environment.
    environ = None if _OS_ENVIRON[0] else dict(os.environ)
    for action in actions:  # warm-up: imports, grammar, family tables, sqlglot
        evaluate(action, environ=environ)
    samples = []
    for _ in range(rounds):
        for action in actions:
            t0 = clock()
            evaluate(action, environ=environ)
            samples.append((clock() - t0) * 1e6)
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
    parser.add_argument("--cpu", action="store_true", help="measure CPU time, not wall time")
    parser.add_argument(
        "--os-environ", action="store_true",
        help="read the environment from the process (as opsgate check), not a mapping",
    )  # fmt: skip
    parser.add_argument(
        "--command", action="append", default=[], metavar="CMD",
        help="time this one Bash command instead of the corpora (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.cpu:
        _CLOCK[0] = time.process_time
    _OS_ENVIRON[0] = args.os_environ
    if args.command:
        for command in args.command:
            action = Action("", "Bash", {"command": command}, cwd=PROJECT, project_dir=PROJECT)
            us = _time([action] * 100, args.rounds)
            print(f"{percentile(us, 50):7.0f} us p50  {percentile(us, 99):7.0f} us p99  {command}")
        return
    ensure_project()  # the cases' working directory: a git project on a feature branch
    cases = load_cases(args.corpus or None)
    plain = [c for c in cases if not _FIXTURE_KEYS & c.keys()]
    on_disk = [c for c in cases if _FIXTURE_KEYS & c.keys()]
    us = _time([_action(c) for c in plain], args.rounds)
    disk_us: list[float] = []
    for case in on_disk:
        # Each fixture is built (outside the timing) and decided on while it exists.
        with case_setting(case):
            disk_us += _time([_action(case)], args.rounds)
    clock = "CPU time" if args.cpu else "wall time"
    print(f"in-process decision ({clock}), {len(cases)} cases x {args.rounds} rounds")
    if us:
        _report("  cases without files on disk", us)
    if disk_us:
        _report(f"  cases with files on disk ({len(on_disk)})", disk_us)
    _report("  all cases", us + disk_us)


if __name__ == "__main__":
    main()
