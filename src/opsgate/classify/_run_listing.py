"""The files a runner collects by a pattern: ``-include mk/*.mk``, pytest's test
modules and ``conftest.py`` files, the Go files ``go generate ./...`` scans.

The disk is looked at through the file source (``FileSource.files_named``: bounded,
recorded as a fact so a grant binds to the list); files written earlier in this
command (the walker's notes) are added, since the runner will see them too.  None
means the list cannot be known (too many files, or no way to look): the caller judges
that as ``unknown``.
"""

from __future__ import annotations

import fnmatch
import posixpath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["GLOB_CHARS", "collected", "glob_files"]

GLOB_CHARS = frozenset("*?[")


def collected(
    w: Walker, directory: str, patterns: tuple[str, ...], *, recursive: bool, newest: int = 0
) -> tuple[str, ...] | None:
    """The files below ``directory`` (absolute) whose names match ``patterns`` (with
    ``newest``: the exact names and the newest other matches, ``files_named``)."""
    listed = w.session.files.files_named(directory, patterns, recursive=recursive, newest=newest)
    if listed is None:
        return None
    prefix = directory.rstrip("/") + "/"
    noted = [
        path
        for path, note in w.scope.files.items()
        if path.startswith(prefix)
        and note.text is not None
        and (recursive or "/" not in path[len(prefix) :])
        and any(fnmatch.fnmatchcase(posixpath.basename(path), p) for p in patterns)
    ]
    return tuple(sorted({*listed, *noted}))


def glob_files(w: Walker, pattern: str, cwd: str | None) -> tuple[str, ...] | None:
    """What a glob of file names (``mk/*.mk``) matches; None when it cannot be known
    (a wildcard in a directory part, or an unlisted directory)."""
    full = w.workspace.expand(pattern, cwd or w.scope.cwd)
    if full is None:
        return None
    directory, name = posixpath.split(full)
    if GLOB_CHARS & set(directory):
        return None
    return collected(w, directory, (name,), recursive=False)
