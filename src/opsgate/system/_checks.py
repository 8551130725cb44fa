"""Who could change a path: the checks protected mode rests on.

A hook that runs code, or reads settings, which the agent's own user can change
protects nothing.  So every file protected mode trusts — the interpreter and opsgate's
own package, the hook programs, the configuration, each agent's managed settings —
must belong to root (or the service user, for its data) along its whole path, and be
writable by nobody else.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["loose_tree", "opsgate_install_problem", "untrusted_reason"]


def untrusted_reason(path: Path, owners: tuple[int, ...] = (0,)) -> str | None:
    """Why a user other than ``owners`` could change ``path`` (or what it resolves
    to, or any directory above either), or None when nobody else can."""
    for candidate in _chain(path):
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            return f"{candidate} does not exist"
        except OSError as exc:
            return f"cannot inspect {candidate}: {exc.strerror}"
        if st.st_uid not in owners:
            return f"{candidate} belongs to uid {st.st_uid}"
        sticky = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
        if st.st_mode & 0o022 and not stat.S_ISLNK(st.st_mode) and not sticky:
            return f"{candidate} is writable by its group or by everyone"
    return None


def _chain(path: Path) -> Iterator[Path]:
    """``path``, every directory above it, and the same for what it resolves to."""
    seen: set[Path] = set()
    # The path as written (its symlinks are links someone could swap) and as resolved.
    for start in (Path.cwd() / path if not path.is_absolute() else path, path.resolve()):
        for candidate in (start, *start.parents):
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def loose_tree(root: Path) -> str | None:
    """The first file or directory under ``root`` (a package) that is not root's alone."""
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder) / name
            st = os.lstat(path)
            if st.st_uid != 0:
                return f"{path} belongs to uid {st.st_uid}"
            if st.st_mode & 0o022 and not stat.S_ISLNK(st.st_mode):
                return f"{path} is writable by its group or by everyone"
    return None


def opsgate_install_problem() -> str | None:
    """Why this opsgate installation cannot back protected mode: the interpreter or
    opsgate's own code could be changed by a user other than root."""
    import opsgate

    package = Path(opsgate.__file__).resolve().parent
    for path in (Path(sys.executable), Path(sys.prefix), package):
        reason = untrusted_reason(path)
        if reason:
            return reason
    return loose_tree(package)
