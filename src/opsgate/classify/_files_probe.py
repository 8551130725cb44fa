"""The file source's looks at the agent's own disk that read no file's text: which
credentials files a recursive search would meet, which links a program that follows
them would take, what a glob picks.  Only ``_files.LocalFiles`` calls these; every
answer is recorded there as a fact, so a grant binds to it and the control plane
answers from what the hook sent, never from its own disk.

Each walk is bounded (entries, depth, matches) and never raises.  A tree too large to
walk completely answers ``TOO_MANY``: the caller says what it could not check.
"""

from __future__ import annotations

import glob
import itertools
import os
import stat
from collections.abc import Callable, Iterator

from opsgate.classify._paths_links import real_path
from opsgate.classify.paths import holds_secrets, is_secret_dir, is_secret_path

__all__ = ["MAX_ENTRIES", "MAX_MATCHES", "TOO_MANY", "files_named", "glob_secret",
           "secret_file_under", "secret_link_under", "tracked"]  # fmt: skip

MAX_ENTRIES = 5000  # directory entries looked at by one walk
MAX_DEPTH = 12
MAX_MATCHES = 500  # glob matches looked at
TOO_MANY = "?"
# Directories a search for credentials files does not enter: git's own store, and
# installed packages (a tool's test fixture there is no one's credential).
_SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__"})
_MAX_INDEX = 32 * 1024 * 1024


def _walk(root: str, enter: Callable[[os.DirEntry[str]], bool]) -> Iterator[os.DirEntry[str]]:
    """Every entry under ``root``, breadth first, entering the directories ``enter``
    accepts (never through a link); the caller counts and stops."""
    queue = [(root, 0)]
    while queue:
        directory, depth = queue.pop(0)
        try:
            with os.scandir(directory) as entries:
                listed = list(itertools.islice(entries, MAX_ENTRIES + 1))
        except OSError:
            continue
        for entry in listed:
            yield entry
            if depth < MAX_DEPTH and _is_dir(entry) and enter(entry):
                queue.append((entry.path, depth + 1))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def secret_file_under(directory: str, *, hidden: bool) -> tuple[str, ...] | str:
    """Credentials files a recursive search of ``directory`` reads (at most eight), or
    ``TOO_MANY``.  ``hidden``: dot files and directories are searched (grep; ripgrep
    only with ``--hidden``)."""
    found: list[str] = []

    def enter(entry: os.DirEntry[str]) -> bool:
        return entry.name not in _SKIP_DIRS and (hidden or not entry.name.startswith("."))

    for count, entry in enumerate(_walk(directory, enter)):
        if count >= MAX_ENTRIES:
            return TOO_MANY if not found else tuple(found)
        if not hidden and entry.name.startswith("."):
            continue
        if is_secret_path(entry.path) and entry.is_file():
            found.append(entry.path)
            if len(found) >= 8:
                break
    return tuple(found)


# Directories a runner's own search does not enter (pytest's ``norecursedirs``, the Go
# tool's ``./...``): hidden ones, installed packages and build output.
_RUNNER_SKIP = frozenset({"node_modules", ".venv", "venv", "__pycache__", "build", "dist",
                          "vendor", "testdata", "target", "site-packages"})  # fmt: skip
MAX_LISTED = 64
_GLOB_CHARS = frozenset("*?[")  # files one listing names before it answers TOO_MANY


