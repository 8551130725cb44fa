"""Safeguard 6 in the classifier: the guard's places (as data) and the findings that
name a change to them.  The corpus (tests/corpus/guard.jsonl) runs the same classes
through the real hook; these tests pin the table and its edges."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.classify._guard_paths import guard_path, mentions_guard_path, normalise
from opsgate.guard import evaluate
from opsgate.integrations._agents import AGENTS
from opsgate.models import Action, Verdict

HOME = "/home/dev"
PROJECT = "/home/dev/project"


@pytest.mark.parametrize(
    "path",
    [
        "~/.opsgate",
        "~/.opsgate/opsgate.db",
        "~/.opsgate/audit.db-wal",
        "~/.opsgate/run/hook.sock",
        "~/.opsgate/bin/opsgate-hook-fast",
        "/home/dev/.claude/settings.json",
        ".claude/settings.local.json",
        "/etc/claude-code/managed-settings.json",
        "/etc/claude-code/managed-settings.d/10-opsgate.json",
        "/Library/Application Support/ClaudeCode/managed-settings.json",
        "C:\\ProgramData\\ClaudeCode\\managed-settings.json",
        "~/.codex/config.toml",
        ".codex/hooks.json",
        "/etc/codex/requirements.toml",
        "~/.gemini/settings.json",
        "/etc/gemini-cli/system-defaults.json",
        ".cursor/hooks.json",
        "/etc/cursor/hooks.json",
        ".github/hooks/opsgate.json",
        "~/.copilot/hooks/opsgate.json",
        "/var/lib/opsgate/opsgate.db",
        "/etc/opsgate/policy.yaml",
        "/etc/systemd/system/opsgate.service",
        "/usr/local/bin/opsgate-hook",
        "~/.claude",
        "C:\\Users\\dev\\.claude\\settings.json",
    ],
)
def test_guard_places(path: str) -> None:
    assert guard_path(path, HOME, PROJECT) is not None, path


@pytest.mark.parametrize(
    "path",
    [
        "~/.claude/CLAUDE.md",  # the agent's memory, not its hook configuration
        "hooks.json",
        "config/hooks.json",
        "config/policy.yaml",
        "tests/fixtures/opsgate.db",
        "audit.db",
        ".github/workflows/ci.yml",
        "src/opsgate/hooks/_daemon.py",
        "bin/opsgate-hook",  # opsgate's own source tree: a project file
        "/etc/systemd/system/nginx.service",
        "/tmp/hook.sock",
    ],
)
def test_ordinary_files_named_like_the_guards(path: str) -> None:
    assert guard_path(path, HOME, PROJECT) is None, path


def test_every_hook_file_opsgate_installs_is_a_guard_place() -> None:
    """``opsgate install`` writes these; each must be out of the agent's reach."""
    for agent in AGENTS:
        assert guard_path(f"{PROJECT}/{agent.project_file}", HOME, PROJECT), agent.name
        assert guard_path(f"{HOME}/{agent.user_file}", HOME, PROJECT), agent.name
        for switch in agent.switches:
            assert guard_path(f"{HOME}/{switch.file}", HOME, PROJECT), switch


def test_opsgate_home_anywhere_is_the_guards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGATE_HOME", "/srv/guard-data")
    assert guard_path("/srv/guard-data/policy.yaml", HOME, PROJECT) is not None
    assert guard_path("/srv/guard-data-other/x", HOME, PROJECT) is None
    action = Action("", "Bash", {"command": "rm /srv/guard-data/audit.db"}, cwd=PROJECT)
    assert evaluate(action).decided_by == "safeguard.guard"


def test_normalise_places_paths() -> None:
    assert normalise("~/x", HOME, PROJECT) == "/home/dev/x"
    assert normalise("a/../b", HOME, PROJECT) == "/home/dev/project/b"
    assert normalise("C:\\Users\\Dev\\.claude", HOME, PROJECT) == "c:/users/dev/.claude"


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("pathlib.Path.home() / '.claude' / 'settings.json'", True),
        ("os.environ['OPSGATE_HOME'] + '/audit.db'", True),
        ("open('/home/dev/.opsgate/opsgate.db')", True),
        ("json.load(open('package.json'))", False),
        ("print('claude is nice')", False),
    ],
)
def test_mentions_guard_path(code: str, found: bool) -> None:
    assert mentions_guard_path(code) is found


def _decide(tool: str, data: dict[str, object]) -> object:
    return evaluate(Action("", tool, data, cwd=PROJECT, project_dir=PROJECT))


def test_tamper_reason_names_the_safeguard_and_the_place() -> None:
    decision = _decide("Write", {"file_path": f"{HOME}/.claude/settings.json", "content": "{}"})
    assert decision.verdict is Verdict.DENY  # type: ignore[attr-defined]
    assert decision.decided_by == "safeguard.guard"  # type: ignore[attr-defined]
    text = "\n".join(decision.reasons)  # type: ignore[attr-defined]
    assert "immutable safeguard 6" in text
    assert "Claude Code's hook settings" in text
    assert decision.card is False  # type: ignore[attr-defined]  # never a card


def test_evidence_never_carries_the_written_content() -> None:
    """Safeguard 7: the reason names the file, not what the agent tried to put in it."""
    content = '{"env": {"OPSGATE_HOOK_DAEMON": "0", "TOKEN": "sk-live-abcdef"}}'
    decision = _decide("Write", {"file_path": f"{HOME}/.claude/settings.json", "content": content})
    assert "sk-live-abcdef" not in "\n".join(decision.reasons)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "command",
    [
        "opsgate uninstall claude",
        "pip uninstall -y opsgate",
        "pkill -f opsgate",
        "chmod 000 ~/.opsgate/audit.db",
        "bash -c 'rm -f ~/.opsgate/opsgate.db'",
        "env OPSGATE_X=1 nohup opsgate serve --port 8470",
        "ssh localhost 'echo hi' ; timeout 5 opsgate approve c_1",
    ],
)
def test_wrappers_and_nesting_do_not_hide_a_tamper(command: str) -> None:
    assert _decide("Bash", {"command": command}).decided_by == "safeguard.guard"  # type: ignore[attr-defined]


def test_no_policy_lifts_the_guard_safeguard(tmp_path: Path) -> None:
    from opsgate.policy.loader import parse_policy

    policy = parse_policy(
        "version: 1\nsettings: {production_protection: false, write_actions: true}\n"
        "rules:\n  - {id: everything, action: '*', effect: allow}\n"
    )
    for data in (
        {"command": "opsgate uninstall claude"},
        {"command": "rm ~/.claude/settings.json"},
    ):
        action = Action("", "Bash", data, cwd=PROJECT, project_dir=PROJECT)
        decision = evaluate(action, policy)
        assert decision.verdict is Verdict.DENY
        assert decision.decided_by == "safeguard.guard"
