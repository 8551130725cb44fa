"""Classification: what an action would really do, as findings with evidence.

``classify(action, context)`` is the one entry point.  It never decides; the
policy engine does that with the returned ``Classification``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opsgate.classify import _guard
from opsgate.classify.paths import Workspace
from opsgate.environments import Inventory
from opsgate.models import Action, Classification, Effect, Environment, Finding

if TYPE_CHECKING:
    from opsgate.classify._autorun import Judge
    from opsgate.classify._shell_state import ShellSession

__all__ = ["ClassifyContext", "classify"]

_MAX_READ = 64 * 1024
# Claude Code tools that neither change state nor read file contents by path.
_BENIGN_TOOLS = frozenset(
    {
        "Task",
        "TodoWrite",
        "TodoRead",
        "ExitPlanMode",
        "WebSearch",
        "BashOutput",
        "KillShell",
        "SlashCommand",
        "Skill",
        "AskUserQuestion",
    }
)
_FILE_TOOLS = frozenset(
    {"Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "NotebookRead", "Grep", "Glob", "LS"}
)


@dataclass
class ClassifyContext:
    """Where the agent works and what opsgate knows about targets."""

    project_dir: str | None = None
    home: str | None = None
    inventory: Inventory = field(default_factory=Inventory)
    budget_seconds: float = 0.05
    read_files: bool = True

    def workspace(self, cwd: str | None) -> Workspace:
        project = self.project_dir or cwd
        return Workspace(
            project.rstrip("/") or "/" if project else None, self.home or _home_for(project)
        )


def _home_for(project: str | None) -> str:
    """The agent's home: the home directory that holds the project, else $HOME."""
    if project:
        parts = project.strip("/").split("/")
        if len(parts) >= 2 and parts[0] in ("home", "Users"):
            return f"/{parts[0]}/{parts[1]}"
    return os.environ.get("HOME") or "/root"


def _reader(enabled: bool) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        if not enabled:
            return None
        try:
            p = Path(path)
            if not p.is_file() or p.stat().st_size > _MAX_READ:
                return None
            return p.read_text("utf-8", errors="replace")
        except OSError:
            return None

    return read


def _kind_probe(enabled: bool) -> Callable[[str], str | None]:
    """What is at a path, without reading it (``_run_files``: a missing script is not
    run; one that is there but not read is unknown).  With reading off, every file
    counts as there and unread."""

    def kind(path: str) -> str | None:
        if not enabled:
            return "other"
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return "other" if os.path.lexists(path) else None
        return "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"

    return kind


def _branch_reader(cwd: str | None) -> str | None:
    """The checked-out branch, read from ``.git/HEAD`` (no git process)."""
    if not cwd:
        return None
    path = Path(cwd)
    for candidate in (path, *path.parents):
        head = candidate / ".git" / "HEAD"
        try:
            text = head.read_text("utf-8").strip()
        except OSError:
            continue
        return text.removeprefix("ref: refs/heads/") if text.startswith("ref:") else None
    return None


def classify(action: Action, ctx: ClassifyContext) -> Classification:
    findings = _findings(action, ctx)
    findings += _guard_findings(action, findings, ctx)
    env, source, target = _environment(findings)
    return Classification(tuple(findings), env, source, target)


def _guard_findings(action: Action, findings: list[Finding], ctx: ClassifyContext) -> list[Finding]:
    """Safeguard 6: what the families found, aimed at the guard's own files or processes."""
    if not _guard.may_tamper(action, findings):
        return []
    cwd = action.cwd or ctx.project_dir
    project = ctx.project_dir or cwd
    return _guard.action_findings(
        action, findings, project.rstrip("/") or "/" if project else None,
        lambda: ctx.workspace(cwd).home,
    )  # fmt: skip


