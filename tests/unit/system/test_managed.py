"""Each agent's managed configuration: opsgate's hook goes in beside the
administrator's own settings, comes out leaving exactly them, and what the agent will
read from the result is checked (TOML for Codex, JSON for the others)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from opsgate.integrations import agent_named
from opsgate.integrations.config import AgentConfigError, find_ours
from opsgate.system import MANAGED, managed_for
from opsgate.system._managed import load_managed, plan_add, plan_remove

COMMAND = "/usr/local/lib/opsgate/opsgate-hook-fast {agent}"
ADMIN_JSON = {"permissions": {"deny": ["Bash(curl:*)"]}, "model": "claude-sonnet-4-5"}
ADMIN_TOML = 'approval_policy = "on-request"\n\n[mcp_servers.docs]\nidentity = "x"\n'


def _write(path: Path, text: str | None) -> None:
    if text is None:
        path.unlink(missing_ok=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize("row", MANAGED, ids=lambda r: r.agent)
def test_add_then_remove_gives_back_the_administrators_file(row, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / row.path.lstrip("/")
    original = (
        ADMIN_TOML if row.form == "toml-block" else json.dumps(ADMIN_JSON, indent=4) + "\n"
    )  # their indentation stays too
    _write(path, original)
    change, added = plan_add(row, path, COMMAND.format(agent=row.agent))
    _write(path, change.after)
    doc = load_managed(row, path)
    assert doc is not None
    ours = find_ours(agent_named(row.agent), path, doc)
    assert [f.command for f in ours] == [COMMAND.format(agent=row.agent)] * len(ours) and ours
    for key, value in ADMIN_JSON.items() if row.form == "merge" else ():
        assert doc[key] == value  # the administrator's settings stay
    again, _ = plan_add(row, path, COMMAND.format(agent=row.agent))
    assert not again.changed  # re-running install is a no-op
    _write(path, plan_remove(row, path, added).after)
    assert path.read_text() == original


@pytest.mark.parametrize("row", MANAGED, ids=lambda r: r.agent)
def test_a_file_that_held_only_opsgate_goes_away(row, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / row.path.lstrip("/")
    change, added = plan_add(row, path, COMMAND.format(agent=row.agent))
    assert change.before is None
    _write(path, change.after)
    assert plan_remove(row, path, added).after is None


def test_codex_pins_hooks_on_and_carries_the_hook() -> None:
    row = managed_for("codex")
    change, _ = plan_add(row, Path("/nonexistent/requirements.toml"), "/x/opsgate-hook-fast codex")
    doc = tomllib.loads(change.after or "")
    assert doc["features"]["hooks"] is True
    group = doc["hooks"]["PreToolUse"][0]
    assert group["matcher"] == "Bash|apply_patch|mcp__.*"
    assert group["hooks"] == [
        {"type": "command", "command": "/x/opsgate-hook-fast codex", "timeout": 30}
    ]


def test_codex_refuses_to_rewrite_an_existing_features_table(tmp_path: Path) -> None:
    path = tmp_path / "requirements.toml"
    path.write_text("[features]\nweb_search = false\n")
    with pytest.raises(AgentConfigError) as caught:
        plan_add(managed_for("codex"), path, "/x/opsgate-hook-fast codex")
    assert "hooks = true" in (caught.value.hint or "")  # the lines to add by hand


def test_gemini_pins_hooks_enabled_and_removes_only_what_it_added(tmp_path: Path) -> None:
    row = managed_for("gemini")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"hooksConfig": {"notifications": False}}) + "\n")
    change, added = plan_add(row, path, "/x/opsgate-hook-fast gemini")
    assert added == ["hooksConfig.enabled"]
    assert json.loads(change.after or "")["hooksConfig"] == {
        "notifications": False,
        "enabled": True,
    }
    path.write_text(change.after or "")
    assert json.loads(plan_remove(row, path, added).after or "") == {
        "hooksConfig": {"notifications": False}
    }


def test_every_agent_has_a_row_and_a_source() -> None:
    from opsgate.integrations import AGENTS

    assert sorted(m.agent for m in MANAGED) == sorted(a.name for a in AGENTS)
    assert all(m.source.startswith("https://") and m.path.startswith("/etc/") for m in MANAGED)
    assert [m.agent for m in MANAGED if not m.protected] == ["gemini"]
