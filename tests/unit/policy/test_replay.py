"""Policy replay (``opsgate policy diff``): recorded decisions decided again under two
policies give exactly the answers of deciding each action under each policy one by
one, and the audit reader's fast path reads exactly what a full decode reads."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from opsgate.audit import EventType, open_log
from opsgate.cli._policy_diff import _fields
from opsgate.guard import evaluate
from opsgate.hooks._audit import record_decision
from opsgate.models import Action
from opsgate.policy.loader import parse_policy
from opsgate.policy.replay import Recorded, recorded, replay

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
PROJECT = "/home/dev/project"

OLD = """version: 1
settings: {production_protection: true}
inventory:
  servers:
    - {name: web-prod-1, environment: production, match: ["web-prod-1", "*.prod.example.com"]}
rules:
  - {id: no-push-main, action: git.push, resource: main, effect: deny, reason: not main}
  - {id: preview-ok, action: shell.exec, resource: "vercel --env preview*", effect: allow}
"""
NEW = """version: 1
settings: {production_protection: false, write_actions: true}
inventory:
  servers:
    - {name: web-prod-1, environment: production, match: ["web-prod-1", "*.prod.example.com"]}
rules:
  - {id: no-rm, action: shell.exec, resource: "rm *", effect: deny}
  - {id: kube-ask, action: shell.exec, resource: "kubectl *", effect: require_approval}
"""
# The same rules with another inventory: classification itself changes.
NEW_INVENTORY = NEW.replace("environment: production", "environment: staging")


def _sample(n: int) -> list[Action]:
    cases: list[dict[str, Any]] = []
    for file in sorted(CORPUS.glob("*.jsonl")):
        lines = file.read_text("utf-8").splitlines()
        cases += [json.loads(x) for x in lines if x.strip() and not x.startswith("//")]
    # Cases that need files on disk decide differently without their fixture.
    plain = [c for c in cases if not c.get("files") and not c.get("links") and not c.get("env")]
    chosen = random.Random(20261206).sample(plain, n)
    return [
        Action("", c["tool"], c["input"], cwd=c.get("cwd", PROJECT),
               project_dir=c.get("cwd", PROJECT), agent="claude")
        for c in chosen
    ]  # fmt: skip


def _record_all(home: Path, actions: list[Action]) -> list[tuple[int, dict[str, Any], str]]:
    """Each action's decision recorded as the hook records it, read back as stored."""
    policy = parse_policy(OLD)
    with open_log(home) as log:
        for action in actions:
            record_decision(action, evaluate(action, policy), log)
        rows = [(seq, bytes(body).decode()) for seq, body, _ in log.store.rows()]
    return [(seq, json.loads(text), text) for seq, text in rows if '"decision.made"' in text]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, dict[str, Any], str]]:
    home = tmp_path_factory.mktemp("replay")
    actions = _sample(250)
    return _record_all(home, actions + actions[:40])  # repeats: decided once, counted twice


def _records(history: list[tuple[int, dict[str, Any], str]]) -> list[Recorded]:
    out = []
    for seq, data, _text in history:
        found = recorded(seq, data)
        assert not isinstance(found, str), found
        out.append(found)
    return out


@pytest.mark.parametrize("new_text", [NEW, NEW_INVENTORY], ids=["same-inventory", "new-inventory"])
def test_replay_equals_deciding_one_by_one(
    history: list[tuple[int, dict[str, Any], str]], new_text: str
) -> None:
    old, new = parse_policy(OLD), parse_policy(new_text)
    records = _records(history)
    report = replay(records, old, new)
    assert report.decisions == len(records) and report.distinct <= 250
    changed = {c.record.seq: c for c in report.changes}
    for record in records:
        before = evaluate(record.action, old)
        after = evaluate(record.action, new)
        change = changed.get(record.seq)
        if (before.verdict, before.decided_by) == (after.verdict, after.decided_by):
            assert change is None, record.action.text
            continue
        assert change is not None, record.action.text
        assert (change.old.verdict, change.old.decided_by) == (
            before.verdict.value,
            before.decided_by,
        )
        assert (change.new.verdict, change.new.decided_by) == (
            after.verdict.value,
            after.decided_by,
        )
    assert report.count("looser") and report.count("stricter")  # the sample exercises both


