"""``opsgate doctor``: passes on a good install, and on each broken one fails with the
message that names the fault — the real CLI, running the configured hook command
through /bin/sh exactly as the agent would."""

from __future__ import annotations

import importlib
import importlib.util
import stat
from pathlib import Path

import pytest
from agents_support import LAUNCHER, Sandbox, make_sandbox, read_json, write_json

from opsgate.integrations import AGENTS, Agent, agent_named
from opsgate.integrations.doctor import covers


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return make_sandbox(tmp_path)


def _hook_exists(agent: Agent) -> bool:
    hooks = importlib.import_module("opsgate.hooks")
    table = getattr(hooks, "AGENTS", None) or getattr(hooks, "_AGENTS", {})
    module = table.get(agent.name)
    return module is not None and importlib.util.find_spec(f"opsgate.hooks.{module}") is not None


def _installed(box: Sandbox, agent: str = "claude") -> Path:
    box.opsgate("install", agent, "--project", check=True)
    return box.project / agent_named(agent).project_file


def _set_command(settings: Path, command: str) -> None:
    doc = read_json(settings)
    doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"] = command
    write_json(settings, doc)


def _script(box: Sandbox, body: str, *, mode: int = 0o755) -> Path:
    path = box.root / "fake-bin" / "opsgate-hook"
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return path


def test_good_install_passes(box: Sandbox) -> None:
    _installed(box)
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.startswith("PASS  Claude Code (claude)")
    assert "FAIL" not in out
    for line in (
        "PreToolUse covers every required tool",
        "destructive canary (rm -rf /) was blocked",
        "harmless command was allowed",
        "destructive canary audited (decision: require_approval)",
        "harmless command audited (decision: allow)",
    ):
        assert line in out


def test_doctor_without_agent_checks_the_installed_ones(box: Sandbox) -> None:
    proc = box.opsgate("doctor")
    assert proc.returncode == 1
    assert "no agent has opsgate's hook installed" in proc.stdout
    _installed(box)
    proc = box.opsgate("doctor")
    assert proc.returncode == 0, proc.stdout
    assert "Claude Code" in proc.stdout and "Gemini" not in proc.stdout


