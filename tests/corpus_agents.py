"""Corpus cases in any agent's own tool shape, run through that agent's hook.

A case without ``agent`` is a Claude Code PreToolUse call (the shared corpus format).
A case with ``agent`` (``codex``, ``gemini``, ``cursor``, ``copilot``) gives ``tool``
and ``input`` exactly as that agent names and shapes them — Codex ``apply_patch``
envelopes, Gemini ``write_file``/``replace``/``read_many_files``, Cursor events
(``tool`` is the hook event; ``input`` its own fields), Copilot ``toolName`` and
``toolArgs`` — so the adapters' parsing is tested along with the classifier.  Shared
by ``tests/test_corpus.py`` and ``benchmarks/corpus_eval.py``.

Optional fields for cases that need more than a payload:

- ``files`` (``{"relative/path": "content"}``), ``links`` (``{"relative/link":
  "target"}``) and ``mode`` (``{"relative/path": "755"}``): the case runs in a fresh
  fixture project, ``/home/dev/cases/<id>/`` — a git repository whose files are
  committed on ``main``, checked out on ``feature/work`` — which becomes the payload's
  ``cwd``, with ``HOME=/home/dev``.  It is rebuilt for every run, so runs repeat.  (Not
  under /tmp: opsgate rightly treats /tmp as disposable.)
- ``env`` (``{"HOME": "/tmp/home"}``): environment variables set while the hook decides.
- ``permission_mode``: the Claude Code payload's mode (default ``default``).  In
  ``bypassPermissions`` Claude Code accepts a hook's ``ask`` by itself, so ``ask``
  counts as allow there.

Every corpus runs in two permission modes (``MODES``): ``default``, where a person sees
Claude Code's prompt and an ``ask`` is a block, and ``bypassPermissions``, where
nobody does and an ``ask`` counts as an allow (as ``score.py --permission-mode
bypassPermissions`` counts it).  A case's own ``permission_mode`` wins over the run's.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROJECT = "/home/dev/project"
MODES = ("default", "bypassPermissions")
CASES = Path("/home/dev/cases")
FIXTURE_HOME = "/home/dev"
# Modes in which the agent accepts a hook's ``ask`` without a person seeing it.
ASK_AUTO_ACCEPTED = frozenset({"bypassPermissions"})
_GIT = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com",
        "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]  # fmt: skip


def _mode(case: dict[str, Any], default: str | None) -> str:
    return str(case.get("permission_mode") or default or "default")


def payload(case: dict[str, Any], permission_mode: str | None = None) -> dict[str, Any]:
    """The hook's stdin for a case, in its agent's protocol (``permission_mode`` applies
    to Claude Code cases that do not name their own)."""
    agent, tool, data = case.get("agent", "claude"), case["tool"], case["input"]
    cwd = case.get("cwd", str(CASES / case["id"]) if _has_fixture(case) else PROJECT)
    if agent == "claude":
        return {"session_id": "corpus", "transcript_path": "/tmp/t.jsonl", "cwd": cwd,
                "permission_mode": _mode(case, permission_mode), "hook_event_name": "PreToolUse",
                "tool_name": tool, "tool_input": data, "tool_use_id": "toolu_1"}  # fmt: skip
    if agent == "codex":
        return {"session_id": "corpus", "turn_id": "t1", "transcript_path": None, "cwd": cwd,
                "hook_event_name": "PreToolUse", "model": "gpt-5-codex",
                "permission_mode": "default", "tool_name": tool, "tool_input": data,
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
    is an error (the agent would run the tool)."""
    body = json.loads(out) if out.strip() else None
    if agent in ("claude", "codex"):
        if body is None and code == 0:
            return False
        decision = body["hookSpecificOutput"]["permissionDecision"]
        assert decision in (("deny",) if agent == "codex" else ("deny", "ask")), out
        return not (decision == "ask" and mode in ASK_AUTO_ACCEPTED)
    if agent == "gemini":
        return bool(body and body.get("decision") == "deny")
    if agent == "cursor":
        if code == 2 or (body and body.get("permission") == "deny"):
            return True
        assert body == {"permission": "allow"}, out
        return False
    assert code == 0, (agent, code)
    return bool(body and body.get("permissionDecision") == "deny")


def verdict(case: dict[str, Any], permission_mode: str | None = None) -> tuple[str, str]:
    """("block" | "allow", the reason the hook gave) for a case."""
    got, out, _ = timed_verdict(case, permission_mode)
    return got, out


