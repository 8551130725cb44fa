"""Codex's ``apply_patch`` envelope, read as the file operations it performs.

    *** Begin Patch
    *** Add File: path        + lines: the new file's content
    *** Update File: path     optional "*** Move to: new path", then @@ hunks of -/+ lines
    *** Delete File: path
    *** End Patch

(Grammar: codex-rs/apply-patch/apply_patch_tool_instructions.md.)  Each operation
becomes the action opsgate already understands: an add is a ``Write`` of the new
content, an update an ``Edit`` (removed lines → ``old_string``, added lines →
``new_string``), a delete ``rm -- path`` and a move ``mv -- old new``, so a patch is
judged exactly like the same change made with Claude Code's tools or a shell.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

__all__ = ["FileOp", "PatchError", "parse_patch"]


class PatchError(ValueError):
    pass


@dataclass
class FileOp:
    verb: str  # "add", "update", "delete"
    path: str
    move_to: str | None = None
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def as_tool_call(self) -> list[tuple[str, dict[str, str]]]:
        """(tool, tool_input) pairs in opsgate's vocabulary."""
        if self.verb == "delete":
            return [("Bash", {"command": shlex.join(["rm", "--", self.path])})]
        content = "\n".join(self.added) + ("\n" if self.added else "")
        if self.verb == "add":
            return [("Write", {"file_path": self.path, "content": content})]
        calls: list[tuple[str, dict[str, str]]] = []
        target = self.path
        if self.move_to is not None:
            calls.append(("Bash", {"command": shlex.join(["mv", "--", self.path, self.move_to])}))
            target = self.move_to
        old = "\n".join(self.removed)
        calls.append(("Edit", {"file_path": target, "old_string": old, "new_string": content}))
        return calls


_HEADERS = {"*** Add File: ": "add", "*** Update File: ": "update", "*** Delete File: ": "delete"}


def parse_patch(text: str) -> list[FileOp]:
    """The operations of one patch; anything outside the grammar is a ``PatchError``
    (the hook blocks a patch it cannot read rather than guess)."""
    lines = text.strip().splitlines()
    if not lines or lines[0].strip() != "*** Begin Patch":
        raise PatchError("the patch does not start with '*** Begin Patch'")
    if lines[-1].strip() != "*** End Patch":
        raise PatchError("the patch does not end with '*** End Patch'")
    ops: list[FileOp] = []
    for line in lines[1:-1]:
        header = next((h for h in _HEADERS if line.startswith(h)), None)
        if header is not None:
            path = line[len(header) :].strip()
            if not path:
                raise PatchError(f"no path after {header.strip()!r}")
            ops.append(FileOp(_HEADERS[header], path))
            continue
        if not ops:
            raise PatchError(f"text before the first file operation: {line[:80]!r}")
        _body_line(ops[-1], line)
    if not ops:
        raise PatchError("the patch changes no file")
    return ops


def _body_line(op: FileOp, line: str) -> None:
    if line.startswith("*** Move to: ") and op.verb == "update":
        op.move_to = line[len("*** Move to: ") :].strip() or None
    elif line.startswith("@@") or line.strip() == "*** End of File":
        return
    elif op.verb == "delete":
        raise PatchError(f"a deleted file has no body: {line[:80]!r}")
    elif line.startswith("+"):
        op.added.append(line[1:])
    elif line.startswith("-") and op.verb == "update":
        op.removed.append(line[1:])
    elif (line.startswith(" ") or line == "") and op.verb == "update":
        return  # context
    else:
        raise PatchError(f"a line outside the patch grammar: {line[:80]!r}")
