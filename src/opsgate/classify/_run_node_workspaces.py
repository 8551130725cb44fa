"""The packages of a JavaScript workspace: ``pnpm -r build``, ``npm run test --workspaces``.

A run over every workspace package runs each package's script of that name.  The
packages are where the workspace file says: ``pnpm-workspace.yaml``'s ``packages:``
globs, or the root ``package.json``'s ``workspaces`` (a list, or ``{packages: […]}``).
A glob ``dir/*`` is the directories one level below ``dir`` that hold a
``package.json``, ``dir/**`` any level (never inside ``node_modules``).  The listing
goes through the file source, so a grant binds to it; when a list cannot be known
(no workspace file, an unreadable one, too many files) the caller keeps ``unknown``.
"""

from __future__ import annotations

import json
import posixpath
from typing import TYPE_CHECKING

from opsgate.classify._run_files import Loaded, load

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["workspace_packages"]

_MAX_PACKAGES = 32


def workspace_packages(w: Walker, root_package: Loaded) -> list[str] | None:
    """The directories of the workspace's packages (the root's first), or None."""
    root = posixpath.dirname(root_package.path)
    globs = _globs(w, root, root_package)
    if globs is None:
        return None
    found: list[str] = [root]
    for glob in globs:
        if glob.startswith("!"):
            continue  # an exclusion only narrows what runs
        listed = _expand(w, root, glob.strip().strip("/").removeprefix("./"))
        if listed is None:
            return None
        found += [d for d in listed if d not in found]
        if len(found) > _MAX_PACKAGES:
            return None
    return found


def _globs(w: Walker, root: str, root_package: Loaded) -> list[str] | None:
    pnpm = load(w, posixpath.join(root, "pnpm-workspace.yaml"), None)
    if pnpm.state != "missing":
        if pnpm.text is None:
            return None
        from opsgate.classify._run_tasks import yaml_of

        data = yaml_of(w, pnpm)
        packages = data.get("packages") if isinstance(data, dict) else None
        return _strings(packages)
    try:
        data = json.loads(root_package.text or "")
    except (ValueError, RecursionError):
        return None
    spaces = data.get("workspaces") if isinstance(data, dict) else None
    if isinstance(spaces, dict):
        spaces = spaces.get("packages")
    return _strings(spaces)


def _strings(value: object) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return [str(v) for v in value]


def _expand(w: Walker, root: str, glob: str) -> list[str] | None:
    """The package directories a workspace glob names."""
    from opsgate.classify._run_listing import GLOB_CHARS, collected

    star = min((glob.find(c) for c in GLOB_CHARS if c in glob), default=-1)
    if star < 0:
        directory = posixpath.join(root, glob)
        return [directory] if w.session.file_kind(directory) == "dir" else []
    base = posixpath.join(root, glob[:star].rsplit("/", 1)[0]) if "/" in glob[:star] else root
    pattern = glob[len(posixpath.relpath(base, root)) + 1 :] if base != root else glob
    listed = collected(w, base, ("package.json",), recursive=True)
    if listed is None:
        return None
    out: list[str] = []
    for path in listed:
        relative = posixpath.dirname(path)[len(base.rstrip("/")) + 1 :]
        if not relative or "node_modules" in relative.split("/"):
            continue
        if _matches(relative, pattern):
            out.append(posixpath.dirname(path))
    return sorted(out)


def _matches(relative: str, pattern: str) -> bool:
    import fnmatch

    if "**" in pattern:
        head = pattern.split("**", 1)[0].rstrip("/")
        return not head or relative == head or relative.startswith(head + "/")
    parts, wanted = relative.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(p, q) for p, q in zip(parts, wanted, strict=True)
    )
