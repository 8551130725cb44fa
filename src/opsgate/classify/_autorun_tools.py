"""The judge that classifies a self-running file's steps, and writes by file tools
(Write, Edit, MultiEdit, other agents' equivalents, MCP filesystem servers)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsgate.classify._autorun import Kind, Step, Written, judge_write
from opsgate.classify._shell_state import MAX_DEPTH, Scope, ShellSession
from opsgate.models import Effect, Finding, Impact

__all__ = ["ShellJudge", "shown_path", "tool_write"]


@dataclass
class ShellJudge:
    """Classifies steps with the session's shell (and PowerShell) classifier, each in a
    fresh scope: the file runs later, in its own shell, from the project directory."""

    session: ShellSession
    cwd: str | None
    depth: int
    reader: Callable[[str], str | None]

    def read(self, path: str) -> str | None:
        return self.reader(path)

    def run(self, step: Step) -> list[Finding]:
        from opsgate.classify._run_makers import planted

        with planted(self.session):  # runs later, after a checkout and build: not this disk
            return self._run(step)

    def _run(self, step: Step) -> list[Finding]:
        from opsgate.classify.shell import Walker

        if self.depth + 1 > MAX_DEPTH:
            return [_unknown(f"scripts nest deeper than {MAX_DEPTH} levels", step.where)]
        walker = Walker(self.session, Scope(self.cwd), depth=self.depth + 1, remote=None)
        if step.lang in ("pwsh", "cmd"):
            from opsgate.classify.powershell import classify_powershell

            script = step.script if step.lang == "pwsh" else _cmd_in_powershell(step.script)
            return classify_powershell(script, walker, cwd=None)
        shell = _as_shell(step)
        if shell is None:
            return [_unknown("the script cannot be embedded for reading", step.where)]
        walker.run(shell)
        return walker.findings


def _as_shell(step: Step) -> str | None:
    if step.lang == "python":
        if "OPSGATE_EOF" in step.script:
            return None
        return f"python3 - <<'OPSGATE_EOF'\n{step.script}\nOPSGATE_EOF\n"
    if step.lang == "node":
        return shlex.join(["node", "-e", step.script])
    return step.script


def _cmd_in_powershell(script: str) -> str:
    return "cmd /c '" + script.replace("'", "''") + "'"


def _unknown(reason: str, evidence: str) -> Finding:
    return Finding("unknown", Impact.CAUTION, Effect.UNKNOWN, evidence, reason)


def shown_path(full: str, project: str | None) -> str:
    """How evidence names a file: relative to the project when inside it."""
    if project and full.startswith(project.rstrip("/") + "/"):
        return full[len(project.rstrip("/")) + 1 :]
    return full


def tool_write(kind: Kind, full: str, shown: str, tool_input: dict[str, Any], judge: Any) -> (
        list[Finding]):  # fmt: skip
    """A Write (whole content) or Edit/MultiEdit (replacements) of a self-running file.
    An edit is applied to the file as it is on disk, read through the classifier's
    reader, so what it adds is seen in place; when the file cannot be read or an edit
    does not apply, its pieces are judged on their own."""
    edits = _edits(tool_input)
    content = tool_input.get("content")
    sent = "\n".join(_strings(tool_input))
    source = tool_input.get("source")
    if isinstance(source, str) and content is None:
        # An MCP server's move or copy: the file gets the source's text.
        content = judge.read(source)
        if content is None:
            why = f"it is copied from {source}, which opsgate cannot read"
            return judge_write(kind, Written(full, shown, opaque=why), judge)
    if content is not None and not isinstance(content, str):
        return judge_write(kind, Written(full, shown, opaque="its content is not text"), judge)
    if isinstance(content, str) and not edits:
        written = Written(full, shown, new=content, old=_before(judge, full), sent=sent)
    elif edits:
        current = _before(judge, full)
        new = _apply(current, edits)
        if new is not None:
            written = Written(full, shown, new=new, old=current, sent=sent,
                              pieces=tuple((old, added) for old, added, _ in edits))  # fmt: skip
        else:
            pieces = tuple((old, added) for old, added, _ in edits)
            written = Written(full, shown, pieces=pieces, sent=sent)
    else:
        return []
    return judge_write(kind, written, judge)


def _edits(tool_input: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(old, new, replace_all) for Edit, MultiEdit and MCP filesystem ``edit_file``."""
    items: list[Any] = [tool_input] if "new_string" in tool_input else []
    if isinstance(tool_input.get("edits"), list):
        items += tool_input["edits"]
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        old = item.get("old_string", item.get("oldText", ""))
        new = item.get("new_string", item.get("newText"))
        if isinstance(old, str) and isinstance(new, str):
            out.append((old, new, bool(item.get("replace_all"))))
    return out


def _apply(current: str | None, edits: list[tuple[str, str, bool]]) -> str | None:
    """The file after the edits, or None when they cannot be placed in it."""
    if current is None:
        if len(edits) == 1 and edits[0][0] == "":
            return edits[0][1]  # creates the file
        return None
    text = current
    for old, new, every in edits:
        if not old or old not in text:
            return None
        text = text.replace(old, new) if every else text.replace(old, new, 1)
    return text


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _before(judge: Any, full: str) -> str | None:
    """What the file holds now, to judge only what the write adds.  A credentials file
    is never read for that (the secrets rules judge writing it): reading it here would
    count as the agent reading the secret."""
    from opsgate.classify.paths import is_secret_path

    return None if is_secret_path(full) else judge.read(full)
