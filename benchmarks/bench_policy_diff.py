"""``opsgate policy diff`` over a large audit trail: wall time of the real command.

Builds an audit database of ``--entries`` ``decision.made`` entries (the hook's
own document shape), drawn from ``--distinct`` distinct actions: every corpus
case, and then Read/Edit/Bash actions on distinct paths until the count is
reached.  Cost grows with the distinct actions (each is classified once and
decided under both policies) far more than with the entries.  Then runs
``opsgate policy diff OLD NEW --json`` as a process and prints its wall time.

Run: ``python benchmarks/bench_policy_diff.py [--entries 100000] [--distinct 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import load_cases

from opsgate.audit import EventType, open_log
from opsgate.guard import evaluate
from opsgate.hooks._audit import record_decision
from opsgate.models import Action
from opsgate.policy.loader import parse_policy

OLD = """version: 1
settings: {production_protection: true}
rules:
  - {id: no-push-main, action: git.push, resource: main, effect: deny, reason: not main}
  - {id: preview-ok, action: shell.exec, resource: "vercel --env preview*", effect: allow}
"""
NEW = """version: 1
settings: {production_protection: false}
rules:
  - {id: no-rm, action: shell.exec, resource: "rm *", effect: deny}
  - {id: no-kubectl-delete, action: shell.exec, resource: "kubectl delete*", effect: deny}
"""
CWD = "/home/dev/project"


def actions(distinct: int) -> list[Action]:
    out = [
        Action("", c["tool"], c["input"], cwd=c.get("cwd", CWD),
               project_dir=c.get("cwd", CWD), agent="claude")
        for c in load_cases()
    ]  # fmt: skip
    i = 0
    while len(out) < distinct:
        shapes = (
            ("Read", {"file_path": f"{CWD}/src/module_{i}.py"}),
            (
                "Edit",
                {"file_path": f"{CWD}/src/module_{i}.py", "old_string": "a", "new_string": "b"},
            ),
            ("Bash", {"command": f"pytest tests/test_{i}.py -q"}),
            ("Bash", {"command": f"rm -rf build/tmp_{i}"}),
            ("Bash", {"command": f"git push origin feature/f{i}"}),
        )
        tool, data = shapes[i % len(shapes)]
        out.append(Action("", tool, data, cwd=CWD, project_dir=CWD, agent="claude"))
        i += 1
    return out[:distinct]


def build(home: Path, entries: int, distinct: int) -> None:
    pool = actions(distinct)
    policy = parse_policy(OLD)
    decided = [(a, evaluate(a, policy)) for a in pool]
    rng = random.Random(17)
    os.environ["OPSGATE_AUDIT_CHECKPOINT_EVERY"] = str(10**9)
    with open_log(home) as log:
        batch: list[dict[str, object]] = []
        for n in range(entries):
            action, decision = decided[n] if n < len(decided) else rng.choice(decided)
            batch.append(_document(log, action, decision))
            if len(batch) == 2000:
                log.append_documents(batch)
                batch = []
        if batch:
            log.append_documents(batch)


def _document(log: object, action: Action, decision: object) -> dict[str, object]:
    """The document ``record_decision`` appends (made by it, caught before the write)."""
    captured: list[dict[str, object]] = []

    class Catch:
        def append(self, event: EventType, **fields: object) -> None:
            captured.append(log.document(event, **fields))  # type: ignore[attr-defined]

    record_decision(action, decision, Catch())  # type: ignore[arg-type]
    return captured[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        build(home, args.entries, args.distinct)
        print(f"built {args.entries} decision entries ({args.distinct} distinct actions) "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        (Path(tmp) / "old.yaml").write_text(OLD)
        (Path(tmp) / "new.yaml").write_text(NEW)
        opsgate = str(Path(sys.executable).parent / "opsgate")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
        argv = [opsgate, "policy", "diff", f"{tmp}/old.yaml", f"{tmp}/new.yaml",
                "--data-dir", str(home), "--json", "--fail-on", "never"]  # fmt: skip
        t0, cpu0 = time.perf_counter(), _child_cpu()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
        wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
        report = json.loads(done.stdout)
        print(f"opsgate policy diff: {report['decisions']} decisions, "
              f"{report['distinct_actions']} distinct, changes {report['counts']}")  # fmt: skip
        print(f"  wall {wall:.2f} s, CPU {cpu:.2f} s (whole process; on a busy machine the CPU "
              f"time is the figure to compare), replay {report['seconds']:.2f} s wall")  # fmt: skip


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
