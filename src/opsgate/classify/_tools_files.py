"""File tools (Read, Write, Edit …): what the path is, and what the written content would run."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from opsgate.classify.paths import Workspace, is_secret_path, protected_reason
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["Shell", "_f", "classify_file_tool"]

Shell = Callable[[str, str | None], list[Finding]]


def _f(category: str, impact: Impact, effect: Effect, evidence: str, reason: str,
       target: str | None = None, env: Environment | None = None) -> Finding:  # fmt: skip
    return Finding(
        category,
        impact,
        effect,
        evidence[:200],
        reason,
        target,
        env,
        "agent workspace" if env is Environment.LOCAL else None,
    )


def classify_file_tool(
    tool: str, tool_input: dict[str, Any], ws: Workspace, cwd: str | None, shell: Shell
) -> list[Finding]:
    path_value = (
        tool_input.get("file_path") or tool_input.get("notebook_path") or tool_input.get("path")
    )
    if not isinstance(path_value, str) or not path_value:
        evidence = json.dumps(tool_input)[:200]
        reason = f"{tool} without a file path"
        return [_f("unknown", Impact.CAUTION, Effect.UNKNOWN, evidence, reason)]
    full = ws.expand(path_value, cwd) or path_value
    if tool in ("Read", "Grep", "Glob", "LS", "read_file", "read"):
        if is_secret_path(full):
            reason = f"reads {path_value}, which holds credentials"
            return [_f("secrets.read", Impact.CAUTION, Effect.SECRET, path_value, reason, full)]
        return [_f("filesystem.read", Impact.SAFE, Effect.READ, path_value, "reads a file")]
    local = Environment.LOCAL
    protected = protected_reason(full, ws)
    if protected:
        reason = f"{tool} writes {full}: {protected}"
        category = "filesystem.protected_write"
        return [_f(category, Impact.CAUTION, Effect.WRITE, path_value, reason, full, local)]
    reason = f"{tool} edits {path_value}"
    findings = [_f("filesystem.write", Impact.SAFE, Effect.LOCAL, path_value, reason, full, local)]
    findings += _content_findings(full, tool_input, shell)
    return findings


_SCRIPT_SUFFIX = re.compile(r"\.(sh|bash|zsh|ksh|command)$")


def _content_findings(path: str, tool_input: dict[str, Any], shell: Shell) -> list[Finding]:
    """A new script whose only job is a catastrophe is stopped before it exists."""
    text = tool_input.get("content")
    if not isinstance(text, str):
        text = tool_input.get("new_string") if isinstance(tool_input.get("new_string"), str) else ""
    assert isinstance(text, str)
    if not text:
        return []
    lang: str | None = None
    if path.endswith(("/package.json", "/composer.json")):
        hooks = _lifecycle_scripts(text)
        if hooks:
            lang = "sh"
            text = hooks
    if _SCRIPT_SUFFIX.search(path) or re.match(r"#!\s*\S*(ba|z|k|da)?sh\b", text):
        lang = "sh"
    elif path.endswith(".py") or text.startswith("#!/usr/bin/env python"):
        lang = "python"
    if lang is None:
        return []
    script = text if lang == "sh" else _python_as_shell(text)
    found = shell(script, None) if script is not None else []
    return [
        _f(
            f.category,
            f.impact,
            Effect.WRITE,
            path,
            f"the file it writes would {f.reason}",
            f.target,
        )
        for f in found
        if f.impact is Impact.DESTRUCTIVE and f.effect is Effect.WRITE
    ]


_LIFECYCLE = ("preinstall", "install", "postinstall", "prepare", "preuninstall", "postuninstall",
              "prepublish", "prepack", "postpack", "dependencies", "post-install-cmd",
              "post-update-cmd", "pre-install-cmd", "post-autoload-dump")  # fmt: skip


def _lifecycle_scripts(text: str) -> str | None:
    """Scripts npm/composer run by themselves on install: they are code that will run."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return None
    lines = []
    for key in _LIFECYCLE:
        value = scripts.get(key)
        if isinstance(value, str):
            lines.append(value)
        elif isinstance(value, list):
            lines.extend(v for v in value if isinstance(v, str))
    return "\n".join(lines) or None


def _python_as_shell(text: str) -> str | None:
    """Python source, run through the interpreter classifier via a here-doc."""
    if "'OPSGATE_EOF'" in text:
        return None
    return f"python3 - <<'OPSGATE_EOF'\n{text}\nOPSGATE_EOF\n"
