"""Incident artifacts, pure parts: the trail read as stories (window and filters),
Markdown an agent's text cannot break out of, and citations that match the
Sources table.  The end-to-end run against ``opsgate serve`` and sshd is in
``tests/integration/test_incident.py``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from opsgate.audit import EventType, open_log
from opsgate.incident import Cited, Query, build, generate
from opsgate.incident._md import block, code, text
from opsgate.incident._trail import read_trail
from opsgate.incident._verify import Verification

OK = Verification("log", True, "intact", 0, 0, "00", 0, (), (), "test")


def _entry(seq: int, event: str, minute: int, **data: Any) -> Cited:
    return Cited(
        seq,
        f"{seq:064x}",
        {"event": event, "time": f"2026-12-06T10:{minute:02d}:00.000000Z", **data},
    )


def _card(seq: int, card: str, agent: str, target: str, minute: int) -> list[Cited]:
    action = {"tool": "Bash", "input": {"command": f"restart {target}"}}
    return [
        _entry(seq, "decision.made", minute, actor={"name": agent}, target=target,
               environment="staging", action=action, decision="require_approval",
               rule="default.write", classification={"impact": "caution", "write": True},
               result={"card": card}),
        _entry(seq + 1, "card.created", minute, actor={"name": agent}, target=target,
               action=action, result={"card": card, "description": f"restart {target}"}),
    ]  # fmt: skip


def _trail() -> list[Cited]:
    return [
        *_card(1, "c_a", "claude", "web-1", 1),
        _entry(3, "card.approved", 2, approver={"name": "adam", "role": "admin"},
               result={"card": "c_a", "approvals": 1, "needed": 1}),
        *_card(4, "c_b", "codex", "db-1", 20),
        _entry(6, "decision.made", 21, actor={"name": "claude"}, decision="allow",
               rule="default.read", classification={"write": False},
               action={"tool": "Bash", "input": {"command": "ls"}}),
        _entry(7, "settings.changed", 22, actor={"name": "olivia"}),
        _entry(8, "checkpoint.created", 23),
    ]  # fmt: skip


def test_window_keeps_whole_stories_and_filters_by_requester_target_and_card() -> None:
    # c_a was proposed before the window; its approval falls inside: the story is kept.
    trail = read_trail(_trail(), Query(since="2026-12-06T10:02:00.000000Z"))
    assert [s.id for s in trail.stories] == ["c_a", "c_b"]
    assert [e.seq for e in trail.window] == [3, 4, 5]
    assert [s.id for s in trail.reads] == ["d6"] and [e.seq for e in trail.changes] == [7]
    assert trail.stories[0].state == "approved" and trail.stories[1].open
    only = read_trail(_trail(), Query(since="2026-12-06T10:00:00.000000Z", agents=("cod*",)))
    assert [s.id for s in only.stories] == ["c_b"] and not only.changes
    assert [s.id for s in read_trail(_trail(), Query(targets=("web-*",))).stories] == ["c_a"]
    assert [s.id for s in read_trail(_trail(), Query(cards=("c_b",))).stories] == ["c_b"]
    early = read_trail(_trail(), Query(until="2026-12-06T10:10:00.000000Z"))
    assert [s.id for s in early.stories] == ["c_a"]  # nothing after --until is read
    listed = read_trail(_trail(), Query(include_reads=True))
    assert "d6" in [s.id for s in listed.stories] and not listed.reads


@pytest.mark.parametrize(
    "hostile",
    [
        "[click](https://evil.example) <script>alert(1)</script>",
        "**bold** _it_ `tick` ``two`` | pipe",
        "line one\n## Heading injected\n```\nfence",
    ],
)
def test_agent_text_renders_as_text(hostile: str) -> None:
    escaped = text(hostile)
    assert "\n" not in escaped
    # Every bracket, angle bracket, star, underscore and backtick is escaped.
    assert not re.search(r"(?<!\\)[\[\]<>*_`]", escaped), escaped
    span = code(hostile)
    ticks = re.match(r"`+", span)
    assert ticks is not None and span.endswith(ticks.group(0)) and "\n" not in span
    inner = span[len(ticks.group(0)) : -len(ticks.group(0))]
    assert ticks.group(0) not in inner  # the span cannot be closed early
    fenced = block(hostile)
    fence = fenced.split("\n", 1)[0]
    assert fenced.endswith(fence) and fence not in fenced[len(fence) : -len(fence)]


def test_every_citation_is_in_the_sources_table() -> None:
    made = build(_trail(), OK, Query(), with_postmortem=True, now=0)
    for name, body in made.files.items():
        prose, _, sources = body.partition("## Sources")
        cited = {int(n) for n in re.findall(r"\[#(\d+)\]", prose)}
        rows = {int(n) for n in re.findall(r"^\| (\d+) \|", sources, re.M)}
        assert cited == rows == set(made.cited[name]), name
        assert "#8]" not in body  # checkpoints are not part of an incident's story


def test_a_real_log_verified_and_tampered(tmp_path: Path) -> None:
    with open_log(tmp_path) as log:
        log.append(EventType.DECISION_MADE, actor={"name": "claude"}, decision="deny",
                   rule="safeguard.secrets", action={"tool": "Bash",
                   "input": {"command": "cat ~/.ssh/id_rsa"}})  # fmt: skip
        made = generate(log, Query())
        assert made.verification.ok and "Audit trail verified: intact" in made.files[
            "incident_report.md"]  # fmt: skip
        conn = log.store._db  # type: ignore[attr-defined]  # the tamperer's own hand
        body = conn.execute("SELECT body FROM audit_entries WHERE seq = 1").fetchone()[0]
        conn.execute("UPDATE audit_entries SET body = ? WHERE seq = 1",
                     (bytes(body).replace(b'"deny"', b'"allow"'),))  # fmt: skip
        tampered = generate(log, Query())
    assert not tampered.verification.ok
    for body in tampered.files.values():
        assert "AUDIT TRAIL TAMPERED" in body and "seq 1: edited" in body


def test_a_lockdown_is_in_the_report_and_the_postmortem() -> None:
    entries = [
        *_trail(),
        _entry(9, "lockdown.started", 24, actor={"name": "ada"},
               result={"reason": "agent looping", "outcome": "locked_down"}),
        _entry(10, "card.cancelled", 24, actor={"name": "ada"},
               result={"card": "c_b", "reason": "cancelled by the lockdown", "lockdown": True}),
        _entry(11, "lockdown.lifted", 30, actor={"name": "olivia"}, result={"reason": "fixed"}),
    ]  # fmt: skip
    made = build(entries, OK, Query(), with_postmortem=True, now=0)
    report, post = made.files["incident_report.md"], made.files["postmortem.md"]
    assert "[#9] **ada** locked opsgate down: agent looping" in report
    assert "[#11] **olivia** lifted the lockdown: fixed" in report
    contributing = post.split("## Contributing decisions")[1].split("\n## ")[0]
    assert "lockdown.started [#9]" in contributing and "lockdown.lifted [#11]" in contributing
