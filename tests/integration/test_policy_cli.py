"""``opsgate policy test`` (rule assertions, JSON, JUnit, coverage) and ``opsgate
policy diff`` (replay of the recorded decisions, exit codes a CI job gates on), run
as real processes against a real audit trail."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree

from test_cli import run

from opsgate.audit import open_log
from opsgate.guard import evaluate
from opsgate.hooks._audit import record_decision
from opsgate.models import Action
from opsgate.policy.loader import parse_policy

POLICY = """version: 1
settings: {production_protection: true}
rules:
  - {id: no-push-main, action: git.push, resource: main, effect: deny, reason: "not main"}
  - {id: no-curl, action: shell.exec, resource: "curl *", effect: deny}
  - {id: never-used, action: shell.exec, resource: "vercel --prod*", effect: deny}
"""
LOOSER = """version: 1
settings: {production_protection: false}
rules: []
"""
STRICTER = POLICY.replace(
    "rules:\n", "rules:\n  - {id: no-rm, action: shell.exec, resource: 'rm *', effect: deny}\n"
)


def _cases(path: Path, *cases: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def test_policy_test_asserts_the_deciding_rule_and_counts_idle_rules(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    cases = _cases(
        tmp_path / "cases.jsonl",
        # Production Protection decides a push to main before any rule does.
        {"id": "push-main", "command": "git push origin main", "expect": "deny",
         "decided_by": "no-push-main"},
        {"id": "curl", "command": "curl https://example.com", "expect": "deny",
         "decided_by": "no-*"},
        {"id": "build", "command": "npm run build", "expect": "allow",
         "decided_by": "default.read"},
    )  # fmt: skip
    proc = run("policy", "test", str(policy), str(cases), home=tmp_path)
    assert proc.returncode == 1, proc.stdout
    assert ("FAIL push-main: expected deny by no-push-main, got deny by "
            "settings.production_protection") in proc.stdout  # fmt: skip
    assert "2/3 passed" in proc.stdout
    assert (
        "rules: 1/3 exercised; no case exercised 2: no-push-main (line 4), never-used (line 6)"
        in proc.stdout
    )

    proc = run("policy", "test", str(policy), str(cases), "--format", "json", home=tmp_path)
    report = json.loads(proc.stdout)
    assert (report["passed"], report["failed"]) == (2, 1)
    assert report["coverage"]["unexercised"] == [{"id": "no-push-main", "line": 4},
                                                 {"id": "never-used", "line": 6}]  # fmt: skip
    bad = [c for c in report["cases"] if not c["ok"]]
    assert bad[0]["got"]["decided_by"] == "settings.production_protection"

    proc = run("policy", "test", str(policy), str(cases), "--format", "junit", home=tmp_path)
    assert proc.returncode == 1
    suite = ElementTree.fromstring(proc.stdout).find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["push-main"]


def test_an_allow_rule_lifted_by_a_safeguard_still_counts_as_exercised(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nrules:\n  - {id: ok-rm, action: shell.exec, "
                      "resource: 'rm *', effect: allow}\n")  # fmt: skip
    case = {"id": "rm", "command": "rm -rf ~/x", "expect": "require_approval",
            "decided_by": "safeguard.no_auto_approve"}  # fmt: skip
    cases = _cases(tmp_path / "c.jsonl", case)
    proc = run("policy", "test", str(policy), str(cases), home=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "rules: 1/1 exercised" in proc.stdout


def _history(home: Path) -> None:
    policy = parse_policy(POLICY)
    with open_log(home) as log:
        for command in ("git push origin main", "rm -rf build", "ls", "curl https://x.example"):
            action = Action("", "Bash", {"command": command}, cwd="/home/dev/project",
                            project_dir="/home/dev/project", agent="claude")  # fmt: skip
            record_decision(action, evaluate(action, policy), log)


def test_policy_diff_exit_codes_gate_a_loosening(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _history(home)
    old, looser, stricter = (tmp_path / n for n in ("old.yaml", "looser.yaml", "stricter.yaml"))
    old.write_text(POLICY)
    looser.write_text(LOOSER)
    stricter.write_text(STRICTER)
    same = run("policy", "diff", str(old), str(old), home=home)
    assert same.returncode == 0 and "would change: 0" in same.stdout, same.stdout + same.stderr

    loose = run("policy", "diff", str(old), str(looser), home=home)
    assert loose.returncode == 1, loose.stdout + loose.stderr
    assert "looser 2" in loose.stdout and "LOOSER (2)" in loose.stdout
    assert "git push origin main" in loose.stdout and "curl https://x.example" in loose.stdout

    strict = run("policy", "diff", str(old), str(stricter), "--json", home=home)
    assert strict.returncode == 0  # stricter only: a CI gate passes
    report = json.loads(strict.stdout)
    assert report["counts"] == {"looser": 0, "stricter": 1, "rule": 0}
    [change] = report["changes"]
    assert change["action"] == "rm -rf build" and change["new"]["decided_by"] == "no-rm"
    assert change["seq"] > 0 and change["agent"] == "claude"
    assert run("policy", "diff", str(old), str(stricter), "--fail-on", "any",
               home=home).returncode == 1  # fmt: skip

    last = json.loads(run("policy", "diff", str(old), str(looser), "--last", "1", "--json",
                          home=home).stdout)  # fmt: skip
    assert last["decisions"] == 1 and last["counts"]["looser"] == 1  # only the curl


def test_policy_diff_reads_an_exported_trail(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _history(home)
    exported = run("audit", "export", home=home).stdout
    (tmp_path / "trail.jsonl").write_text(exported)
    (tmp_path / "old.yaml").write_text(POLICY)
    (tmp_path / "new.yaml").write_text(LOOSER)
    env_home = tmp_path / "empty"  # no audit database here: the file is the source
    proc = run("policy", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"),
               "--from", str(tmp_path / "trail.jsonl"), "--json", home=env_home)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["counts"]["looser"] == 2
    bad = run("policy", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "nope.yaml"), home=home)
    assert bad.returncode == 3 and "nope.yaml" in bad.stderr


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    proc = run("policy", "diff", "--help", home=tmp_path)
    assert proc.returncode == 0 and "1: something loosens" in proc.stdout.replace("\n", " ")
    assert isinstance(proc, subprocess.CompletedProcess)
