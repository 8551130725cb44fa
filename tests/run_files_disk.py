"""An in-memory file source for tests of ``classify._run_*``: the classifier's reader
interface (a file's text or None, and what is at a path), counting reads."""

from __future__ import annotations

from collections import Counter

from opsgate.classify._shell_state import ShellSession
from opsgate.classify.paths import Workspace
from opsgate.classify.shell import classify_script
from opsgate.models import Effect, Finding, Impact

PROJECT = "/home/dev/project"


class Disk:
    """Files by absolute path; ``withheld`` paths are there but the reader returns
    nothing (too large, unreadable, refused)."""

    def __init__(self, files: dict[str, str], withheld: tuple[str, ...] = ()) -> None:
        self.files = {self._full(p): t for p, t in files.items()}
        self.withheld = {self._full(p) for p in withheld}
        self.reads: Counter[str] = Counter()

    @staticmethod
    def _full(path: str) -> str:
        return path if path.startswith("/") else f"{PROJECT}/{path}"

    def read(self, path: str) -> str | None:
        self.reads[path] += 1
        return None if path in self.withheld else self.files.get(path)

    def kind(self, path: str) -> str | None:
        if path in self.files or path in self.withheld:
            return "file"
        prefix = path.rstrip("/") + "/"
        return "dir" if any(p.startswith(prefix) for p in self.files) else None


def run(command: str, disk: Disk) -> list[Finding]:
    session = ShellSession(
        Workspace(PROJECT, "/home/dev"), read_file=disk.read, file_kind=disk.kind
    )
    return classify_script(command, session, cwd=PROJECT)


def worst(findings: list[Finding]) -> tuple[Effect, Impact]:
    if not findings:
        return Effect.READ, Impact.SAFE
    return max(f.effect for f in findings), max(f.impact for f in findings)
