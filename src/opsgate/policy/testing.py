"""``opsgate policy test``: a policy decided against a file of cases, each asserting
the verdict and, optionally, the rule or safeguard that decides it (as ``opa test``
asserts on a rule), with the rules no case exercised.

A rule is exercised by a case when it decides the case, or when it matches first
and a safeguard lifts its ``allow`` to a card (``safeguard.no_auto_approve``: the
rule still chose the outcome's approvers).  Pure: cases in, results out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from opsgate.errors import InputError
from opsgate.models import Action, Decision
from opsgate.policy.engine import _kinds
from opsgate.policy.model import Policy, Rule

__all__ = ["Case", "CaseResult", "Suite", "parse_cases", "run_cases"]

_VERDICTS = ("allow", "require_approval", "deny")
DEFAULT_CWD = "/home/dev/project"


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    line: int
    action: Action
    expect: str
    decided_by: str | None = None  # exact, or a glob (``access.*``)


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    verdict: str
    decided_by: str
    reasons: tuple[str, ...]
    seconds: float
    rule: str | None  # the policy rule that chose the outcome, if one did

    @property
    def ok(self) -> bool:
        wanted = self.case.decided_by
        rule_ok = wanted is None or fnmatchcase(self.decided_by, wanted)
        return self.verdict == self.case.expect and rule_ok

    def explain(self) -> str:
        want = self.case.expect + (f" by {self.case.decided_by}" if self.case.decided_by else "")
        return f"expected {want}, got {self.verdict} by {self.decided_by}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "line": self.case.line,
            "ok": self.ok,
            "expected": {"decision": self.case.expect, "decided_by": self.case.decided_by},
            "got": {
                "decision": self.verdict,
                "decided_by": self.decided_by,
                "reasons": list(self.reasons),
            },
            "rule": self.rule,
            "seconds": round(self.seconds, 6),
        }


@dataclass(frozen=True, slots=True)
class Suite:
    policy: Policy
    results: tuple[CaseResult, ...]
    seconds: float

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    @property
    def unexercised(self) -> tuple[Rule, ...]:
        used = {r.rule for r in self.results if r.rule is not None}
        return tuple(rule for rule in self.policy.rules if rule.id not in used)

    def to_json(self) -> dict[str, Any]:
        rules = self.policy.rules
        return {
            "policy": self.policy.source,
            "passed": len(self.results) - len(self.failures),
            "failed": len(self.failures),
            "seconds": round(self.seconds, 6),
            "cases": [r.to_json() for r in self.results],
            "coverage": {
                "rules": len(rules),
                "exercised": len(rules) - len(self.unexercised),
                "unexercised": [{"id": r.id, "line": r.line} for r in self.unexercised],
            },
        }

    def to_junit(self, name: str) -> str:
        """JUnit XML, the format CI systems show as a test report."""
        from xml.etree import ElementTree as ET

        failed = len(self.failures)
        total = str(len(self.results))
        attrs = {"name": name, "tests": total, "failures": str(failed), "errors": "0",
                 "time": f"{self.seconds:.6f}"}  # fmt: skip
        root = ET.Element("testsuites", attrs)
        suite = ET.SubElement(root, "testsuite", attrs)
        props = ET.SubElement(suite, "properties")
        idle = ",".join(r.id for r in self.unexercised)
        ET.SubElement(props, "property", {"name": "rules", "value": str(len(self.policy.rules))})
        ET.SubElement(props, "property", {"name": "rules.unexercised", "value": idle})
        for r in self.results:
            case = ET.SubElement(suite, "testcase", {"classname": name, "name": r.case.id,
                                                     "time": f"{r.seconds:.6f}"})  # fmt: skip
            if not r.ok:
                failure = ET.SubElement(case, "failure", {"message": r.explain()})
                failure.text = "\n".join(r.reasons)
        ET.indent(root)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def parse_cases(text: str, name: str) -> list[Case]:
    """JSON Lines: {id, tool (default Bash), input or command, cwd, expect,
    decided_by}; blank lines and ``//`` comments are skipped."""
    cases: list[Case] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{number}: not valid JSON ({exc.msg})") from exc
        cases.append(_case(raw, name, number))
    if not cases:
        raise InputError(f"{name}: no cases", hint="an empty test file proves nothing")
    return cases


def _case(raw: Any, name: str, number: int) -> Case:
    if not isinstance(raw, dict) or raw.get("expect") not in _VERDICTS:
        raise InputError(
            f"{name}:{number}: each case needs expect: allow, require_approval or deny"
        )
    wanted = raw.get("decided_by")
    if wanted is not None and (not isinstance(wanted, str) or not wanted):
        raise InputError(f"{name}:{number}: decided_by must be a rule id or safeguard name")
    tool = raw.get("tool", "Bash")
    data = raw.get("input") or {"command": raw.get("command", "")}
    cwd = raw.get("cwd", DEFAULT_CWD)
    if not isinstance(tool, str) or not isinstance(data, dict) or not isinstance(cwd, str):
        raise InputError(f"{name}:{number}: tool and cwd are strings, input an object")
    action = Action("", tool, data, cwd=cwd, project_dir=raw.get("project_dir") or cwd)
    return Case(str(raw.get("id") or f"line-{number}"), number, action, raw["expect"], wanted)


def run_cases(policy: Policy, cases: Sequence[Case]) -> Suite:
    from opsgate.guard import evaluate

    started = time.perf_counter()
    results = []
    for case in cases:
        t0 = time.perf_counter()
        decision = evaluate(case.action, policy)
        elapsed = time.perf_counter() - t0
        results.append(
            CaseResult(
                case,
                decision.verdict.value,
                decision.decided_by,
                decision.reasons,
                elapsed,
                _rule_of(case.action, decision, policy),
            )
        )
    return Suite(policy, tuple(results), time.perf_counter() - started)


def _rule_of(action: Action, decision: Decision, policy: Policy) -> str | None:
    ids = {rule.id for rule in policy.rules}
    if decision.decided_by in ids:
        return decision.decided_by
    if decision.decided_by != "safeguard.no_auto_approve":
        return None
    c = decision.classification
    kinds = _kinds(action, c)
    for rule in policy.rules:
        if rule.matches(kinds, c.environment, c.impact.label, c.categories, c.is_write):
            return rule.id
    return None
