"""Shared helpers for the benchmarks: corpus loading and percentiles."""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus" / "agent-actions.jsonl"
OWN = ROOT / "tests" / "corpus"


def load_cases(paths: list[Path] | None = None) -> list[dict]:
    cases: list[dict] = []
    for path in paths or [SHARED, OWN]:
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            if file.exists():
                lines = file.read_text().splitlines()
                # `//` lines are a corpus file's notes, not cases.
                cases += [json.loads(x) for x in lines if x.strip() and not x.startswith("//")]
    return cases


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def payload(case: dict) -> bytes:
    return json.dumps({
        "session_id": "bench", "transcript_path": "/tmp/bench.jsonl",
        "cwd": case.get("cwd", "/home/dev/project"), "permission_mode": "default",
        "hook_event_name": "PreToolUse", "tool_name": case["tool"], "tool_input": case["input"],
        "tool_use_id": "toolu_bench",
    }).encode()  # fmt: skip