def test_directions_and_counts(tmp_path: Path) -> None:
    actions = [
        Action("", "Bash", {"command": c}, cwd=PROJECT, project_dir=PROJECT, agent="claude")
        for c in ("git push origin main", "rm -rf build", "ls", "kubectl get pods")
    ]
    history = _record_all(tmp_path, actions)
    report = replay(_records(history), parse_policy(OLD), parse_policy(NEW))
    got = {
        c.record.action.text: (c.direction, c.old.verdict, c.new.verdict) for c in report.changes
    }
    assert got["git push origin main"] == ("looser", "deny", "require_approval")
    assert got["rm -rf build"] == ("stricter", "allow", "deny")
    assert got["kubectl get pods"] == ("stricter", "allow", "require_approval")
    assert "ls" not in got
    assert (report.count("looser"), report.count("stricter")) == (1, 2)
    assert report.recorded_differs == 0  # OLD is what decided them


def test_what_cannot_be_replayed_exactly_is_counted(tmp_path: Path) -> None:
    with open_log(tmp_path) as log:
        command = "psql postgres://u:hunter2secret@db/x -c 'select 1'"
        action = Action("", "Bash", {"command": command}, cwd=PROJECT, project_dir=PROJECT)
        record_decision(action, evaluate(action), log)
        log.append(EventType.DECISION_MADE, action={"kind": "shell.exec"}, decision="deny")
        data = [json.loads(body) for _, body, _ in log.store.rows()]
    decisions = [d for d in data if d["event"] == "decision.made"]
    masked = recorded(1, decisions[0])
    assert not isinstance(masked, str)
    assert "hunter2secret" not in json.dumps(decisions[0])
    assert masked.subject.approximate == ("input redacted before it was recorded",)
    assert recorded(2, decisions[1]) == "no tool or input recorded"
    old = dict(decisions[0], action={k: v for k, v in decisions[0]["action"].items()
                                     if k != "project_dir"})  # fmt: skip
    legacy = recorded(3, old)
    assert not isinstance(legacy, str) and any("project directory" in n
                                                for n in legacy.subject.approximate)  # fmt: skip


def test_operations_replay_their_recorded_facts() -> None:
    entry = {
        "event": "decision.made",
        "time": "2026-12-06T10:00:00.000000Z",
        "actor": {"name": "claude"},
        "target": "web-prod-1",
        "environment": "production",
        "action": {"kind": "service.restart", "tool": "service.restart", "cwd": None,
                   "input": {"operation": "service.restart", "target": "web-prod-1",
                             "params": {"service": "web"}, "command": "systemctl restart web"}},
        "classification": {"impact": "caution", "write": True,
                           "environment_source": "inventory: server web-prod-1"},
        "decision": "deny",
        "rule": "settings.production_protection",
    }  # fmt: skip
    found = recorded(7, entry)
    assert not isinstance(found, str) and found.subject.facts is not None
    report = replay([found], parse_policy(OLD), parse_policy(NEW))
    [change] = report.changes
    assert (change.old.decided_by, change.new.verdict) == (
        "settings.production_protection",
        "require_approval",
    )
    # The new policy's inventory moves the target to staging: still a card, not a deny.
    report = replay([found], parse_policy(OLD), parse_policy(NEW_INVENTORY))
    assert report.changes[0].new.verdict == "require_approval"


def test_fast_reader_reads_what_a_full_decode_reads(
    history: list[tuple[int, dict[str, Any], str]], tmp_path: Path
) -> None:
    # A hostile input carrying the reader's own markers, and a control-plane entry
    # with a result object.
    tricky = Action("", "Bash", {"command": 'echo \',"rule":"x"}\'', ',"rule":': {"}": "{"}},
                    cwd=PROJECT, project_dir=PROJECT)  # fmt: skip
    extra = _record_all(tmp_path, [tricky])
    with open_log(tmp_path) as log:
        log.append(EventType.DECISION_MADE, actor={"name": "a"}, action={"tool": "Bash",
                   "input": {"command": "ls"}}, decision="allow", rule="default.read",
                   result={"card": "c_1", "rule": "not-this-one"},
                   evidence=[{"rule": "x"}])  # fmt: skip
        last = bytes(next(log.store.rows(descending=True))[1]).decode()
    for _seq, data, text in [*history, *extra, (0, json.loads(last), last)]:
        found = _fields(text)
        assert found is not None
        fields, _key = found
        for key, value in fields.items():
            assert data.get(key) == value, key
    assert _fields(last) is not None and _fields(last)[0]["rule"] == "default.read"  # type: ignore[index]
    assert _fields('{"action":1}') is None
