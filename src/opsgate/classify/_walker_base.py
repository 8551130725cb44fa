"""The walker's state and the ``Context`` protocol family handlers use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from tree_sitter import Node

from opsgate.classify._command import Stdin
from opsgate.classify._paths_links import follow_notes
from opsgate.classify._shell_state import FileNote, Scope, ShellSession
from opsgate.classify._words import Value
from opsgate.classify.paths import Workspace
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["WalkerBase"]


class WalkerBase:
    """State of one walk and the ``Context`` protocol; the layers above add the walking."""

    def __init__(self, session: ShellSession, scope: Scope, *, depth: int, remote: str | None):
        self.session = session
        self.scope = scope
        self.depth = depth
        self._remote = remote
        self.findings: list[Finding] = []
        self.procs: dict[str, Stdin | None] = {}
        # Extra walks of the commands after an ``if``/``case`` (``Walker._forked``).
        self.forks_left = 8

    if TYPE_CHECKING:  # provided by the layers above (``shell.Walker``)

        def walk(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None: ...

        def classify_shell(
            self,
            script: str,
            *,
            via: str,
            remote: str | None = None,
            cwd: str | None = None,
            env: Mapping[str, str] | None = None,
        ) -> list[Finding]: ...

        def _sequence(self, node: Node, stdin: Stdin | None, level: int) -> Stdin | None: ...

        def _read_redirect(self, value: Value) -> Stdin: ...

    # --- Context protocol -------------------------------------------------------------
    @property
    def project_dir(self) -> str | None:
        return None if self._remote else self.session.workspace.project

    @property
    def home(self) -> str:
        return self.session.workspace.home

    @property
    def remote(self) -> str | None:
        return self._remote

    def environment_of(self, target: str) -> tuple[Environment, str] | None:
        return self.session.inventory.environment_of(target)

    def charge(self, steps: int) -> None:
        self.session.budget.tick(steps)

    def git_branch(self, cwd: str | None) -> str | None:
        if self._remote:
            return None
        where = cwd or self.scope.cwd
        noted = self._noted_branch(where)
        if noted is not None:
            return noted[0]
        return self.session.branch_of(where)

    def _noted_branch(self, cwd: str | None) -> tuple[str | None] | None:
        """The branch a checkout earlier in this command left (``(None,)`` when it cannot
        be named), nearest repository first; None when no checkout was seen."""
        files = self.scope.files
        if not files or not cwd:
            return None
        path = cwd.rstrip("/")
        while True:
            note = files.get(f"{path}/.git/HEAD")
            if note is not None:
                text = note.text or ""
                return (text.removeprefix("ref: refs/heads/") if text.startswith("ref:") else None,)
            if not path:
                return None
            path = path.rsplit("/", 1)[0]

    def read_text(self, path: str, cwd: str | None) -> str | None:
        if self._remote:
            return None
        full = self.session.workspace.expand(path, cwd or self.scope.cwd)
        if full is None:
            return None
        note = self.scope.files.get(full)
        if note is not None:
            return note.text
        return self.session.read_file(full)

    # --- helpers for handlers ---------------------------------------------------------
    @property
    def workspace(self) -> Workspace:
        if self._remote:
            return Workspace(project=None, home="/root")
        return self.session.workspace

    def real_path(self, full: str) -> str:
        """The file an absolute path really names: links made earlier in this command,
        then links on disk.  On another machine (``ssh host …``) nothing is resolved."""
        if self._remote:
            return full
        files = self.scope.files

        def link_of(path: str) -> str | None:
            note = files.get(path)
            return note.link if note is not None else None

        # Only a link made earlier can change the path (files written or copied cannot).
        made_link = any(note.link is not None for note in files.values())
        noted = follow_notes(full, link_of) if made_link else full
        return self.session.files.real(noted)

    def file_note(self, path: str, cwd: str | None) -> FileNote | None:
        full = self.workspace.expand(path, cwd or self.scope.cwd)
        return None if full is None else self.scope.files.get(full)

    def add(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def _promote(self, finding: Finding, remote: str, via: str) -> Finding:
        """A workspace-local change made on another machine is a change to infrastructure."""
        env = finding.environment
        source = finding.env_source
        if (
            env is None
            or env is Environment.LOCAL
            or source in ("agent workspace", "feature branch")
        ):
            # "Local" inside the nested script means local to the remote machine.
            resolved = self.environment_of(remote)
            env, source = resolved if resolved is not None else (None, None)
        effect = Effect.WRITE if finding.effect is Effect.LOCAL else finding.effect
        impact = max(finding.impact, Impact.CAUTION) if effect is Effect.WRITE else finding.impact
        return replace(
            finding,
            effect=effect,
            impact=impact,
            target=f"{remote}:{finding.target}" if finding.target else remote,
            environment=env,
            env_source=source,
            reason=f"{finding.reason} (on {remote}, via {via})",
        )
