"""File tools (Read, Write, Edit …): what the path is, and what the written content would run."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Callable
from typing import Any

from opsgate.classify._autorun import Judge, Kind, Step, kind_of
from opsgate.classify._autorun_tools import shown_path
from opsgate.classify._files import FileSource
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
    tool: str,
    tool_input: dict[str, Any],
    ws: Workspace,
    cwd: str | None,
    shell: Shell,
    judge: Judge | None = None,
    *,
    files: FileSource,
) -> list[Finding]:
    """A file tool's path, judged where its links lead (asked of ``files``, the
    classification's file source), and what a write puts into a file that runs."""
    from opsgate.classify._tools_search import search_path, search_secret

    tool_input = search_path(tool, tool_input, cwd)
    path_value = (
        tool_input.get("file_path") or tool_input.get("notebook_path") or tool_input.get("path")
    )
    if not isinstance(path_value, str) or not path_value:
        evidence = json.dumps(tool_input)[:200]
        reason = f"{tool} without a file path"
        return [_f("unknown", Impact.CAUTION, Effect.UNKNOWN, evidence, reason)]
    windows = _windows_path(path_value)
    if windows is not None:
        return _windows_file_tool(tool, path_value, windows, tool_input, shell, judge)
    full = ws.expand(path_value, cwd) or path_value
    from opsgate.classify._tools_secrets import READ_TOOLS, plain_config_write, secret_file_finding

    secret = secret_file_finding(tool, path_value, full, files.real)
    if secret is None and tool in READ_TOOLS and _GLOB.search(full) and full.startswith("/"):
        secret = _glob_read(path_value, full, ws, files)  # Gemini's read_many_files
    if secret is not None and plain_config_write(tool, full, tool_input.get("content"), ws.project):
        secret = None
    if secret is not None and (tool in READ_TOOLS or secret.effect is Effect.SECRET):
        return [secret]
    if tool in READ_TOOLS:
        # A search through a link searches where it leads (ci/registry -> ~/.docker).
        where = files.real(full) if full.startswith("/") else full
        searched = search_secret(tool, tool_input, path_value, where, ws, files)
        if searched is not None:
            return [searched]
        return [_f("filesystem.read", Impact.SAFE, Effect.READ, path_value, "reads a file")]
    local = Environment.LOCAL
    # A link is written where it leads: notes.txt -> ~/.bashrc is a start-up file, and
    # keys/authorized_keys with keys -> ~/.ssh is the real authorized_keys.
    real = files.real(full) if full.startswith("/") else full
    protected = protected_reason(full, ws) or (real != full and protected_reason(real, ws))
    if protected:
        reason = f"{tool} writes {real}: {protected}"
        category = "filesystem.protected_write"
        found = _f(category, Impact.CAUTION, Effect.WRITE, path_value, reason, real, local)
        return [*([secret] if secret is not None else []), found]
    if secret is not None:
        return [secret, *_content_findings(full, tool_input, shell)]
    reason = f"{tool} edits {path_value}"
    findings = [_f("filesystem.write", Impact.SAFE, Effect.LOCAL, path_value, reason, full, local)]
    # Through a directory link, the file lands where the link leads (ci -> .github/workflows).
    kind = kind_of(full) or (kind_of(real) if real != full else None)
    if kind is not None:
        landed = full if kind_of(full) is not None else real
        shown = shown_path(landed, ws.project)
        return findings + _planted(kind, landed, shown, tool_input, shell, judge)
    if judge is not None:
        from opsgate.classify._autorun_refs import referring

        runs_it = referring(real, ws.project, judge.read, files.real, files.kind)
        if runs_it is not None:
            by = shown_path(runs_it[1], ws.project)
            shown = f"{shown_path(real, ws.project)} (run as {by})"
            return findings + _planted(runs_it[0], real, shown, tool_input, shell, judge)
    findings += _content_findings(full, tool_input, shell)
    return findings


_GLOB = re.compile(r"[*?\[]")


def _glob_read(raw: str, full: str, ws: Workspace, files: FileSource) -> Finding | None:
    """A read tool given a glob (``docs/**``) reads what it expands to, through links."""
    picked = files.glob_secret(full, ws.home, trees=True)
    if picked is None:
        return None
    reason = f"reads {raw}, which takes in {picked}, which holds credentials"
    return _f("secrets.read", Impact.CAUTION, Effect.SECRET, raw, reason, picked)


def _planted(kind: Kind, full: str, shown: str, tool_input: dict[str, Any], shell: Shell,
             judge: Judge | None) -> list[Finding]:  # fmt: skip
    """A file that runs by itself: judged by what the write adds (``_autorun``)."""
    from opsgate.classify._autorun_tools import tool_write

    return tool_write(kind, full, shown, tool_input, judge or _ShellOnly(shell))


class _ShellOnly:
    """A judge for callers without a shell session: no file reads, bash steps only."""

    def __init__(self, shell: Shell) -> None:
        self._shell = shell

    def read(self, path: str) -> str | None:
        return None

    def run(self, step: Step) -> list[Finding]:
        if step.lang == "sh":
            return self._shell(step.script, None)
        script = _python_as_shell(step.script) if step.lang == "python" else None
        if step.lang == "node":
            script = shlex.join(["node", "-e", step.script])
        if script is None:
            reason = f"a {step.lang} step cannot be read here"
            return [_f("unknown", Impact.CAUTION, Effect.UNKNOWN, step.where, reason)]
        return self._shell(script, None)


