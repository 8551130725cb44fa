"""The classification budget counts work, so a decision does not depend on the load.

A wall-clock limit turned an 800-line build script into a deny on a busy machine and
let a 400-target Makefile flip between deny and allow across runs.  What is limited
now is work (syntax nodes and words walked, text parsed and read, steps of planning
a task file, SQL statements); the clock is a generous backstop for pathological
input only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsgate.classify import ClassifyContext, classify
from opsgate.classify._shell_state import BACKSTOP_SECONDS, MAX_WORK, Budget
from opsgate.errors import ClassificationBudgetExceeded
from opsgate.guard import evaluate
from opsgate.models import Action, Verdict

SCRIPT = "\n".join(
    ["#!/bin/sh", "set -e"]
    + [f'mkdir -p out/d{i} && cp src/a.txt out/d{i}/ && echo "step {i}"' for i in range(800)]
)
MAKEFILE = "\n".join(
    ["test: " + " ".join(f"t{i}" for i in range(400)), ""]
    + [line for i in range(400) for line in (f"t{i}:", f"\tgo test ./pkg/p{i}/... -count=1", "")]
)
# Over the work budget whatever the machine: 20,000 commands (about 44,000 steps).
TOO_MUCH = "true; " * 20_000


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "gen-fixtures.sh").write_text(SCRIPT + "\n")
    (tmp_path / "Makefile").write_text(MAKEFILE + "\n")
    return tmp_path


def _decide(project: Path, command: str) -> Verdict:
    where = str(project)
    action = Action("shell.exec", "Bash", {"command": command}, cwd=where, project_dir=where)
    return evaluate(action).verdict


def _work(project: Path, command: str) -> int:
    """The steps one classification of ``command`` counts."""
    budgets: list[Budget] = []

    class Counting(Budget):
        def tick(self, steps: int = 1) -> None:
            if not budgets or budgets[-1] is not self:
                budgets.append(self)
            super().tick(steps)

    from opsgate.classify import _shell_state, shell

    saved = shell.Budget
    shell.Budget = _shell_state.Budget = Counting  # type: ignore[misc]  # counting subclass
    try:
        where = str(project)
        action = Action("shell.exec", "Bash", {"command": command}, cwd=where, project_dir=where)
        classify(action, ClassifyContext(project_dir=where))
    finally:
        shell.Budget = _shell_state.Budget = saved  # type: ignore[misc]
    return max(b.work for b in budgets)


@pytest.mark.parametrize("command", ["bash scripts/gen-fixtures.sh", "make test"])
def test_ordinary_large_inputs_fit_the_work_budget(project: Path, command: str) -> None:
    work = _work(project, command)
    assert work == _work(project, command)  # counted, not timed: the same every run
    assert work < MAX_WORK // 2
    assert _decide(project, command) is Verdict.ALLOW


def test_work_over_the_budget_is_denied_however_fast_the_machine() -> None:
    budget = Budget(seconds=1e9)
    with pytest.raises(ClassificationBudgetExceeded, match="steps of analysis"):
        budget.tick(MAX_WORK + 1)
    assert _decide(Path("/home/dev/project"), TOO_MUCH) is Verdict.DENY


def test_the_clock_is_only_a_backstop() -> None:
    assert BACKSTOP_SECONDS >= 2.0
    budget = Budget(seconds=0.0)  # an exhausted clock is still looked at only now and then
    budget.tick(1)
    with pytest.raises(ClassificationBudgetExceeded, match="took longer than"):
        budget.tick(MAX_WORK // 4)


@pytest.fixture
def contention() -> Iterator[None]:
    """A busy loop pinned to the CPU this test runs on, for as long as it decides."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("needs CPU affinity (Linux)")
    saved = os.sched_getaffinity(0)
    cpu = min(saved)
    os.sched_setaffinity(0, {cpu})
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(busy.pid, {cpu})
        yield
    finally:
        busy.kill()
        busy.wait()
        os.sched_setaffinity(0, saved)


def test_decisions_hold_under_cpu_contention(project: Path, contention: None) -> None:
    for command, expected in [
        ("bash scripts/gen-fixtures.sh", Verdict.ALLOW),
        ("make test", Verdict.ALLOW),
        (TOO_MUCH, Verdict.DENY),
    ]:
        answers = {_decide(project, command) for _ in range(2)}
        assert answers == {expected}, command
