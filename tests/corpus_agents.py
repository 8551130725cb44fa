"""Corpus cases in any agent's own tool shape, run through that agent's hook.

A case without ``agent`` is a Claude Code PreToolUse call (the shared corpus format).
A case with ``agent`` (``codex``, ``gemini``, ``cursor``, ``copilot``) gives ``tool``
and ``input`` exactly as that agent names and shapes them — Codex ``apply_patch``
envelopes, Gemini ``write_file``/``replace``/``read_many_files``, Cursor events
(``tool`` is the hook event; ``input`` its own fields), Copilot ``toolName`` and
``toolArgs`` — so the adapters' parsing is tested along with the classifier.  Shared
by ``tests/test_corpus.py`` and ``benchmarks/corpus_eval.py``.

Every corpus runs in two permission modes (``MODES``): ``default``, where a person sees
Claude Code's prompt and an ``ask`` is a block, and ``bypassPermissions``, where
nobody does and an ``ask`` counts as an allow (as ``score.py --permission-mode
bypassPermissions`` counts it).  A case's own ``permission_mode`` wins over the run's.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

PROJECT = "/home/dev/project"
MODES = ("default", "bypassPermissions")


def payload(case: dict[str, Any], mode: str = "default") -> dict[str, Any]:
    """The hook's stdin for a case, in its agent's protocol."""
    agent, tool, data = case.get("agent", "claude"), case["tool"], case["input"]
    cwd = case.get("cwd", PROJECT)
    mode = case.get("permission_mode", mode)
    if agent == "claude":
        return {"session_id": "corpus", "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
                "permission_mode": mode, "hook_event_name": "PreToolUse",
                "tool_name": tool, "tool_input": data, "tool_use_id": "toolu_1"}  # fmt: skip
    if agent == "codex":
        return {"session_id": "corpus", "turn_id": "t1", "transcript_path": None, "cwd": cwd,
                "hook_event_name": "PreToolUse", "model": "gpt-5-codex",
                "permission_mode": mode, "tool_name": tool, "tool_input": data,
                "tool_use_id": "call_1"}  # fmt: skip
    if agent == "gemini":
        return {"session_id": "corpus", "transcript_path": "/tmp/t.json", "cwd": cwd,
                "hook_event_name": "BeforeTool", "timestamp": "2026-01-05T10:00:00Z",
                "tool_name": tool, "tool_input": data}  # fmt: skip
    if agent == "cursor":
        return {"conversation_id": "corpus", "generation_id": "g1", "model": "gpt-5",
                "cursor_version": "2.0.77", "workspace_roots": [cwd], "user_email": None,
                "transcript_path": None, "hook_event_name": tool} | data  # fmt: skip
    if agent == "copilot":
        return {"sessionId": "corpus", "timestamp": 1767607200000, "cwd": cwd,
                "toolName": tool, "toolArgs": json.dumps(data)}  # fmt: skip
    raise ValueError(f"unknown agent {agent!r}")


def _blocked(agent: str, out: str, code: int, mode: str = "default") -> bool:
    """Whether the agent itself reads the answer as a block; an answer it cannot read
    is an error (the agent would run the tool).  Where nobody sees the prompt
    (``bypassPermissions``), an ``ask`` is an allow."""
    body = json.loads(out) if out.strip() else None
    if agent in ("claude", "codex"):
        if body is None and code == 0:
            return False
        decision = body["hookSpecificOutput"]["permissionDecision"]
        assert decision in (("deny",) if agent == "codex" else ("deny", "ask")), out
        return not (decision == "ask" and mode == "bypassPermissions")
    if agent == "gemini":
        return bool(body and body.get("decision") == "deny")
    if agent == "cursor":
        if code == 2 or (body and body.get("permission") == "deny"):
            return True
        assert body == {"permission": "allow"}, out
        return False
    assert code == 0, (agent, code)
    return bool(body and body.get("permissionDecision") == "deny")


def verdict(case: dict[str, Any], mode: str = "default") -> tuple[str, str]:
    """("block" | "allow", the reason the hook gave) for a case, in permission ``mode``."""
    from opsgate.hooks import AGENTS

    agent = case.get("agent", "claude")
    module: Any = importlib.import_module(f"opsgate.hooks.{AGENTS[agent]}")
    sent = payload(case, mode)
    out, code = module.respond(json.dumps(sent).encode())
    blocked = _blocked(agent, out, code, sent.get("permission_mode", mode))
    return ("block" if blocked else "allow"), out
