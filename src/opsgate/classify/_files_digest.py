"""The digest of what a command runs as a whole — a directory of configuration
(``terraform apply`` runs every ``*.tf`` of its directory, ``kubectl apply -f DIR``
every manifest in it) or a file it names without the classifier reading its text —
for a grant to bind to (issue 13.5).

Nothing here is read for classification and no text leaves: the digest is one
``sha256:…`` over each file's relative name and the SHA-256 of its bytes, recorded
by the file source as a fact (``_files.FileSource.digest``).  A credentials file is
never opened (SPEC §4 safeguard 1): it counts by its name and size.  Bounded: at
most ``MAX_ENTRIES`` files and ``MAX_BYTES`` hashed in all; past either bound a
file counts by its size and modification time, so an edit still shows; past
``MAX_LISTED`` files the directory cannot be bound at all, and its digest matches
no retry.  Directories whose names start with a dot (``.terraform``'s providers,
``.git``) are skipped.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsgate.classify._command import Context

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "MAX_LISTED", "bind_digest", "tree_digest"]

MAX_ENTRIES = 512  # files hashed by their bytes
MAX_LISTED = 20_000  # files counted at all (past MAX_ENTRIES by size and mtime)
MAX_BYTES = 32 * 1024 * 1024
_NOT_FILES = ("/proc/", "/sys/", "/dev/")


def bind_digest(
    ctx: Context, path: str, cwd: str | None, suffixes: tuple[str, ...] = (), depth: int = 0
) -> str | None:
    """Record, for the grant, the digest of ``path`` (relative to ``cwd``) as a
    handler sees it: the walker's file source on this machine, what the connected
    hook reported on the control plane; None inside ``ssh host …`` or unresolvable."""
    session = getattr(ctx, "session", None)
    if session is None or ctx.remote is not None or path.startswith("$"):
        return None
    full = session.workspace.expand(path, cwd)
    if full is None:
        return None
    found: str = session.files.digest(full, suffixes, depth)
    return found


def tree_digest(path: str, suffixes: tuple[str, ...], depth: int, guarded: tuple[str, ...]) -> str:
    """``sha256:…`` of the file at ``path``, or of the files under the directory at
    ``path`` whose names end in one of ``suffixes`` (every file with ``()``), down to
    ``depth`` levels below it; "missing" or "other" when it is neither."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "missing"
    if path.startswith(_NOT_FILES):
        return "other"
    if stat.S_ISREG(mode):
        entries: Iterator[tuple[str, str]] = iter([("", path)])
    elif stat.S_ISDIR(mode):
        entries = _walk(path, suffixes, depth)
    else:
        return "other"
    hasher = hashlib.sha256(b"opsgate-tree-v1\x00")
    budget = [MAX_BYTES]
    for count, (name, full) in enumerate(entries):
        if count >= MAX_LISTED:
            # Too large to bind: a digest no retry can match, so a grant never covers
            # it (each call needs its own card) rather than covering it unseen.
            return "unbound:" + secrets.token_hex(16)
        part = _file_part(full, guarded, budget) if count < MAX_ENTRIES else _stat(full)
        hasher.update(f"{name}\x00{part}\n".encode())
    return "sha256:" + hasher.hexdigest()


def _walk(root: str, suffixes: tuple[str, ...], depth: int) -> Iterator[tuple[str, str]]:
    """(relative name, absolute path) of the matching files, sorted, dot dirs skipped."""
    base = root.rstrip("/")
    for here, dirs, files in os.walk(root):
        level = 0 if here == root else here[len(base) + 1 :].count("/") + 1
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if level < depth else []
        for name in sorted(files):
            if not suffixes or name.endswith(suffixes):
                full = os.path.join(here, name)
                yield full[len(base) + 1 :], full


def _stat(full: str) -> str:
    try:
        info = os.stat(full)
    except OSError:
        return "missing"
    return f"stat:{info.st_size}:{info.st_mtime_ns}"


def _file_part(full: str, guarded: tuple[str, ...], budget: list[int]) -> str:
    from opsgate.classify._files import secret_reason

    try:
        info = os.stat(full)
    except OSError:
        return "missing"
    real = os.path.realpath(full)
    if secret_reason(full, guarded) or secret_reason(real, guarded):
        return f"secret:{info.st_size}"  # never opened, not even to hash it
    if not stat.S_ISREG(info.st_mode) or real.startswith(_NOT_FILES):
        return "other"
    if info.st_size > budget[0]:
        return _stat(full)
    digest = _sha256(real, info.st_size)
    if digest is None:
        return "unreadable"
    budget[0] -= info.st_size
    return digest


def _sha256(path: str, size: int) -> str | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    hasher = hashlib.sha256()
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        left = size + 1  # a file that grew since it was listed is cut, and shows
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            hasher.update(chunk)
            left -= len(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return hasher.hexdigest()
