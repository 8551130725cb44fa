"""The branch a command switches to, so a later ``git push`` in it is judged right.

``git checkout main && git push`` pushes main, whatever branch is on disk when the
command is judged.  A checkout or switch records the branch it leaves checked out in
the walker's file notes, as the ``.git/HEAD`` it writes; ``Context.git_branch`` reads
notes before the disk.  A switch to a branch opsgate cannot name (``git switch -``,
``@{-1}``, a detached checkout of ``origin/main``) records an unknown branch, so the
push is judged as a push of an unknown branch.
"""

from __future__ import annotations

import os

from opsgate.classify._command import Command, Context

__all__ = ["HEAD_NOTE", "note_switch"]

HEAD_NOTE = ".git/HEAD"
_REMOTES = ("origin/", "upstream/", "refs/remotes/")
_CHECKOUT_VALUED = ("-b", "-B", "--orphan", "--conflict", "--pathspec-from-file")
_SWITCH_VALUED = ("-c", "-C", "--create", "--force-create", "--orphan", "--conflict")


def note_switch(cmd: Command, ctx: Context) -> None:
    """Record the branch ``git checkout``/``git switch`` (``cmd``) leaves checked out."""
    scope = getattr(ctx, "scope", None)
    if scope is None or ctx.remote is not None:
        return
    switched, branch = _target(cmd, ctx)
    if not switched:
        return
    from opsgate.classify._shell_state import FileNote

    base = (cmd.cwd or ctx.project_dir or "").rstrip("/")
    text = f"ref: refs/heads/{branch}" if branch else None
    scope.files[f"{base}/{HEAD_NOTE}"] = FileNote(text, False)


def _target(cmd: Command, ctx: Context) -> tuple[bool, str | None]:
    """(whether the command switches branches, the branch name or None if unknown)."""
    switch = cmd.name == "git switch"
    created = cmd.option(*(_SWITCH_VALUED[:4] if switch else ("-b", "-B", "--orphan")))
    if created is not None:
        return True, created
    if cmd.has("--detach", "-d" if switch else "--detach"):
        return True, None
    words = cmd.words
    if "--" in words:
        return False, None  # paths: `git checkout -- file`
    ops = [a for a in cmd.positionals(_SWITCH_VALUED if switch else _CHECKOUT_VALUED)]
    if not ops:
        track = cmd.option("-t", "--track")
        return (True, track.split("/", 1)[-1]) if track else (False, None)
    head = ops[0]
    if not head.static or head.value == "-" or head.value.startswith("@{"):
        return True, None
    if not switch and (len(ops) > 1 or _is_path(head.value, cmd, ctx)):
        return False, None  # `git checkout REV file`, `git checkout src/`
    if head.value.startswith(_REMOTES) or "~" in head.value or "^" in head.value:
        return True, None  # a detached HEAD: a plain push has no branch to push
    return True, head.value


def _is_path(word: str, cmd: Command, ctx: Context) -> bool:
    if word in (".", "..") or word.startswith(("./", "../", "/")):
        return True
    base = cmd.cwd or ctx.project_dir
    return bool(base) and os.path.lexists(os.path.join(base, word))  # type: ignore[arg-type]  # base checked
