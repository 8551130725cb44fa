"""``opsgate install|uninstall <agent>``: the real CLI on temporary HOME and project
directories — merging beside foreign hooks, idempotency, dry runs, malformed files,
and exact round trips for every agent."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from agents_support import LAUNCHER, Sandbox, make_sandbox, read_json, write_json

from opsgate.integrations import AGENTS, Agent, agent_named
from opsgate.integrations.config import find_ours

CLAUDE_MATCHER = "Bash|PowerShell|Read|Write|Edit|MultiEdit|NotebookEdit|Grep|WebFetch|mcp__.*"
CLAUDE_ENTRY = {
    "type": "command",
    "command": f"{LAUNCHER} claude",
    "timeout": 30,
    "onFailure": "block",
}


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return make_sandbox(tmp_path)


def _foreign_config(agent: Agent) -> dict[str, Any]:
    """A realistic existing file: the user's own hook on the same event, another
    event, and unrelated settings."""
    event = agent.events[0].name
    if agent.layout == "grouped":
        mine = {"type": "command", "command": "/usr/local/bin/my-linter", "timeout": 5}
        return {
            "model": "some-model",
            "permissions": {"allow": ["Bash(npm test)"]},
            "hooks": {
                event: [{"matcher": "Bash", "hooks": [mine]}],
                "PostToolUse": [{"matcher": "Write", "hooks": [dict(mine)]}],
            },
        }
    mine = {agent.command_key: "./scripts/audit.sh"}
    return {"version": 1, "hooks": {event: [mine], "stop": [{agent.command_key: "./done.sh"}]}}


def _path(box: Sandbox, agent: Agent, scope: str) -> Path:
    base = box.project if scope == "project" else box.home
    return base / (agent.project_file if scope == "project" else agent.user_file)


def test_claude_project_install_writes_the_documented_entry(box: Sandbox) -> None:
    proc = box.opsgate("install", "claude", "--project", check=True)
    settings = box.project / ".claude/settings.json"
    assert f"+++ {settings}" in proc.stdout  # the diff is shown
    groups = read_json(settings)["hooks"]["PreToolUse"]
    assert groups == [
        {
            "matcher": CLAUDE_MATCHER,
            "hooks": [CLAUDE_ENTRY],
        }
    ]
    assert os.path.isabs(str(LAUNCHER)) and os.access(LAUNCHER, os.X_OK)
    assert not (box.home / ".claude").exists()  # --project touches only the project


def test_cursor_install_sets_fail_closed_on_every_entry(box: Sandbox) -> None:
    box.opsgate("install", "cursor", "--user", check=True)
    doc = read_json(box.home / ".cursor/hooks.json")
    events = ["beforeShellExecution", "beforeReadFile", "beforeMCPExecution", "preToolUse"]
    assert sorted(doc["hooks"]) == sorted(events)
    for event in events:
        assert doc["hooks"][event] == [
            {"command": f"{LAUNCHER} cursor", "timeout": 30, "failClosed": True}
        ]


def test_install_turns_a_fail_open_cursor_entry_fail_closed(box: Sandbox) -> None:
    hooks = box.project / ".cursor/hooks.json"
    entry = {"command": f"{LAUNCHER} cursor", "timeout": 30, "failClosed": False}
    write_json(hooks, {"version": 1, "hooks": {"beforeShellExecution": [entry]}})
    proc = box.opsgate("install", "cursor", "--project", check=True)
    assert '-        "failClosed": false' in proc.stdout
    assert '+        "failClosed": true' in proc.stdout
    doc = read_json(hooks)
    assert all(items[0]["failClosed"] is True for items in doc["hooks"].values())
    assert len(doc["hooks"]["beforeShellExecution"]) == 1  # replaced in place


def test_rerunning_install_is_a_no_op(box: Sandbox) -> None:
    box.opsgate("install", "claude", "--user", check=True)
    settings = box.home / ".claude/settings.json"
    before, mtime = settings.read_bytes(), settings.stat().st_mtime_ns
    proc = box.opsgate("install", "claude", "--user", check=True)
    assert "already up to date" in proc.stdout
    assert "---" not in proc.stdout
    assert settings.read_bytes() == before
    assert settings.stat().st_mtime_ns == mtime
    assert not settings.with_name("settings.json.opsgate-backup").exists()


def test_install_keeps_foreign_hooks_and_settings_then_uninstall_restores(box: Sandbox) -> None:
    settings = box.home / ".claude/settings.json"
    original = _foreign_config(agent_named("claude"))
    original_text = write_json(settings, original)
    box.opsgate("install", "claude", check=True)  # --user is the default
    installed = read_json(settings)
    assert installed["model"] == "some-model"
    assert installed["permissions"] == original["permissions"]
    assert installed["hooks"]["PostToolUse"] == original["hooks"]["PostToolUse"]
    pre = installed["hooks"]["PreToolUse"]
    assert pre[0] == original["hooks"]["PreToolUse"][0]  # the user's hook keeps its place
    assert pre[1]["matcher"] == CLAUDE_MATCHER
    backup = settings.with_name("settings.json.opsgate-backup")
    assert backup.read_text() == original_text

    proc = box.opsgate("uninstall", "claude", check=True)
    assert "-" + " " * 12 + f'"command": "{LAUNCHER} claude"' in proc.stdout
    assert settings.read_text() == original_text


def test_dry_run_shows_the_diff_and_writes_nothing(box: Sandbox) -> None:
    proc = box.opsgate("install", "claude", "--project", "--dry-run", check=True)
    assert f"{LAUNCHER} claude" in proc.stdout and "dry run" in proc.stdout
    assert not (box.project / ".claude").exists()

    settings = box.project / ".claude/settings.json"
    text = write_json(settings, _foreign_config(agent_named("claude")))
    proc = box.opsgate("install", "claude", "--project", "--dry-run", check=True)
    assert "+" in proc.stdout and CLAUDE_MATCHER in proc.stdout
    assert settings.read_text() == text
    assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]

    box.opsgate("install", "claude", "--project", check=True)
    installed = settings.read_text()
    proc = box.opsgate("uninstall", "claude", "--project", "--dry-run", check=True)
    assert f'-            "command": "{LAUNCHER} claude"' in proc.stdout
    assert settings.read_text() == installed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"hooks": {"PreToolUse": [}\n', "settings.json:1:"),
        ('{\n  // my settings\n  "model": "x"\n}\n', "settings.json:2:"),
        ('["not", "an", "object"]\n', "expected a JSON object"),
        ('{"hooks": []}\n', '"hooks" is an array'),
        ('{"hooks": {"PreToolUse": {"matcher": "Bash"}}}\n', '"hooks.PreToolUse" is an object'),
    ],
    ids=["invalid-json", "comments", "array", "hooks-array", "event-object"],
)
def test_malformed_config_is_a_clear_error_and_left_untouched(
    box: Sandbox, content: str, message: str
) -> None:
    settings = box.home / ".claude/settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(content)
    for verb in ("install", "uninstall"):
        proc = box.opsgate(verb, "claude")
        assert proc.returncode == 9, proc.stdout  # bad configuration
        assert message in proc.stderr
        assert "untouched" in proc.stderr or "fix" in proc.stderr
        assert settings.read_text() == content
        assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]


def _cmd(command: str) -> dict[str, str]:
    return {"type": "command", "command": command}


def test_install_updates_an_outdated_entry_in_place(box: Sandbox) -> None:
    settings = box.project / ".claude/settings.json"
    foreign = {"type": "command", "command": "my-check", "timeout": 5}
    write_json(
        settings,
        {
            "hooks": {
                "PreToolUse": [
                    {"matcher": "Bash", "hooks": [_cmd("/old/venv/bin/opsgate-hook claude")]},
                    {"matcher": "Write", "hooks": [foreign]},
                    {"matcher": "Read", "hooks": [_cmd("opsgate hook claude")]},
                ]
            }
        },
    )  # fmt: skip
    box.opsgate("install", "claude", "--project", check=True)
    groups = read_json(settings)["hooks"]["PreToolUse"]
    assert groups == [
        {
            "matcher": CLAUDE_MATCHER,
            "hooks": [CLAUDE_ENTRY],
        },
        {"matcher": "Write", "hooks": [foreign]},
    ]


def test_uninstall_leaves_a_foreign_hook_sharing_our_group(box: Sandbox) -> None:
    settings = box.project / ".claude/settings.json"
    foreign = {"type": "command", "command": "my-check"}
    ours = {"type": "command", "command": f"{LAUNCHER} claude", "timeout": 30}
    write_json(settings, {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [ours, foreign]}]}})
    box.opsgate("uninstall", "claude", "--project", check=True)
    assert read_json(settings) == {
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [foreign]}]}
    }


def test_uninstall_when_not_installed_changes_nothing(box: Sandbox) -> None:
    proc = box.opsgate("uninstall", "gemini", check=True)
    assert "nothing to do" in proc.stdout
    assert not (box.home / ".gemini").exists()


def test_install_through_a_symlinked_settings_file_keeps_the_link(box: Sandbox) -> None:
    real = box.root / "dotfiles/claude-settings.json"
    write_json(real, {"model": "x"})
    link = box.home / ".claude/settings.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    box.opsgate("install", "claude", check=True)
    assert link.is_symlink()
    assert read_json(real)["hooks"]["PreToolUse"][0]["matcher"] == CLAUDE_MATCHER


def test_unknown_agent_is_an_input_error(box: Sandbox) -> None:
    proc = box.opsgate("install", "vim")
    assert proc.returncode == 2
    assert "unknown agent 'vim'" in proc.stderr and "claude" in proc.stderr


@pytest.mark.parametrize("scope", ["project", "user"])
@pytest.mark.parametrize("agent", AGENTS, ids=[a.name for a in AGENTS])
def test_round_trip_for_every_agent(box: Sandbox, agent: Agent, scope: str) -> None:
    path = _path(box, agent, scope)
    # 1. No file before: install creates it, uninstall removes it again.
    box.opsgate("install", agent.name, f"--{scope}", check=True)
    doc = read_json(path)
    ours = find_ours(agent, path, doc)
    assert [f.event for f in ours] == [e.name for e in agent.events]
    for found, event in zip(ours, agent.events, strict=True):
        assert found.matcher == event.matcher
        assert found.command == f"{LAUNCHER} {agent.name}"
        assert agent.timeout_seconds(found.entry) == 30
    for key, value in agent.file_extra.items():
        assert doc[key] == value
    box.opsgate("uninstall", agent.name, f"--{scope}", check=True)
    assert not path.exists()

    # 2. A file with the user's own hooks: install adds, uninstall restores exactly.
    original = write_json(path, _foreign_config(agent))
    box.opsgate("install", agent.name, f"--{scope}", check=True)
    merged = read_json(path)
    assert len(find_ours(agent, path, merged)) == len(agent.events)
    assert json.dumps(merged).count("./scripts/audit.sh") + json.dumps(merged).count(
        "my-linter"
    ) == original.count("./scripts/audit.sh") + original.count("my-linter")
    again = box.opsgate("install", agent.name, f"--{scope}", check=True)
    assert "already up to date" in again.stdout
    box.opsgate("uninstall", agent.name, f"--{scope}", check=True)
    assert path.read_text() == original


@pytest.mark.parametrize("command", ["install", "uninstall", "doctor"])
def test_help(box: Sandbox, command: str) -> None:
    proc = box.opsgate(command, "--help", check=True)
    assert f"usage: opsgate {command}" in proc.stdout
    assert "claude" in proc.stdout
    assert not box.data.joinpath("opsgate.db").exists()


def test_install_keeps_the_files_indentation(box: Sandbox) -> None:
    settings = box.home / ".gemini/settings.json"
    settings.parent.mkdir(parents=True)
    original = json.dumps({"theme": "dark", "general": {"vimMode": True}}, indent=4) + "\n"
    settings.write_text(original)
    proc = box.opsgate("install", "gemini", check=True)
    changed = [line for line in proc.stdout.splitlines() if line[:1] in "+-"]
    assert not any(line.startswith("-") and not line.startswith("---") for line in changed)
    assert '    "hooks": {' in settings.read_text()
    box.opsgate("uninstall", "gemini", check=True)
    assert settings.read_text() == original


def test_codex_user_install_follows_codex_home(box: Sandbox) -> None:
    """Codex 0.171.0 reads its user hooks from $CODEX_HOME when that is set, and then
    not from ~/.codex (checked with the real CLI's hook listing): a user install must
    go where Codex looks, and uninstall must find it there."""
    codex_home = box.root / "codex-home"
    env = {"CODEX_HOME": str(codex_home)}
    box.opsgate("install", "codex", "--user", check=True, env=env)
    doc = read_json(codex_home / "hooks.json")
    assert doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == f"{LAUNCHER} codex"
    assert not (box.home / ".codex").exists()
    box.opsgate("uninstall", "codex", "--user", check=True, env=env)
    assert not (codex_home / "hooks.json").exists()
