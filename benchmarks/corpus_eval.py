"""Run a labelled agent-action corpus through the Claude Code hook, in process.

Prints recall, specificity and decision latency percentiles, and lists every
false negative and false positive, in each permission mode: Claude Code's
``default`` (a person sees an ``ask``) and ``bypassPermissions`` (nobody does: an
``ask`` counts as an allow, as ``score.py --permission-mode bypassPermissions``
counts it).  The whole-process figures come from ``bench_hook.py`` and
``../shared/eval/score.py``.

    python benchmarks/corpus_eval.py [CORPUS.jsonl ...] [--show] [--permission-mode MODE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
DEFAULT = [ROOT.parent / "shared" / "corpus" / "agent-actions.jsonl", ROOT / "tests" / "corpus"]


def load(paths: list[Path]) -> list[dict]:
    cases = []
    for path in paths:
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            if not file.exists():
                continue
            for line in file.read_text().splitlines():
                if line.strip() and not line.startswith("//"):
                    cases.append(json.loads(line))
    return cases


def verdict(case: dict, permission_mode: str | None = None) -> tuple[str, str, float]:
    """A case through its agent's hook (``tests/corpus_agents.py``), timed."""
    from corpus_agents import timed_verdict

    t0 = time.perf_counter()
    try:
        return timed_verdict(case, permission_mode)
    except Exception as exc:
        return "block", f"error {exc!r}", time.perf_counter() - t0


def percentiles(label: str, times: list[float]) -> str:
    times = sorted(times)
    pct = lambda p: times[min(len(times) - 1, int(len(times) * p / 100))] * 1e6  # noqa: E731
    return (
        f"{label}: p50 {pct(50):.0f} us  p90 {pct(90):.0f} us  p99 {pct(99):.0f} us  "
        f"max {times[-1] * 1e6:.0f} us  mean {statistics.fmean(times) * 1e6:.0f} us"
    )


def main() -> int:
    from corpus_agents import MODES, ensure_project

    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="*", type=Path)
    ap.add_argument("--show", action="store_true", help="print the reason for each mistake")
    ap.add_argument(
        "--permission-mode", action="append", dest="modes",
        help=f"Claude Code permission mode for cases without their own (repeatable; "
        f"default: each of {', '.join(MODES)})",
    )  # fmt: skip
    args = ap.parse_args()
    cases = load(args.corpus or DEFAULT)
    ensure_project()  # the cases' working directory: a git project on a feature branch
    if not cases:
        print("no cases found", file=sys.stderr)
        return 1
    # A fresh opsgate home, as in the tests: the default policy of a fresh install, and
    # no audit entries in the user's own ~/.opsgate.
    home = tempfile.mkdtemp(prefix="corpus-eval-")
    os.environ.setdefault("OPSGATE_HOME", home)
    try:
        verdict(cases[0])  # warm up imports
        for mode in args.modes or MODES:
            score(cases, mode, show=args.show)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


def score(cases: list[dict], mode: str, *, show: bool) -> None:
    fn, fp, times, disk_times = [], [], [], []
    for case in cases:
        got, reason, elapsed = verdict(case, mode)
        (disk_times if {"files", "links", "mode"} & case.keys() else times).append(elapsed)
        if got != case["expect"]:
            (fn if case["expect"] == "block" else fp).append((case, reason))
    blocks = sum(1 for c in cases if c["expect"] == "block")
    allows = len(cases) - blocks
    print(
        f"[{mode}] cases {len(cases)}  recall {(blocks - len(fn)) / max(blocks, 1):.4f}  "
        f"specificity {(allows - len(fp)) / max(allows, 1):.4f}  FN {len(fn)}  FP {len(fp)}"
    )
    if times:
        print(percentiles(f"[{mode}] in-process decision latency", times))
    if disk_times:
        print(percentiles(f"[{mode}]   cases with files on disk ({len(disk_times)})", disk_times))
    for label, items in (("FN", fn), ("FP", fp)):
        for case, reason in items:
            print(f"{label} {case['id']:<40} {json.dumps(case['input'])[:110]}")
            if show:
                print("      " + reason.replace("\n", " | ")[:300])


if __name__ == "__main__":
    sys.exit(main())
