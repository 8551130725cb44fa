"""Symlinks: the real file behind a path, so a link is judged by where it leads.

``ln -s ~/.aws/credentials notes.txt`` makes an innocent name for the AWS keys; a
reader of ``notes.txt`` reads them.  Every secret check resolves the path first: links
written earlier in the same command (the walker's file notes), then links on disk.
Resolution is bounded (at most ``MAX_HOPS`` links, paths under 4 KiB) and never raises.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable, MutableMapping

__all__ = ["MAX_HOPS", "follow_notes", "real_path"]

MAX_HOPS = 16
_MAX_PATH = 4096


# Paths that name the process's own descriptors (a pipe, a process substitution, the
# terminal): the command's, not the hook's, whose descriptor 63 is anything.
_OWN_DESCRIPTORS = ("/dev/fd/", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/proc/self/fd/",
                    "/proc/thread-self/fd/")  # fmt: skip


def real_path(
    path: str,
    cache: MutableMapping[str, str] | None = None,
    parents: MutableMapping[str, str] | None = None,
) -> str:
    """``path`` (absolute) with every symlink on disk followed; the path itself when it
    cannot be resolved.  ``cache`` keeps answers for one classification only: a link can
    be created between two calls, so a longer-lived cache would be a way around.
    ``parents``: the same, for the directories above paths with nothing at them (many
    files a command names, and would create, share one directory)."""
    if not path.startswith("/") or len(path) > _MAX_PATH or "\x00" in path:
        return path
    if path.startswith(_OWN_DESCRIPTORS):
        return path  # `> >(tee log)`, `> /dev/stderr`: resolved here, they name our own
    if cache is not None:
        hit = cache.get(path)
        if hit is not None:
            return hit
    real = _resolve(path, parents)
    if cache is not None and len(cache) < 512:
        cache[path] = real
    return real


def _resolve(path: str, parents: MutableMapping[str, str] | None = None) -> str:
    """``os.path.realpath`` at the cost of a few system calls: an existing file is
    opened without reading (``O_PATH``) and the kernel names it; only a link itself
    (possibly dangling) takes the slow walk.  Nothing at the path: the file a write
    would create, or a read would find, is still where its directory leads
    (``keys/authorized_keys`` with ``keys -> ~/.ssh``), so the directory is resolved."""
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return _missing(path, parents)
    if stat.S_ISLNK(st.st_mode) or _O_PATH is None:
        return _slow(path)
    try:
        fd = os.open(path, _O_PATH)
    except OSError:
        return _slow(path)
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return _slow(path)
    finally:
        os.close(fd)


def _missing(path: str, parents: MutableMapping[str, str] | None) -> str:
    """A path with nothing at it: its parent resolved, the last name kept.  Only when
    the parent is or passes through a link does the walk cost more than two calls."""
    parent, _, name = path.rstrip("/").rpartition("/")
    if not parent or not name or name in (".", ".."):
        return path
    real_parent = parents.get(parent) if parents is not None else None
    if real_parent is None:
        real_parent = _resolve(parent, parents) if parent.count("/") <= 64 else parent
        if parents is not None and len(parents) < 512:
            parents[parent] = real_parent
    return path if real_parent == parent else f"{real_parent.rstrip('/')}/{name}"


def _slow(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


_O_PATH: int | None = getattr(os, "O_PATH", None) if os.path.isdir("/proc/self/fd") else None


def follow_notes(path: str, link_of: Callable[[str], str | None]) -> str:
    """``path`` with links made earlier in this command followed: ``link_of(p)`` is the
    target recorded for ``p`` (absolute), or None.  A link may be any leading part of
    the path (``ln -s ~/.ssh keys && cat keys/id_rsa``)."""
    for _ in range(MAX_HOPS):
        parts = path.split("/")
        for end in range(len(parts), 1, -1):
            head = "/".join(parts[:end])
            target = link_of(head)
            if target is not None:
                rest = "/".join(parts[end:])
                base = (
                    target
                    if target.startswith("/")
                    else posixpath.join(posixpath.dirname(head), target)
                )
                path = posixpath.normpath(posixpath.join(base, rest) if rest else base)
                break
        else:
            return path
    return path
