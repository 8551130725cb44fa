"""Classification: what an action would really do, as findings with evidence.

``classify(action, context)`` is the one entry point.  It never decides; the
policy engine does that with the returned ``Classification``.

Files reach the classifier only through the context's file source
(``_files``): the agent's disk where the hook runs, the texts the connected hook
sent on the control plane, nothing over the API and MCP.  The classification
records what it read (path and hash, for grants to bind to); a secret file a
command names is a secret read; and findings built from a file's text are
rewritten by ``_evidence`` so that none of the text reaches a reason, a card or
the audit trail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opsgate.classify import _guard
from opsgate.classify._files import FileSource, GivenFiles, LocalFiles, NoFiles
from opsgate.classify.paths import Workspace, workspace_for
from opsgate.environments import Inventory
from opsgate.models import Action, Classification, Effect, Environment, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify._autorun import Judge
    from opsgate.classify._shell_state import ShellSession

__all__ = ["ClassifyContext", "FileSource", "GivenFiles", "LocalFiles", "NoFiles", "classify"]
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
    """Where the agent works and what opsgate knows about targets.

    ``files`` makes the file source for one classification (``_files``): by default
    the local disk, or nothing with ``read_files=False``.  The control plane passes
    the files the connected hook sent; it never reads its own disk."""

    project_dir: str | None = None
    home: str | None = None
    inventory: Inventory = field(default_factory=Inventory)
    # The wall-clock backstop; None: the default (``_shell_state.BACKSTOP_SECONDS``).
    # The limit that decides ordinary input is counted in work, not time.
    budget_seconds: float | None = None
    read_files: bool = True
    files: Callable[[], FileSource] | None = None
    # The audit log's secret-shape redactor, for names kept from files (``_evidence``).
    redact: Callable[[str], str] | None = None
    # The agent's environment, where it is not this process's (the resident service).
    environ: Mapping[str, str] | None = None

    def file_source(self) -> FileSource:
        if self.files is not None:
            return self.files()
        return LocalFiles(environ=self.environ) if self.read_files else NoFiles()

    def workspace(self, cwd: str | None) -> Workspace:
        given = self.project_dir or cwd
        project = given.rstrip("/") or "/" if given else None
        home = self.home or _home_for(project)
        # The agent's own $HOME is its home too when the project lives in another one
        # (HOME=/tmp/agent-home beside /home/dev/project): never scratch space.
        env_home = (os.environ.get("HOME") or "").rstrip("/")
        others = (env_home,) if env_home not in ("", "/", home.rstrip("/")) else ()
        return workspace_for(project, home, others)


def _home_for(project: str | None) -> str:
    """The agent's home: the home directory that holds the project, else $HOME."""
    if project:
        parts = project.strip("/").split("/")
        if len(parts) >= 2 and parts[0] in ("home", "Users"):
            return f"/{parts[0]}/{parts[1]}"
    return os.environ.get("HOME") or "/root"


def classify(action: Action, ctx: ClassifyContext) -> Classification:
    source = ctx.file_source()
    findings = list(_findings(action, ctx, source))
    used = source.used()
    # Without findings there is nothing built from the files' texts to rewrite, and no
    # second, blind classification to run to tell which those are.
    if findings and any(f.text for f in used):
        from opsgate.classify._evidence import scrub

        derived = _from_files(action, ctx, source, findings)
        findings = scrub(
            findings, derived, used, typed=_typed(action), cwd=action.cwd, redact=ctx.redact
        )
    if source.refused:
        findings.extend(_secret_reads(source))
    findings += _guard_findings(action, findings, ctx)
    env, env_source, target = _environment(findings)
    facts = tuple(sorted(source.facts.items())) if source.facts else ()
    return Classification(tuple(findings), env, env_source, target, used, facts)


def _from_files(
    action: Action, ctx: ClassifyContext, source: FileSource, findings: list[Finding]
) -> set[Finding]:
    """The findings that exist only because of the files' texts: those the same
    classification without any text (same facts) does not produce."""
    blind = GivenFiles(given_facts=dict(source.facts))
    try:
        seen = set(_findings(action, ctx, blind))
    except Exception:  # then every finding counts as built from the files
        return set(findings)
    return {f for f in findings if f not in seen}


def _typed(action: Action) -> str:
    """What the agent wrote in the action itself (shown on the card anyway)."""
    return "\n".join(v for v in action.input.values() if isinstance(v, str))


def _secret_reads(source: FileSource) -> list[Finding]:
    """A command that names a secret file reads a secret, whatever the program."""
    return [
        Finding(
            "secrets.read",
            Impact.CAUTION,
            Effect.SECRET,
            r.path,
            f"reads a file opsgate never reads: {r.why}",
            r.path,
        )
        for r in source.refused.values()
    ]


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


def _findings(action: Action, ctx: ClassifyContext, source: FileSource) -> list[Finding]:
    from opsgate.classify.shell import Budget, ShellSession, classify_script

    cwd = action.cwd or ctx.project_dir
    ws = ctx.workspace(cwd)
    session = ShellSession(
        workspace=ws,
        inventory=ctx.inventory,
        budget=Budget() if ctx.budget_seconds is None else Budget(ctx.budget_seconds),
        read_file=source.read,
        branch_of=source.branch,
        file_kind=source.kind,
        files=source,
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

        judge = _judge(session, ws, cwd)
        return classify_file_tool(tool, data, ws, cwd, shell, judge, files=session.files)
    if tool == "WebFetch":
        from opsgate.classify.tools import classify_url

        url = data.get("url")
        return classify_url(url) if isinstance(url, str) else [_bad_input("WebFetch without url")]
    if tool.startswith("mcp__"):
        from opsgate.classify.tools import classify_mcp

        judge = _judge(session, ws, cwd)
        return classify_mcp(tool, data, ws, cwd, shell, _sql, judge, files=session.files)
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

        ctx = Walker(session, Scope(cwd), depth=0, remote=None)
        return ctx.read_text(path, cwd)  # the walker's context reader: the file source

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
