"""Every decision over the corpora, serialised: a performance change must not alter one.

Each case is decided as ``bench_decide.py`` decides it (the same ``Action``, its files
set up by ``case_setting``), twice in a row: a change that memoises across decisions
and answers the second call differently shows as a ``repeat`` line.  Cases with an
``env`` are also decided inside their environment.  One line per case: the id and
the whole ``repr`` of the ``Decision`` (verdict, impact, reasons, every finding, the
files read with their hashes, the facts a grant binds to).

Run before and after a change and diff::

    ../.venv/bin/python decision_fingerprint.py > /tmp/before.txt
    ../.venv/bin/python decision_fingerprint.py > /tmp/after.txt
    diff /tmp/before.txt /tmp/after.txt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from _common import load_cases

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench_decide import _FIXTURE_KEYS, _action

from corpus_agents import case_setting
from opsgate.guard import evaluate


def _twice(case: dict[str, Any], label: str) -> list[str]:
    action = _action(case)
    first, second = repr(evaluate(action)), repr(evaluate(action))
    lines = [f"{label}\t{first}"]
    if second != first:
        lines.append(f"{label} repeat\t{second}")
    return lines


def _fingerprint(case: dict[str, Any]) -> list[str]:
    key = case["id"]
    if _FIXTURE_KEYS & case.keys():
        with case_setting(case):
            return _twice(case, key)
    lines = _twice(case, key)  # as bench_decide decides it: no environment
    if case.get("env"):
        with case_setting(case):
            lines += _twice(case, f"{key} env")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="*", type=Path, help="default: every corpus")
    args = parser.parse_args()
    for case in load_cases(args.corpus or None):
        for line in _fingerprint(case):
            print(line)


if __name__ == "__main__":
    main()
