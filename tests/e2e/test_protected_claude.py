"""The real Claude Code CLI in protected mode: opsgate installed with ``install claude
--system`` (under a temporary root, mounted over /etc in a private mount namespace so
the host's /etc is never touched), its decision service running as a throwaway
service user, and Claude Code running as a separate unprivileged user whose own user
and project settings say ``disableAllHooks: true``.

Managed hooks cannot be switched off by a user's or project's settings: the scripted
model's ``rm -rf data`` is stopped on the real filesystem, harmless work runs, and
the service records both decisions with the agent's OS user.  A control run without
the managed settings shows the same script really deletes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import CLAUDE_CODE, Workspace, agent_cli
from model_standin import Server, StandIn, ToolCall

from system_support import (
    System,
    drop_user,
    make_root,
    new_user,
    python_for_everyone,
    skip_unless_possible,
)

SCRIPT = [
    ToolCall("Bash", {"command": "rm -rf data", "description": "Remove old data"}),
    ToolCall("Bash", {"command": "echo hello > created.txt", "description": "Create"}),
]


def _overlay_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as top:
        probe = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                 f"mount -t overlay overlay -o lowerdir={top}:/etc /etc"]  # fmt: skip
        return subprocess.run(probe, capture_output=True, check=False).returncode == 0


@pytest.fixture
def protected(workspace: Workspace) -> Iterator[tuple[System, tuple[str, int, int]]]:
    skip_unless_possible()
    if not _overlay_works():
        pytest.skip("no private mount namespace with overlayfs here")
    root = make_root()
    box = System(root, python_for_everyone(root), f"ogs{os.urandom(4).hex()}")
    agent = new_user("oga", workspace.home)
    try:
        box.install("claude", "--no-start")
        box.start()
        for where in (workspace.home, workspace.project):
            settings = where / ".claude" / "settings.json"
            settings.parent.mkdir(parents=True, exist_ok=True)
            settings.write_text(json.dumps({"disableAllHooks": True, "hooks": {}}) + "\n")
        for path in (workspace.root, *workspace.root.rglob("*")):
            os.chown(path, agent[1], agent[2], follow_symlinks=False)
        yield box, agent
    finally:
        box.tear_down()
        drop_user(agent[0])
        shutil.rmtree(root, ignore_errors=True)


def _run_claude(ws: Workspace, agent: tuple[str, int, int], etc: Path | None) -> StandIn:
    claude = agent_cli(CLAUDE_CODE)
    standin = StandIn(list(SCRIPT))
    _, uid, gid = agent
    as_agent = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    command = [*as_agent, str(claude), "-p", "Tidy up this project.", "--output-format",
               "json", "--permission-mode", "bypassPermissions", "--model",
               "claude-sonnet-4-5"]  # fmt: skip
    if etc is not None:  # the managed settings appear at /etc/claude-code for this run only
        mount = 'mount -t overlay overlay -o lowerdir="$1":/etc /etc && shift && exec "$@"'
        command = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", mount,
                   "sh", str(etc), *command]  # fmt: skip
    with Server(standin) as server:
        env = ws.env(
            ANTHROPIC_BASE_URL=server.url,
            ANTHROPIC_API_KEY="dummy",
            DISABLE_TELEMETRY="1",
            DISABLE_ERROR_REPORTING="1",
            DISABLE_AUTOUPDATER="1",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        )
        proc = subprocess.run(command, cwd=ws.project, env=env, capture_output=True, text=True,
                              timeout=180, stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return standin


def test_managed_hook_stops_claude_code_despite_the_users_own_settings(
    workspace: Workspace, protected: tuple[System, tuple[str, int, int]]
) -> None:
    box, agent = protected
    _run_claude(workspace, agent, box.path("/etc"))
    assert (workspace.project / "data" / "keep.txt").read_text() == "precious\n"
    assert (workspace.project / "created.txt").read_text() == "hello\n"
    export = box.cli("audit", "export", "--data-dir", str(box.data), "--format", "jsonl")
    decided = [json.loads(line) for line in export.stdout.splitlines() if "decision.made" in line]
    commands = {e["action"]["input"].get("command"): e for e in decided}
    assert commands["rm -rf data"]["decision"] != "allow"
    assert commands["echo hello > created.txt"]["decision"] == "allow"
    assert {e["actor"]["os_user"] for e in decided} == {agent[0]}


def test_control_without_managed_settings_the_script_deletes(
    workspace: Workspace, protected: tuple[System, tuple[str, int, int]]
) -> None:
    _, agent = protected
    _run_claude(workspace, agent, None)
    assert not (workspace.project / "data").exists()
