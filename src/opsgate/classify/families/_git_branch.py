"""The branch a command switches to, so a later ``git push`` in it is judged right.

``git checkout main && git push`` pushes main, whatever branch is on disk when the
command is judged.  A checkout or switch records the branch it leaves checked out in
the walker's file notes, as the ``.git/HEAD`` it writes; ``Context.git_branch`` reads
notes before the disk.  ``git switch -`` and ``@{-1}`` return to the branch an earlier
switch in the same command left (noted beside ``.git/HEAD``); with no earlier switch
the previous branch is in git's reflog, which opsgate does not read, and the branch
is unknown.  ``git symbolic-ref HEAD refs/heads/main`` moves HEAD like a checkout;
``git worktree add DIR BRANCH`` checks BRANCH out in DIR (``git -C DIR push`` pushes
it).  A switch to a branch opsgate cannot name (a detached checkout of
``origin/main``) records an unknown branch, so the push is judged as a push of an
unknown branch.
"""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context

if TYPE_CHECKING:
    from opsgate.classify._shell_state import Scope

__all__ = ["HEAD_NOTE", "note_head", "note_switch", "note_worktree"]

HEAD_NOTE = ".git/HEAD"
# Where a switch notes the branch it left, for a later ``git switch -`` (a name git
# itself never writes, so no file of the repository is shadowed).
_PREVIOUS_NOTE = ".git/opsgate-previous-branch"
_PREVIOUS = object()
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
    base = (cmd.cwd or ctx.project_dir or "").rstrip("/")
    if branch is _PREVIOUS:
        branch = _previous(scope, base)
    _record(scope, base, branch if isinstance(branch, str) else None, ctx.git_branch(cmd.cwd))


def note_head(cmd: Command, ctx: Context) -> None:
    """``git symbolic-ref HEAD refs/heads/main``: HEAD now names main."""
    scope = getattr(ctx, "scope", None)
    ops = [a for a in cmd.positionals(("-m",))]
    if scope is None or ctx.remote is not None or len(ops) != 2 or ops[0].value != "HEAD":
        return
    ref = ops[1]
    branch = ref.value.removeprefix("refs/heads/") if ref.static else None
    if branch is not None and not ref.value.startswith("refs/heads/"):
        branch = None  # HEAD pointed at a tag or a remote ref: no branch a push names
    base = (cmd.cwd or ctx.project_dir or "").rstrip("/")
    _record(scope, base, branch, ctx.git_branch(cmd.cwd))


_WORKTREE_VALUED = ("-b", "-B", "--reason", "--orphan")


def note_worktree(cmd: Command, ctx: Context) -> None:
    """``git worktree add DIR [BRANCH]``: DIR has BRANCH checked out (a new branch named
    after DIR when none is given), so ``git -C DIR push`` pushes it."""
    scope = getattr(ctx, "scope", None)
    if scope is None or ctx.remote is not None or cmd.words[:1] != ("add",):
        return
    ops = [a for a in cmd.positionals(_WORKTREE_VALUED)][1:]
    if not ops or not ops[0].static:
        return
    base = (cmd.cwd or ctx.project_dir or "/").rstrip("/") or "/"
    where = posixpath.normpath(posixpath.join(base, ops[0].value)).rstrip("/")
    created = cmd.option("-b", "-B", "--orphan")
    if cmd.has("--detach", "-d"):
        branch: str | None = None
    elif created is not None:
        branch = created
    elif len(ops) > 1:
        head = ops[1]
        plain = head.static and not head.value.startswith(("-", "@")) and "~" not in head.value
        branch = head.value if plain and "^" not in head.value else None
    else:
        branch = posixpath.basename(where)
    _record(scope, where, branch, None)


def _record(scope: Scope, base: str, branch: str | None, left: str | None) -> None:
    from opsgate.classify._shell_state import FileNote

    files = scope.files
    files[f"{base}/{HEAD_NOTE}"] = FileNote(f"ref: refs/heads/{branch}" if branch else None, False)
    files[f"{base}/{_PREVIOUS_NOTE}"] = FileNote(left, False)


def _previous(scope: Scope, base: str) -> str | None:
    """The branch an earlier switch in this command left, or None (not known)."""
    note = scope.files.get(f"{base}/{_PREVIOUS_NOTE}")
    return note.text if note is not None else None


def _target(cmd: Command, ctx: Context) -> tuple[bool, str | object | None]:
    """(whether the command switches branches, the branch name or None if unknown;
    ``_PREVIOUS`` for the previous branch)."""
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
    if head.value in ("-", "@{-1}"):
        return True, _PREVIOUS
    if not head.static or head.value.startswith("@{"):
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
