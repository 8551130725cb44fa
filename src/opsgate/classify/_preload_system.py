"""``LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 python3 bench.py``: a
library the system's package manager installed is installed code, like a program in
``/usr/bin`` that opsgate runs by name without reading.  Preloading one (an
allocator, a profiler) adds nothing the guard should see; the command is judged on
its own.  Any other library — in the project, in a temporary or home directory, a
bare name the loader searches for, a path known only at run time, a file written or
linked earlier in the same command, a system path that is a link to somewhere else —
stays ``process.inject`` (unknown).
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["installed_libraries"]

# Where packages put shared libraries (Linux distributions, macOS); not /usr/local,
# /opt or /nix, whose contents any installer (or a root agent) may drop there.
_LIBRARY_DIRS = ("/usr/lib/", "/usr/lib32/", "/usr/lib64/", "/usr/libx32/", "/lib/",
                 "/lib32/", "/lib64/", "/System/Library/")  # fmt: skip
_SEPARATORS = re.compile(r"[\s:]+")


def installed_libraries(key: str, value: str, w: Walker) -> bool:
    """Whether every library (or, for ``LD_LIBRARY_PATH``, directory) ``value`` names
    is installed system code."""
    entries = [e for e in _SEPARATORS.split(value.strip()) if e]
    if not entries or w.remote is not None:
        return False
    return all(_installed(entry, w) for entry in entries)


def _installed(entry: str, w: Walker) -> bool:
    if not entry.startswith("/") or any(c in entry for c in "$`*?[~"):
        return False  # a bare name is searched for along a path the command may set
    path = posixpath.normpath(entry)
    if not path.startswith(_LIBRARY_DIRS) or path in w.scope.files:
        return False
    real = w.real_path(path)
    return real.startswith(_LIBRARY_DIRS)
