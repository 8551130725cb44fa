"""``opsgate policy``: validate a policy file, test it against cases, replay the audit
trail under two policies (``diff``), print its schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from opsgate.errors import InputError

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("policy", help="validate and test policy files")
    actions = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    v = actions.add_parser(
        "validate",
        help="check a policy file against the schema",
        description="Load a policy file and check it against the schema. Exit 0 when valid, "
        "3 when not (the message names file and line).",
    )
    v.add_argument("file")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(func=_validate)
    t = actions.add_parser(
        "test",
        help="run a policy against a file of cases (like `opa test`)",
        description="Each line of CASES is a JSON object: {id, tool (default Bash), input "
        "or command, cwd (optional), expect: allow|require_approval|deny, decided_by "
        "(optional: the rule id or safeguard that must decide it; * and ? glob)}. Exit 1 "
        "on any mismatch. The summary counts the policy's rules that no case exercised.",
    )
    t.add_argument("file")
    t.add_argument("cases")
    t.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    t.add_argument(
        "--format",
        choices=("text", "json", "junit"),
        default="text",
        help="text (default), json, or junit (JUnit XML for CI test reports)",
    )
    t.add_argument("--json", dest="format", action="store_const", const="json",
                   help="the same as --format json")  # fmt: skip
    t.set_defaults(func=_test)
    from opsgate.cli._policy_diff import register_diff

    register_diff(actions)
    s = actions.add_parser("schema", help="print the policy file's JSON Schema")
    s.set_defaults(func=_schema)


def _validate(ns: argparse.Namespace) -> int:
    from opsgate.policy.loader import load_policy

    policy = load_policy(ns.file)
    if ns.json:
        print(json.dumps({"file": ns.file, "valid": True, "rules": len(policy.rules),
                          "inventory": len(policy.inventory.targets),
                          "settings": sorted(policy.pinned)}, indent=2))  # fmt: skip
        return 0
    print(
        f"{ns.file}: valid — {len(policy.rules)} rule(s), "
        f"{len(policy.inventory.targets)} inventory target(s)"
    )
    return 0


def _test(ns: argparse.Namespace) -> int:
    from opsgate.policy.loader import load_policy
    from opsgate.policy.testing import parse_cases, run_cases

    policy = load_policy(ns.file)
    try:
        text = Path(ns.cases).read_text("utf-8")
    except OSError as exc:
        raise InputError(f"{ns.cases}: cannot read the cases file ({exc.strerror})") from exc
    suite = run_cases(policy, parse_cases(text, ns.cases))
    if ns.format == "json":
        print(json.dumps(suite.to_json(), indent=2, ensure_ascii=False))
    elif ns.format == "junit":
        sys.stdout.write(suite.to_junit(ns.file))
    else:
        _test_text(suite, ns.verbose)
    return 1 if suite.failures else 0


def _test_text(suite: Any, verbose: bool) -> None:
    for result in suite.results:
        if not result.ok or verbose:
            mark = "PASS" if result.ok else "FAIL"
            print(f"{mark} {result.case.id}: {result.explain()}")
    total = len(suite.results)
    print(f"{total - len(suite.failures)}/{total} passed")
    rules = suite.policy.rules
    idle = suite.unexercised
    line = f"rules: {len(rules) - len(idle)}/{len(rules)} exercised"
    if idle:
        names = ", ".join(f"{r.id} (line {r.line})" if r.line else r.id for r in idle)
        line += f"; no case exercised {len(idle)}: {names}"
    print(line)


def _schema(ns: argparse.Namespace) -> int:
    from opsgate.policy.loader import schema

    json.dump(schema(), sys.stdout, indent=2)
    print()
    return 0
