"""Accuracy of every agent's hook protocol on the shared corpus.

Each corpus case is a Claude Code tool call.  This adapter rewrites it into the call
each other agent would make for the same intent — Codex: ``Bash`` or an
``apply_patch`` envelope (reads become ``cat``); Gemini CLI: ``run_shell_command``,
``read_file``, ``write_file``, ``replace``, ``web_fetch``; Cursor:
``beforeShellExecution``, ``beforeReadFile``, ``beforeMCPExecution`` and
``preToolUse`` Write/Edit; Copilot CLI: ``bash``, ``powershell``, ``view``,
``create``, ``edit``, ``web_fetch`` with ``toolArgs`` as JSON text — and reads the
answer in that agent's own protocol (a block is the agent's deny form or its
blocking exit code, nothing else).  A case an agent has no tool for (PowerShell on
Codex/Gemini/Cursor, a web fetch on Codex/Cursor) is skipped for that agent and
counted.  Every case runs through ``respond`` in process; a sample also runs through
the real ``opsgate hook <agent>`` process and must give the same answer.

    python benchmarks/agent_protocols.py [--processes 40] [--show]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "agent-actions.jsonl"
OPSGATE = str(Path(sys.executable).with_name("opsgate"))
PROJECT = "/home/dev/project"
Payload = dict[str, Any] | None


def _patch_add(path: str, content: str) -> str:
    body = "".join(f"+{line}\n" for line in content.splitlines())
    return f"*** Begin Patch\n*** Add File: {path}\n{body}*** End Patch\n"


def _patch_update(path: str, old: str, new: str) -> str:
    body = "".join(f"-{x}\n" for x in old.splitlines()) + "".join(
        f"+{x}\n" for x in new.splitlines()
    )
    return f"*** Begin Patch\n*** Update File: {path}\n@@\n{body}*** End Patch\n"


def codex(tool: str, data: dict[str, Any], cwd: str) -> Payload:
    base = {"session_id": "bench", "turn_id": "t1", "transcript_path": None, "cwd": cwd,
            "hook_event_name": "PreToolUse", "model": "gpt-5-codex",
            "permission_mode": "default", "tool_use_id": "call_1"}  # fmt: skip
    if tool == "Bash":
        return base | {"tool_name": "Bash", "tool_input": {"command": data["command"]}}
    if tool == "Read":  # Codex reads files through its shell
        command = shlex.join(["cat", data["file_path"]])
        return base | {"tool_name": "Bash", "tool_input": {"command": command}}
    if tool == "Write":
        patch = _patch_add(data["file_path"], data.get("content", ""))
        return base | {"tool_name": "apply_patch", "tool_input": {"command": patch}}
    if tool == "Edit":
        patch = _patch_update(data["file_path"], data.get("old_string", ""),
                              data.get("new_string", ""))  # fmt: skip
        return base | {"tool_name": "apply_patch", "tool_input": {"command": patch}}
    if tool.startswith("mcp__"):
        return base | {"tool_name": tool, "tool_input": data}
    return None


def gemini(tool: str, data: dict[str, Any], cwd: str) -> Payload:
    base = {"session_id": "bench", "transcript_path": "/tmp/t.json", "cwd": cwd,
            "hook_event_name": "BeforeTool", "timestamp": "2026-01-05T10:00:00Z"}  # fmt: skip
    names = {"Bash": "run_shell_command", "Read": "read_file", "Write": "write_file",
             "Edit": "replace"}  # fmt: skip
    if tool in names:
        return base | {"tool_name": names[tool], "tool_input": data}
    if tool == "WebFetch":
        prompt = f"{data.get('prompt', 'Summarise')} {data['url']}"
        return base | {"tool_name": "web_fetch", "tool_input": {"prompt": prompt}}
    if tool.startswith("mcp__"):
        return base | {"tool_name": tool, "tool_input": data}
    return None


def cursor(tool: str, data: dict[str, Any], cwd: str) -> Payload:
    base = {"conversation_id": "bench", "generation_id": "g1", "model": "gpt-5",
            "cursor_version": "2.0.77", "workspace_roots": [cwd], "user_email": None,
            "transcript_path": None}  # fmt: skip
    if tool == "Bash":
        return base | {"hook_event_name": "beforeShellExecution", "command": data["command"],
                       "cwd": cwd}  # fmt: skip
    if tool == "Read":
        return base | {"hook_event_name": "beforeReadFile", "file_path": data["file_path"],
                       "content": "", "attachments": []}  # fmt: skip
    if tool in ("Write", "Edit"):
        args = {"path": data["file_path"]}
        if tool == "Write":
            args["contents"] = data.get("content", "")
        else:
            args |= {"old_string": data.get("old_string", ""),
                     "new_string": data.get("new_string", "")}  # fmt: skip
        return base | {"hook_event_name": "preToolUse", "tool_name": tool, "tool_input": args,
                       "tool_use_id": "t1", "cwd": cwd, "agent_message": ""}  # fmt: skip
    if tool.startswith("mcp__"):
        _, server, name = tool.split("__", 2)
        return base | {"hook_event_name": "beforeMCPExecution", "tool_name": name,
                       "tool_input": json.dumps(data),
                       "command": f"npx -y @modelcontextprotocol/server-{server}"}  # fmt: skip
    return None


def copilot(tool: str, data: dict[str, Any], cwd: str) -> Payload:
    base = {"sessionId": "bench", "timestamp": 1767607200000, "cwd": cwd}
    if tool in ("Bash", "PowerShell"):
        return base | {"toolName": tool.lower(), "toolArgs": json.dumps(data)}
    if tool == "Read":
        args: dict[str, Any] = {"path": data["file_path"]}
        return base | {"toolName": "view", "toolArgs": json.dumps(args)}
    if tool == "Write":
        args = {"path": data["file_path"], "file_text": data.get("content", "")}
        return base | {"toolName": "create", "toolArgs": json.dumps(args)}
    if tool == "Edit":
        args = {"path": data["file_path"], "old_str": data.get("old_string", ""),
                "new_str": data.get("new_string", "")}  # fmt: skip
        return base | {"toolName": "edit", "toolArgs": json.dumps(args)}
    if tool == "WebFetch":
        return base | {"toolName": "web_fetch", "toolArgs": json.dumps({"url": data["url"]})}
    if tool.startswith("mcp__"):
        return base | {"toolName": tool, "toolArgs": json.dumps(data)}
    return None


def claude(tool: str, data: dict[str, Any], cwd: str) -> Payload:
    return {"session_id": "bench", "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool,
            "tool_input": data, "tool_use_id": "toolu_1"}  # fmt: skip


ADAPTERS: dict[str, Callable[[str, dict[str, Any], str], Payload]] = {
    "claude": claude, "codex": codex, "gemini": gemini, "cursor": cursor, "copilot": copilot,
}  # fmt: skip


def outcome(agent: str, out: str, err: str, code: int) -> str:
    """ "block" or "allow" as the agent itself would read the answer ("invalid" if it
    is neither — which the agent would treat as a failed hook, i.e. an allow)."""
    try:
        body = json.loads(out) if out.strip() else None
    except ValueError:
        return "invalid"
    if agent in ("claude", "codex", "gemini") and code == 2 and err.strip():
        return "block"
    if code != 0 and agent != "cursor":
        return "invalid"
    if agent in ("claude", "codex"):
        if body is None:
            return "allow"
        decision = body["hookSpecificOutput"]["permissionDecision"]
        ok = ("deny",) if agent == "codex" else ("deny", "ask")
        return "block" if decision in ok else "invalid"
    if agent == "gemini":
        return "block" if body and body.get("decision") == "deny" else "allow"
    if agent == "cursor":
        if code == 2 or (body and body.get("permission") == "deny"):
            return "block"
        return "allow" if body == {"permission": "allow"} else "invalid"
    if body is None:
        return "allow"
    return "block" if body.get("permissionDecision") == "deny" else "invalid"


def in_process(agent: str, raw: bytes) -> str:
    import importlib

    from opsgate.hooks import AGENTS

    module: Any = importlib.import_module(f"opsgate.hooks.{AGENTS[agent]}")
    try:
        out, code = module.respond(raw, audit=lambda _a, _d: None)
        return outcome(agent, out, "", code)
    except Exception as exc:
        out, err, code = module.fail(str(exc))
        return outcome(agent, out, err, code)


def real_process(agent: str, raw: bytes) -> str:
    proc = subprocess.run([OPSGATE, "hook", agent], input=raw, capture_output=True,
                          timeout=60, check=False)  # fmt: skip
    return outcome(agent, proc.stdout.decode(), proc.stderr.decode(), proc.returncode)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=40, help="real processes per agent")
    parser.add_argument("--show", action="store_true", help="list every miss")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="opsgate-protocols-")
    os.environ.update(OPSGATE_HOME=home, OPSGATE_HOOK_DAEMON="0")
    cases = [json.loads(x) for x in CORPUS.read_text().splitlines() if x.strip()]
    rng = random.Random(5)
    print(f"{len(cases)} corpus cases; each agent's own input and output forms")
    print(f"{'agent':<8} {'cases':>5} {'skipped':>7} {'recall':>7} {'specificity':>11} "
          f"{'processes':>9} {'mismatch':>8}")  # fmt: skip
    worst = 1.0
    for agent, adapt in ADAPTERS.items():
        scored, skipped, misses = [], 0, []
        for case in cases:
            payload = adapt(case["tool"], case["input"], case.get("cwd", PROJECT))
            if payload is None:
                skipped += 1
                continue
            raw = json.dumps(payload).encode()
            got = in_process(agent, raw)
            scored.append((case, raw, got))
            if got != case["expect"]:
                misses.append((case["id"], case["expect"], got))
        blocks = [g for c, _, g in scored if c["expect"] == "block"]
        allows = [g for c, _, g in scored if c["expect"] == "allow"]
        recall = sum(g == "block" for g in blocks) / max(1, len(blocks))
        spec = sum(g == "allow" for g in allows) / max(1, len(allows))
        sample = rng.sample(scored, min(args.processes, len(scored)))
        mismatch = sum(real_process(agent, raw) != got for _, raw, got in sample)
        worst = min(worst, recall, spec)
        print(f"{agent:<8} {len(scored):>5} {skipped:>7} {recall:>7.3f} {spec:>11.3f} "
              f"{len(sample):>9} {mismatch:>8}")  # fmt: skip
        if args.show:
            for miss in misses:
                print("    miss:", *miss)
    return 0 if worst >= 0.98 else 1


if __name__ == "__main__":
    sys.exit(main())