def files_named(
    directory: str, patterns: tuple[str, ...], recursive: bool, newest: int = 0
) -> tuple[str, ...] | str:
    """The files in ``directory`` (with ``recursive``, below it, as a runner searches)
    whose names match one of ``patterns``, sorted; ``TOO_MANY`` past the bounds.

    ``newest``: a large tree is not too many.  Files named exactly by a pattern (say
    ``conftest.py``) are all kept, and of the other matches only the ``newest`` most
    recently changed (a file planted or edited for this run is among them)."""
    import fnmatch

    found: list[str] = []
    ranked: list[tuple[int, str]] = []
    exact = {p for p in patterns if not _GLOB_CHARS & set(p)}
    bound = MAX_ENTRIES * 4 if newest else MAX_ENTRIES

    def enter(entry: os.DirEntry[str]) -> bool:
        return recursive and not entry.name.startswith(".") and entry.name not in _RUNNER_SKIP

    for count, entry in enumerate(_walk(directory, enter)):
        if count >= bound or len(found) > MAX_LISTED:
            return TOO_MANY
        if not any(fnmatch.fnmatchcase(entry.name, p) for p in patterns) or _is_dir(entry):
            continue
        if not newest or entry.name in exact:
            found.append(entry.path)
        else:
            ranked.append((_changed(entry), entry.path))
    ranked.sort(reverse=True)
    return tuple(sorted([*found, *(path for _, path in ranked[:newest])]))


def _changed(entry: os.DirEntry[str]) -> int:
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return 0
    return max(st.st_mtime_ns, st.st_ctime_ns)


def secret_link_under(directory: str, home: str, *, dirs: bool, files: bool) -> str | None:
    """Where the first link under ``directory`` that leads to credentials goes (a file
    link with ``files``, a directory link with ``dirs``), None, or ``TOO_MANY``.  Links
    are not entered: the target is judged instead (a credentials file, a credentials
    directory, or a directory above one, like the home)."""
    for count, entry in enumerate(_walk(directory, lambda e: e.name != ".git")):
        if count >= MAX_ENTRIES:
            return TOO_MANY
        if not entry.is_symlink():
            continue
        real = real_path(entry.path)
        try:
            kind = "dir" if stat.S_ISDIR(os.stat(entry.path).st_mode) else "file"
        except OSError:
            kind = ""  # dangling: what it names is judged either way
        if kind != "file" and dirs and (is_secret_dir(real) or holds_secrets(real, home)):
            return real
        if kind != "dir" and files and is_secret_path(real):
            return real
    return None


def glob_secret(pattern: str, home: str, *, trees: bool) -> str | None:
    """The first credentials file (through its links) among what ``pattern`` expands
    to, or with ``trees`` a credentials directory, or a directory above one."""
    recursive = "**" in pattern
    try:
        matches = glob.iglob(pattern, recursive=recursive, include_hidden=recursive)
        for match in itertools.islice(matches, MAX_MATCHES):
            real = real_path(match)
            if is_secret_path(match) or is_secret_path(real):
                return real
            if trees and (is_secret_dir(real) or holds_secrets(real, home)):
                return real
    except (OSError, ValueError, RecursionError):
        return None
    return None


def tracked(root: str, relative: str) -> bool:
    """Whether git's index at ``root`` lists ``relative``: read from ``.git/index``
    without running git.  An index opsgate cannot read (a version 4 index, which
    compresses its paths, a worktree's index elsewhere, one too large) counts as
    tracked, so a search of tracked files is never judged blind."""
    try:
        with open(os.path.join(root, ".git", "index"), "rb") as f:
            data = f.read(_MAX_INDEX + 1)
    except OSError:
        return not os.path.isdir(os.path.join(root, ".git"))  # a file: a worktree
    if len(data) > _MAX_INDEX or data[:4] != b"DIRC" or data[4:8] not in (
        b"\x00\x00\x00\x02", b"\x00\x00\x00\x03"
    ):  # fmt: skip
        return True
    name = relative.encode("utf-8", "surrogateescape")
    needle = name + b"\x00"
    start = 0
    while (at := data.find(needle, start)) >= 0:
        # Each entry's path follows a 16-bit flags field whose low 12 bits are its
        # length (in version 3, possibly then a 16-bit extended-flags field).
        if at >= 4 and data[at - 1 : at] != b"/":
            for flags in (data[at - 2 : at], data[at - 4 : at - 2]):
                if (int.from_bytes(flags, "big") & 0xFFF) == min(len(name), 0xFFF):
                    return True
        start = at + 1
    return False
