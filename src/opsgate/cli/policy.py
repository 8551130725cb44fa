"""``opsgate policy``: validate a policy file, test it against cases, print its schema."""

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
    v = actions.add_parser("validate", help="check a policy file against the schema")
    v.add_argument("file")
    v.set_defaults(func=_validate)
    t = actions.add_parser(
        "test",
        help="run a policy against a file of cases (like `opa test`)",
        description="Each line of CASES is a JSON object: {id, tool (default Bash), input "
        "or command, cwd (optional), expect: allow|require_approval|deny}. Exit 1 on any "
        "mismatch.",
    )
    t.add_argument("file")
    t.add_argument("cases")
    t.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    t.set_defaults(func=_test)
    s = actions.add_parser("schema", help="print the policy file's JSON Schema")
    s.set_defaults(func=_schema)


def _validate(ns: argparse.Namespace) -> int:
    from opsgate.policy.loader import load_policy

    policy = load_policy(ns.file)
    print(
        f"{ns.file}: valid — {len(policy.rules)} rule(s), "
        f"{len(policy.inventory.targets)} inventory target(s)"
    )
    return 0


def _load_cases(path: str) -> list[dict[str, Any]]:
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the cases file ({exc.strerror})") from exc
    cases = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(case, dict) or case.get("expect") not in (
            "allow", "require_approval", "deny"
        ):  # fmt: skip
            raise InputError(
                f"{path}:{number}: each case needs expect: allow, require_approval or deny"
            )
        case.setdefault("id", f"line-{number}")
        cases.append(case)
    if not cases:
        raise InputError(f"{path}: no cases", hint="an empty test file proves nothing")
    return cases


def _test(ns: argparse.Namespace) -> int:
    from opsgate.guard import evaluate
    from opsgate.models import Action
    from opsgate.policy.loader import load_policy

    policy = load_policy(ns.file)
    failures = 0
    cases = _load_cases(ns.cases)
    for case in cases:
        tool = case.get("tool", "Bash")
        data = case.get("input") or {"command": case.get("command", "")}
        cwd = case.get("cwd", "/home/dev/project")
        decision = evaluate(Action("", tool, data, cwd=cwd, project_dir=cwd), policy)
        got = decision.verdict.value
        ok = got == case["expect"]
        failures += not ok
        if not ok or ns.verbose:
            mark = "PASS" if ok else "FAIL"
            print(f"{mark} {case['id']}: expected {case['expect']}, got {got} "
                  f"(decided by {decision.decided_by})")  # fmt: skip
    print(f"{len(cases) - failures}/{len(cases)} passed")
    return 1 if failures else 0


def _schema(ns: argparse.Namespace) -> int:
    from opsgate.policy.loader import schema

    json.dump(schema(), sys.stdout, indent=2)
    print()
    return 0