def timed_verdict(
    case: dict[str, Any], permission_mode: str | None = None
) -> tuple[str, str, float]:
    """``verdict`` and the seconds the hook took (building a fixture not counted)."""
    from opsgate.hooks import AGENTS

    agent = case.get("agent", "claude")
    mode = _mode(case, permission_mode) if agent == "claude" else "default"
    module: Any = importlib.import_module(f"opsgate.hooks.{AGENTS[agent]}")
    stdin = json.dumps(payload(case, permission_mode)).encode()
    with case_setting(case):
        start = time.perf_counter()
        out, code = module.respond(stdin)
        elapsed = time.perf_counter() - start
    return ("block" if _blocked(agent, out, code, mode) else "allow"), out, elapsed


def ensure_project() -> None:
    """The corpora assume /home/dev/project is a git repository on a feature branch
    (the shared corpus's README, "The project directory"); create it if missing.
    Processes run side by side (``pytest -n``): one of them creates it.  Raises
    ``OSError`` or ``CalledProcessError`` when this user cannot."""
    project = Path(PROJECT)
    if (project / ".git").is_dir():
        return
    project.mkdir(parents=True, exist_ok=True)
    with (project.parent / ".project.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (project / ".git").is_dir():
            return
        git = ["git", "-C", str(project)]
        subprocess.run([*git, "init", "-q", "-b", "feature/work"], check=True)
        subprocess.run([*git, "-c", "user.name=dev", "-c", "user.email=dev@example.com",
                        "commit", "-q", "--allow-empty", "-m", "init"], check=True)  # fmt: skip


def _has_fixture(case: dict[str, Any]) -> bool:
    return any(key in case for key in ("files", "links", "mode"))


@contextmanager
def case_setting(case: dict[str, Any]) -> Iterator[None]:
    """The case's fixture project and environment, for as long as the hook decides.
    Fixture directories are shared by every checkout on the machine, so building one
    and deciding on it happen under one lock."""
    env = dict(case.get("env", {}))
    if env.get("OPSGATE_HOME"):
        # The person's own data directory exists (the hook refuses a named one that
        # does not: a typo); the case is about what the guard makes of that path.
        Path(env["OPSGATE_HOME"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _has_fixture(case):
        with _environ(env):
            yield
        return
    CASES.mkdir(parents=True, exist_ok=True)
    with (CASES / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _fresh(case, CASES / case["id"])
        with _environ({"HOME": FIXTURE_HOME} | env):
            yield


# Fixtures this process built, by case id: (what they hold, the directory's mtime then).
_BUILT: dict[str, tuple[str, int]] = {}


def _fresh(case: dict[str, Any], root: Path) -> None:
    """Build the case's project unless this process built the same one just now and
    nothing has touched it since (the same case in the other permission mode).  A
    decision never writes there; any other process that rebuilds it changes the
    directory's mtime, and the next case rebuilds it here too."""
    key = json.dumps([case.get(k) for k in ("files", "links", "mode")], sort_keys=True)
    try:
        seen = (key, root.stat().st_mtime_ns)
    except OSError:
        seen = None
    if seen is None or _BUILT.get(case["id"]) != seen:
        _build(case, root)
        _BUILT[case["id"]] = (key, root.stat().st_mtime_ns)


@contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _build(case: dict[str, Any], root: Path) -> None:
    """A fresh git repository holding the case's files and links, on ``feature/work``."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for rel, content in case.get("files", {}).items():
        _inside(root, rel).parent.mkdir(parents=True, exist_ok=True)
        _inside(root, rel).write_text(content)
    for rel, target in case.get("links", {}).items():
        _inside(root, rel).parent.mkdir(parents=True, exist_ok=True)
        _inside(root, rel).symlink_to(target)
    for rel, mode in case.get("mode", {}).items():
        _inside(root, rel).chmod(int(mode, 8))
    git = [*_GIT, "-C", str(root)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "fixture"], check=True)
    subprocess.run([*git, "checkout", "-q", "-b", "feature/work"], check=True)


def _inside(root: Path, rel: str) -> Path:
    path = root / rel
    if os.path.isabs(rel) or ".." in Path(rel).parts:
        raise ValueError(f"fixture path {rel!r} must stay inside the case's project")
    return path
