"""Each agent's system-wide (managed) hook configuration, as data, and how opsgate
adds its hook there and takes it out again.

Sources (checked 2026-12; see docs/protected-mode.md for the table):

- Claude Code: ``/etc/claude-code/managed-settings.json``, "managed settings … can't
  be overridden by anything"; ``disableAllHooks`` in user or project settings only
  disables non-managed hooks (code.claude.com/docs/en/settings, …/hooks).
- Codex CLI: ``/etc/codex/requirements.toml``, admin-enforced requirements; inline
  ``[hooks]`` there are managed hooks, trusted by policy, not disabled in the user's
  hook browser (developers.openai.com/codex/enterprise/managed-configuration,
  …/codex/hooks; openai/codex PR 18893).  ``[features] hooks = true`` there keeps a
  user's ``[features] hooks = false`` from switching every hook off.
- Gemini CLI: ``/etc/gemini-cli/settings.json``, system settings that override user
  and project settings (geminicli.com/docs/reference/configuration) — but not for
  ``hooksConfig.disabled``, which 0.61.0 merges from every file (``mergeStrategy:
  union``), and ``GEMINI_CLI_SYSTEM_SETTINGS_PATH`` moves the file: the agent's user
  can still switch the hook off, so opsgate calls Gemini CLI tamperable.
- Cursor: ``/etc/cursor/hooks.json``, enterprise hooks, run together with team,
  project and user hooks (cursor.com/docs/agent/hooks).
- GitHub Copilot CLI: ``/etc/github-copilot/policy.d/*.json``, policy hooks:
  machine-wide, not disabled by ``disableAllHooks``, loaded regardless of folder trust
  (docs.github.com/en/copilot/reference/hooks-reference, "Policy hooks").
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opsgate.integrations._agents import Agent, agent_named
from opsgate.integrations.config import (
    AgentConfigError,
    Change,
    dump_like,
    find_ours,
    load,
    plan_install,
    plan_uninstall,
)

__all__ = ["MANAGED", "Managed", "load_managed", "managed_for", "plan_add", "plan_remove"]

Form = Literal["merge", "toml-block"]


@dataclass(frozen=True)
class Managed:
    agent: str
    path: str  # on a real system; under a layout's root otherwise
    form: Form
    protected: bool  # whether the agent's own user can no longer switch the hook off
    source: str
    extra: Mapping[str, Any] = field(default_factory=dict)  # set beside the hook (merge)
    # Keys in this file that would turn opsgate's hook off (doctor reports them).
    off_switches: tuple[tuple[tuple[str, ...], object], ...] = ()
    caveats: tuple[str, ...] = ()


MANAGED: tuple[Managed, ...] = (
    Managed(
        "claude",
        "/etc/claude-code/managed-settings.json",
        "merge",
        protected=True,
        source="https://code.claude.com/docs/en/settings",
        off_switches=((("disableAllHooks",), True),),
        caveats=(
            "Claude Code reads one managed source: server-managed settings (Claude.ai admin "
            "console) or MDM profiles win over this file; if you use them, add the hook there.",
        ),
    ),
    Managed(
        "codex",
        "/etc/codex/requirements.toml",
        "toml-block",
        protected=True,
        source="https://developers.openai.com/codex/enterprise/managed-configuration",
        off_switches=((("features", "hooks"), False),),
        caveats=(
            "Codex reads hooks from requirements.toml since openai/codex PR 18893 (2026-04); "
            "older releases ignore them — keep Codex current.",
        ),
    ),
    Managed(
        "gemini",
        "/etc/gemini-cli/settings.json",
        "merge",
        protected=False,
        source="https://geminicli.com/docs/reference/configuration",
        extra={"hooksConfig": {"enabled": True}},
        off_switches=((("hooksConfig", "enabled"), False),),
        caveats=(
            "Gemini CLI merges hooksConfig.disabled from the user's own settings into the "
            "system file's (mergeStrategy union, 0.61.0) and lets GEMINI_CLI_SYSTEM_SETTINGS_PATH "
            "replace the system file, so its user can still switch the hook off: only opsgate's "
            "guard safeguard (which denies those edits) stands in the way.",
        ),
    ),
    Managed(
        "cursor",
        "/etc/cursor/hooks.json",
        "merge",
        protected=True,
        source="https://cursor.com/docs/agent/hooks",
    ),
    Managed(
        "copilot",
        "/etc/github-copilot/policy.d/opsgate.json",
        "merge",
        protected=True,
        source="https://docs.github.com/en/copilot/reference/hooks-reference",
        caveats=("Policy hooks need GitHub Copilot CLI 1.0.18 or later.",),
    ),
)


def managed_for(agent: str) -> Managed:
    name = agent_named(agent).name
    return next(m for m in MANAGED if m.agent == name)


# --- reading ------------------------------------------------------------------------


def load_managed(row: Managed, path: Path) -> dict[str, Any] | None:
    """The parsed file (TOML or JSON), or None when it does not exist."""
    if row.form != "toml-block":
        return load(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AgentConfigError(f"cannot read {path}: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(
            f"{path}: not valid TOML ({exc}); opsgate left it untouched"
        ) from exc


# --- planning -----------------------------------------------------------------------


def plan_add(row: Managed, path: Path, command: str) -> tuple[Change, list[str]]:
    """The change that adds opsgate's hook (and the row's extra settings) to ``path``,
    and the extra settings it adds that were not there (so that removal takes exactly
    those out again)."""
    agent = agent_named(row.agent)
    if row.form == "toml-block":
        return _plan_toml(agent, path, command), []
    before = load(path) or {}
    change = plan_install(agent, path, command)
    # Top-level keys the agent's file format needs (Cursor's and Copilot's "version"):
    # added only when missing, and then removed again with the hook.
    added = [key for key in agent.file_extra if key not in before]
    if not row.extra:
        return change, added
    doc = json.loads(change.after or "{}")
    added += [".".join(keys) for keys, value in _leaves(row.extra) if _set(doc, keys, value)]
    return Change(path, change.before, dump_like(doc, change.before)), added


def plan_remove(row: Managed, path: Path, added: list[str], original: str | None = None) -> Change:
    """The change that takes out opsgate's hook and the extra settings it added.
    ``original``: the file's text before opsgate's install; when what remains means
    the same, that very text comes back (JSON re-serialised would lose its layout)."""
    agent = agent_named(row.agent)
    if row.form == "toml-block":
        return _plan_toml(agent, path, None)
    change = plan_uninstall(agent, path)
    if change.after is None:
        return change
    doc = json.loads(change.after)
    for dotted in added:
        _unset(doc, tuple(dotted.split(".")))
    if doc == json.loads(change.before or "{}"):
        return Change(path, change.before, change.before)  # nothing of opsgate's there
    if not doc:
        return Change(path, change.before, None)
    if original is not None and _same_json(original, doc):
        return Change(path, change.before, original)
    return Change(path, change.before, dump_like(doc, change.before))


def _same_json(text: str, doc: dict[str, Any]) -> bool:
    try:
        return bool(json.loads(text) == doc)
    except ValueError:
        return False


def _leaves(
    tree: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out += _leaves(value, (*prefix, key))
        else:
            out.append(((*prefix, key), value))
    return out


def _set(doc: dict[str, Any], keys: tuple[str, ...], value: object) -> bool:
    """Set ``keys`` to ``value``; True when the key was not there before."""
    node = doc
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    was_absent = keys[-1] not in node
    node[keys[-1]] = value
    return was_absent


def _unset(doc: dict[str, Any], keys: tuple[str, ...]) -> None:
    node: Any = doc
    parents = []
    for key in keys[:-1]:
        parents.append((node, key))
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(keys[-1], None)
    for parent, key in reversed(parents):  # drop objects the removal left empty
        if parent.get(key) == {}:
            del parent[key]


# --- Codex: a delimited block in requirements.toml ------------------------------------

BEGIN = "# >>> opsgate: written by `opsgate install codex --system`; edit outside this block"
END = "# <<< opsgate"


def toml_block(agent: Agent, command: str) -> str:
    event = agent.events[0]
    return "\n".join([
        BEGIN,
        "[features]",
        "hooks = true",
        "",
        f"[[hooks.{event.name}]]",
        f"matcher = {json.dumps(event.matcher)}",
        "",
        f"[[hooks.{event.name}.hooks]]",
        'type = "command"',
        f"command = {json.dumps(command)}",
        f"timeout = {agent.timeout}",
        END,
    ])  # fmt: skip


def _without_block(text: str) -> str:
    lines = text.splitlines()
    if BEGIN not in lines:
        return text
    start = lines.index(BEGIN)
    end = lines.index(END, start) if END in lines[start:] else len(lines) - 1
    kept = lines[:start] + lines[end + 1 :]
    return "\n".join(kept).strip("\n") + ("\n" if any(k.strip() for k in kept) else "")


def _plan_toml(agent: Agent, path: Path, command: str | None) -> Change:
    try:
        before: str | None = path.read_text("utf-8")
    except FileNotFoundError:
        before = None
    rest = _without_block(before or "")
    try:
        rest_doc = tomllib.loads(rest)
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(
            f"{path}: not valid TOML ({exc}); opsgate left it untouched"
        ) from exc
    if command is None:
        return Change(path, before, rest if rest.strip() else None)
    if "features" in rest_doc:
        raise AgentConfigError(
            f"{path} already has a [features] table; opsgate will not rewrite it",
            hint="add these lines to that file by hand:\n" + toml_block(agent, command),
        )
    after = (rest.rstrip("\n") + "\n\n" if rest.strip() else "") + toml_block(agent, command) + "\n"
    doc = tomllib.loads(after)  # what Codex will read: opsgate's hook must be in it
    if not find_ours(agent, path, doc):
        raise AgentConfigError(f"{path}: opsgate's hook would not be read from the result")
    return Change(path, before, after)