def test_not_installed_fails_with_the_install_command(box: Sandbox) -> None:
    write_json(box.home / ".claude/settings.json", {"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}]}})  # fmt: skip
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "not installed for Claude Code" in proc.stdout
    assert "fix: opsgate install claude" in proc.stdout


def test_wrong_path_fails(box: Sandbox) -> None:
    settings = _installed(box)
    _set_command(settings, "/opt/gone/bin/opsgate-hook claude")
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "wrong path: /opt/gone/bin/opsgate-hook does not exist" in proc.stdout
    # …and the consequence, observed by running it: sh exits 127, the agent runs the tool.
    assert "destructive canary (rm -rf /) was allowed (exit 127" in proc.stdout


def test_matcher_missing_a_tool_fails_and_names_it(box: Sandbox) -> None:
    settings = _installed(box)
    doc = read_json(settings)
    doc["hooks"]["PreToolUse"][0]["matcher"] = "Bash|Read|Write|Edit|NotebookEdit|WebFetch"
    write_json(settings, doc)
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "misses tools: PowerShell, MultiEdit, Grep, mcp__server__tool" in proc.stdout
    assert "destructive canary (rm -rf /) was blocked" in proc.stdout  # Bash itself is fine


def test_hook_not_executable_fails(box: Sandbox) -> None:
    settings = _installed(box)
    copy = _script(box, LAUNCHER.read_text().split("\n", 1)[1], mode=0o644)
    _set_command(settings, f"{copy} claude")
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert f"{copy} is not executable" in proc.stdout
    assert f"fix: chmod +x {copy}" in proc.stdout
    assert "was allowed (exit 126" in proc.stdout


def test_hook_that_allows_everything_fails(box: Sandbox) -> None:
    settings = _installed(box)
    _set_command(settings, f"{_script(box, 'cat >/dev/null; exit 0')} claude")
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "destructive canary (rm -rf /) was allowed (exit 0)" in proc.stdout
    assert "the agent would run it" in proc.stdout


def test_hook_that_fails_open_with_exit_1_fails(box: Sandbox) -> None:
    """Exit 1 is a non-blocking error to Claude Code: the tool runs."""
    settings = _installed(box)
    _set_command(settings, f"{_script(box, 'echo boom >&2; exit 1')} claude")
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "destructive canary (rm -rf /) was allowed (exit 1: boom)" in proc.stdout


def test_hook_that_blocks_but_does_not_audit_fails(box: Sandbox) -> None:
    body = 'if grep -q "rm -rf"; then echo "blocked" >&2; exit 2; fi; exit 0'
    settings = _installed(box)
    _set_command(settings, f"{_script(box, body)} claude")
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "destructive canary (rm -rf /) was blocked" in proc.stdout
    assert "harmless command was allowed" in proc.stdout
    assert "destructive canary is not in the audit log" in proc.stdout


def test_hook_that_overruns_the_agent_timeout_fails(box: Sandbox) -> None:
    settings = _installed(box)
    doc = read_json(settings)
    entry = doc["hooks"]["PreToolUse"][0]["hooks"][0]
    entry.update(command=f"{_script(box, 'sleep 30')} claude", timeout=1)
    write_json(settings, doc)
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "overran Claude Code's 1 s timeout" in proc.stdout


def test_malformed_settings_fail_with_the_location(box: Sandbox) -> None:
    settings = box.project / ".claude/settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"hooks": ')
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert "settings.json:1:" in proc.stdout and "not valid JSON" in proc.stdout


@pytest.mark.parametrize("agent", AGENTS, ids=[a.name for a in AGENTS])
def test_every_agent_good_install_passes(box: Sandbox, agent: Agent) -> None:
    if not _hook_exists(agent):
        pytest.skip(f"`opsgate hook {agent.name}` is not implemented yet")
    box.opsgate("install", agent.name, "--user", check=True)
    proc = box.opsgate("doctor", agent.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"PASS  {agent.title}")


@pytest.mark.parametrize(
    ("matcher", "tool", "expected"),
    [
        (None, "Bash", True),
        ("*", "anything", True),
        ("", "Write", True),
        ("Bash", "Bash", True),
        ("Bash", "BashOutput", False),  # plain names are exact
        ("Edit|Write", "MultiEdit", False),
        ("mcp__.*", "mcp__github__create_issue", True),
        ("Notebook.*", "NotebookEdit", True),
        ("([", "Bash", False),  # an invalid regex covers nothing
    ],
)
def test_matcher_semantics(matcher: str | None, tool: str, expected: bool) -> None:
    assert covers(matcher, tool) is expected


def test_fake_script_modes_are_what_the_tests_assume(box: Sandbox) -> None:
    path = _script(box, "exit 0", mode=0o644)
    assert not path.stat().st_mode & stat.S_IXUSR


@pytest.mark.parametrize(
    ("agent", "file", "content", "message"),
    [
        ("claude", ".claude/settings.local.json", '{"disableAllHooks": true}',
         "sets disableAllHooks = true: Claude Code runs no hooks"),
        ("gemini", ".gemini/settings.json", '{"hooksConfig": {"enabled": false}}',
         "sets hooksConfig.enabled = false: Gemini CLI runs no hooks"),
        ("codex", ".codex/config.toml", "[features]\nhooks = false\n",
         "sets features.hooks = false: Codex CLI runs no hooks"),
    ],
    ids=["claude", "gemini", "codex"],
)  # fmt: skip
def test_hooks_switched_off_in_settings_fail(
    box: Sandbox, agent: str, file: str, content: str, message: str
) -> None:
    box.opsgate("install", agent, "--user", check=True)
    target = box.project / file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    proc = box.opsgate("doctor", agent)
    assert proc.returncode == 1
    assert message in proc.stdout
    assert f"fix: remove {'.'.join(message.split(' = ')[0].split()[-1:])}" in proc.stdout


def test_every_entry_is_checked_not_only_the_canary_one(box: Sandbox) -> None:
    box.opsgate("install", "cursor", "--user", check=True)
    hooks = box.home / ".cursor/hooks.json"
    doc = read_json(hooks)
    doc["hooks"]["beforeReadFile"][0]["command"] = "/opt/old/opsgate-hook cursor"
    write_json(hooks, doc)
    proc = box.opsgate("doctor", "cursor")
    assert proc.returncode == 1
    assert "wrong path: /opt/old/opsgate-hook does not exist" in proc.stdout
    assert "destructive canary (rm -rf /) was blocked" in proc.stdout  # the shell hook is fine


def _edit_entries(path: Path, **fields: object) -> None:
    """Set (or, with None, remove) ``fields`` on every entry of a flat hooks file."""
    doc = read_json(path)
    for items in doc["hooks"].values():
        for entry in items:
            for key, value in fields.items():
                if value is None:
                    entry.pop(key, None)
                else:
                    entry[key] = value
    write_json(path, doc)


@pytest.mark.parametrize("value", [None, False, "true"], ids=["missing", "false", "string"])
def test_cursor_entry_that_fails_open_fails(box: Sandbox, value: object) -> None:
    hooks = _installed(box, "cursor")
    _edit_entries(hooks, failClosed=value)
    proc = box.opsgate("doctor", "cursor")
    assert proc.returncode == 1, proc.stdout
    assert "FAIL  Cursor" in proc.stdout
    assert (
        "beforeShellExecution, beforeReadFile, beforeMCPExecution, preToolUse without "
        "failClosed: true: Cursor runs the tool when the hook crashes or times out"
    ) in proc.stdout
    assert "fix: opsgate install cursor" in proc.stdout
    # The fix the doctor names really fixes it.
    box.opsgate("install", "cursor", "--project", check=True)
    again = box.opsgate("doctor", "cursor")
    assert again.returncode == 0, again.stdout
    assert "every entry sets failClosed: true (a failing hook blocks)" in again.stdout


def test_claude_entry_without_on_failure_block_fails(box: Sandbox) -> None:
    settings = _installed(box)
    doc = read_json(settings)
    doc["hooks"]["PreToolUse"][0]["hooks"][0]["onFailure"] = "continue"
    write_json(settings, doc)
    proc = box.opsgate("doctor", "claude")
    assert proc.returncode == 1
    assert 'PreToolUse without onFailure: "block": Claude Code runs the tool' in proc.stdout


def test_async_entry_fails(box: Sandbox) -> None:
    settings = _installed(box, "codex")
    doc = read_json(settings)
    doc["hooks"]["PreToolUse"][0]["hooks"][0]["async"] = True
    write_json(settings, doc)
    proc = box.opsgate("doctor", "codex")
    assert proc.returncode == 1
    assert "PreToolUse entry runs async: Codex CLI does not wait for its answer" in proc.stdout


def test_a_per_user_install_is_called_tamperable_with_the_fix(box: Sandbox) -> None:
    """Everything a per-user hook rests on belongs to the agent's own user: the doctor
    says so plainly, with the command that fixes it; it fails only when asked to."""
    _installed(box)
    nothing = box.root / "no-system"  # no protected mode under this root
    proc = box.opsgate("doctor", "claude", "--root", str(nothing))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TAMPERABLE by the agent's own user: Claude Code could switch this guard off" in (
        proc.stdout
    )
    assert "protected mode is not set up" in proc.stdout
    assert "fix: sudo opsgate install claude --system" in proc.stdout
    strict = box.opsgate("doctor", "claude", "--root", str(nothing), "--require-protected")
    assert strict.returncode == 1
    assert strict.stdout.startswith("FAIL  Claude Code (claude)")


def test_codex_hooks_switched_off_under_codex_home_fail(box: Sandbox) -> None:
    """The user's Codex config is $CODEX_HOME/config.toml when CODEX_HOME is set."""
    env = {"CODEX_HOME": str(box.root / "codex-home")}
    box.opsgate("install", "codex", "--user", check=True, env=env)
    (box.root / "codex-home" / "config.toml").write_text("[features]\nhooks = false\n")
    proc = box.opsgate("doctor", "codex", env=env)
    assert proc.returncode == 1
    assert "codex-home/config.toml sets features.hooks = false" in proc.stdout
    assert f"hook installed in {box.root / 'codex-home' / 'hooks.json'}" in proc.stdout