def _findings(action: Action, ctx: ClassifyContext) -> list[Finding]:
    from opsgate.classify.shell import Budget, ShellSession, classify_script

    cwd = action.cwd or ctx.project_dir
    ws = ctx.workspace(cwd)
    session = ShellSession(
        workspace=ws,
        inventory=ctx.inventory,
        budget=Budget(ctx.budget_seconds),
        read_file=_reader(ctx.read_files),
        branch_of=_branch_reader,
        file_kind=_kind_probe(ctx.read_files),
    )

    def shell(script: str, remote: str | None = None) -> list[Finding]:
        if remote is None:
            return classify_script(script, session, cwd=cwd)
        from opsgate.classify.shell import Scope, Walker

        walker = Walker(session, Scope(cwd), depth=0, remote=None)
        return walker.classify_shell(script, via="mcp", remote=remote)

    tool = action.tool
    data = action.input
    if tool == "Bash":
        command = data.get("command")
        if not isinstance(command, str):
            return [_bad_input("Bash without a command string")]
        return shell(command)
    if tool == "PowerShell":
        return _powershell(data, ws, cwd, session)
    return _other_tool(action, ws, cwd, shell, session)


def _other_tool(
    action: Action,
    ws: Workspace,
    cwd: str | None,
    shell: Callable[[str, str | None], list[Finding]],
    session: ShellSession,
) -> list[Finding]:
    """File tools, web fetches, MCP calls, and tools known to do nothing."""
    tool = action.tool
    data = action.input
    if tool in _FILE_TOOLS:
        from opsgate.classify.tools import classify_file_tool

        return classify_file_tool(tool, data, ws, cwd, shell, _judge(session, ws, cwd))
    if tool == "WebFetch":
        from opsgate.classify.tools import classify_url

        url = data.get("url")
        return classify_url(url) if isinstance(url, str) else [_bad_input("WebFetch without url")]
    if tool.startswith("mcp__"):
        from opsgate.classify.tools import classify_mcp

        return classify_mcp(tool, data, ws, cwd, shell, _sql, _judge(session, ws, cwd))
    if tool in _BENIGN_TOOLS:
        return []
    from opsgate.classify._shell_nodes import unknown

    return [unknown(f"the tool {tool} is not known to opsgate", tool)]


def _judge(session: ShellSession, ws: Workspace, cwd: str | None) -> Judge:
    """Judges what a write adds to a file that runs by itself; it reads files through
    the shell classifier's context reader, like every other read of the classifier."""
    from opsgate.classify._autorun_tools import ShellJudge

    def read(path: str) -> str | None:
        from opsgate.classify.shell import Scope, Walker

        return Walker(session, Scope(cwd), depth=0, remote=None).read_text(path, cwd)

    return ShellJudge(session, ws.project or cwd, 0, read)


def _sql(text: str) -> list[Finding]:
    from opsgate.classify.sql import classify_sql

    return classify_sql(text)


def _powershell(
    data: dict[str, object], ws: Workspace, cwd: str | None, session: object
) -> list[Finding]:
    command = data.get("command")
    if not isinstance(command, str):
        return [_bad_input("PowerShell without a command string")]
    from opsgate.classify.powershell import classify_powershell
    from opsgate.classify.shell import Scope, ShellSession, Walker

    assert isinstance(session, ShellSession)
    ps_cwd = cwd if cwd and ":" in cwd else "C:\\Users\\dev\\source\\project"
    walker = Walker(session, Scope(cwd), depth=0, remote=None)
    return classify_powershell(command, walker, cwd=ps_cwd)


def _bad_input(reason: str) -> Finding:
    from opsgate.classify._shell_nodes import unknown

    return unknown(reason, reason)


def _environment(findings: list[Finding]) -> tuple[Environment, str, str | None]:
    """The most sensitive environment any finding touches, and where that came from."""
    best: tuple[Environment, str, str | None] = (Environment.LOCAL, "agent workspace", None)
    for f in findings:
        if f.effect is Effect.READ and f.environment is None:
            continue
        if f.environment is not None:
            env, source = f.environment, f.env_source or "the action"
        elif f.target is not None and not f.target.startswith(("/", "~", ".")):
            env, source = Environment.PRODUCTION, f"unknown remote target {f.target!r}"
        else:
            continue
        if env > best[0]:
            best = (env, source, f.target)
    return best