_SCRIPT_SUFFIX = re.compile(r"\.(sh|bash|zsh|ksh|command)$")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
# Windows places where a write changes how the machine or the shell behaves.
_WINDOWS_PROTECTED = (
    "/windows/", "/program files", "/programdata/", "/documents/powershell/",
    "/documents/windowspowershell/", "profile.ps1", "/start menu/programs/startup/",
    "/appdata/roaming/microsoft/windows/", "/.ssh/", "/.gitconfig", "/.npmrc", "/.claude/",
    "/.cursor/", "/.codex/", "/.gemini/", "/.git/hooks/", "/.git/config",
)  # fmt: skip


def _windows_path(path: str) -> str | None:
    """``C:\\Users\\dev\\.aws\\credentials`` → ``c:/users/dev/.aws/credentials``."""
    if not _DRIVE.match(path) and "\\" not in path:
        return None
    return path.replace("\\", "/").lower()


def _windows_file_tool(
    tool: str, raw: str, path: str, tool_input: dict[str, Any], shell: Shell, judge: Judge | None
) -> list[Finding]:
    if tool in ("Read", "Grep", "Glob", "LS", "read_file", "read"):
        if is_secret_path(path):
            reason = f"reads {raw}, which holds credentials"
            return [_f("secrets.read", Impact.CAUTION, Effect.SECRET, raw, reason, path)]
        return [_f("filesystem.read", Impact.SAFE, Effect.READ, raw, "reads a file")]
    hit = next((p for p in _WINDOWS_PROTECTED if p in path), None)
    if hit is not None:
        reason = f"{tool} writes {raw}: a protected Windows location ({hit.strip('/')})"
        return [_f("filesystem.protected_write", Impact.CAUTION, Effect.WRITE, raw, reason, path,
                   Environment.LOCAL)]  # fmt: skip
    local = [_f("filesystem.write", Impact.SAFE, Effect.LOCAL, raw, f"{tool} edits {raw}", path,
                Environment.LOCAL)]  # fmt: skip
    kind = kind_of(path)
    if kind is not None:
        return local + _planted(kind, path, raw, tool_input, shell, judge)
    return local + _content_findings(path, tool_input, shell)


def _content_findings(path: str, tool_input: dict[str, Any], shell: Shell) -> list[Finding]:
    """A new script whose only job is a catastrophe is stopped before it exists.  (Files
    that run by themselves are judged in full by ``_autorun``.)"""
    text = _new_text(tool_input)
    if not text:
        return []
    lang: str | None = None
    notebook = False
    inside: str | None = None
    if path.endswith(".ipynb") or "new_source" in tool_input:
        text = _notebook_shell(text)
        lang = "sh" if text else None
        notebook = True
    elif re.search(r"(^|/)(GNU)?[Mm]akefile$|\.mk$|(^|/)[Jj]ustfile$", path):
        inside = posixpath.dirname(path).rstrip("/") + "/"
        text = "\n".join(line[1:] if line.startswith("\t") else line[4:]
                         for line in text.splitlines()
                         if line.startswith(("\t", "    ")))  # fmt: skip
        text = text.replace("$(HOME)", "$HOME").replace("@", "")
        lang = "sh" if text.strip() else None
    if _SCRIPT_SUFFIX.search(path) or re.match(r"#!\s*\S*(ba|z|k|da)?sh\b", text):
        lang = "sh"
    elif path.endswith(".py") or text.startswith("#!/usr/bin/env python"):
        lang = "python"
    if lang is None:
        return []
    script = text if lang == "sh" else _python_as_shell(text)
    found = shell(script, None) if script is not None else []
    if inside is not None:
        # ``clean: rm -rf app bin/``: a recipe deleting inside the makefile's own tree.
        # Running it is judged when it runs (``_run_make``), against the disk then;
        # what the write is stopped for is a recipe whose job is a catastrophe
        # elsewhere (``rm -rf ~/*``).
        found = [f for f in found if not (f.target or "").startswith(inside)]
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
        if (
            f.impact is Impact.DESTRUCTIVE
            and f.effect is Effect.WRITE
            and f.category.startswith(("filesystem.", "disk."))
        )
        # A notebook cell is written to be run next: its secrets and destructive writes count.
        or (
            notebook
            and (
                f.effect is Effect.SECRET
                or (f.effect is Effect.WRITE and f.impact is Impact.DESTRUCTIVE)
            )
        )
    ]


def _new_text(tool_input: dict[str, Any]) -> str:
    """The text a Write, Edit, MultiEdit or NotebookEdit puts into the file."""
    parts: list[str] = []
    for key in ("content", "new_string", "new_source"):
        value = tool_input.get(key)
        if isinstance(value, str):
            parts.append(value)
    edits = tool_input.get("edits")
    if isinstance(edits, list):
        parts += [e["new_string"] for e in edits
                  if isinstance(e, dict) and isinstance(e.get("new_string"), str)]  # fmt: skip
    return "\n".join(parts)


def _notebook_shell(source: str) -> str:
    """Jupyter cells: ``!cmd`` lines and ``%%bash``/``%%sh`` cells run in a shell; other
    code is Python (read through the interpreter classifier)."""
    lines = source.splitlines()
    if lines and lines[0].strip() in ("%%bash", "%%sh", "%%script bash", "%%script sh"):
        return "\n".join(lines[1:])
    shell_lines = [line.strip()[1:] for line in lines if line.strip().startswith("!")]
    python = "\n".join(line for line in lines if not line.strip().startswith(("!", "%")))
    if python.strip() and "'OPSGATE_EOF'" not in python:
        shell_lines.append(f"python3 - <<'OPSGATE_EOF'\n{python}\nOPSGATE_EOF")
    return "\n".join(shell_lines)


def _python_as_shell(text: str) -> str | None:
    """Python source, run through the interpreter classifier via a here-doc."""
    if "'OPSGATE_EOF'" in text:
        return None
    return f"python3 - <<'OPSGATE_EOF'\n{text}\nOPSGATE_EOF\n"
