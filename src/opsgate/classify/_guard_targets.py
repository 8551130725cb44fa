"""The files a command changes when they are not its plain operands (safeguard 6).

``git rm .claude/settings.json``, ``git checkout HEAD~1 -- .claude/settings.json`` and
``git stash push -- .claude/settings.json`` change the settings through git;
``cp -r /tmp/x/.claude .`` writes ``./.claude`` (the destination is named by the
source); ``tar -xf u.tar .claude/settings.json`` and ``unzip -o u.zip
.claude/settings.json`` write the members they name.  Each gives the paths it
writes, removes or replaces, for the guard to look up.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from opsgate.classify._command import Command
from opsgate.classify._guard_downloads import DOWNLOADERS
from opsgate.classify._guard_listeners import LISTENERS

__all__ = ["PROGRAMS", "changed_paths"]

# git's global options that take a value (before the subcommand).
_GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                         "--exec-path", "--config-env"})  # fmt: skip
# git subcommands that write, remove or move the paths they are given, and their
# options that take a value (so a value is not taken for a path).
_GIT_PATHS: dict[str, tuple[str, ...]] = {
    "rm": (),
    "mv": (),
    "checkout": ("-b", "-B", "--orphan", "--conflict", "--pathspec-from-file"),
    "restore": ("-s", "--source", "--conflict", "--pathspec-from-file"),
    "checkout-index": ("--prefix", "--stage"),
    "stash": ("-m", "--message", "--pathspec-from-file"),
}
_TAR_VALUED = ("-f", "--file", "-C", "--directory", "-T", "--files-from", "-X",
               "--exclude-from", "--exclude", "-b", "--blocking-factor", "-I",
               "--use-compress-program", "--transform", "--xform", "--strip-components",
               "-g", "--listed-incremental", "-H", "--format", "--owner", "--group",
               "--mode", "--mtime")  # fmt: skip
_LANDING = frozenset({"cp", "mv", "rsync", "install", "scp"})


# git subcommands that rewrite the working tree they run in (``git -C ~/.claude pull``).
_GIT_TREE_WRITES = frozenset({"pull", "checkout", "switch", "reset", "restore", "merge",
                              "rebase", "apply", "am", "stash", "cherry-pick", "revert",
                              "clean", "read-tree", "sparse-checkout"})  # fmt: skip
_CLONE_VALUED = ("-b", "--branch", "-o", "--origin", "--depth", "--reference", "-c",
                 "--config", "--separate-git-dir", "--filter", "--template", "-u",
                 "--upload-pack", "-j", "--jobs", "--shallow-since", "--shallow-exclude",
                 "--bundle-uri", "--server-option")  # fmt: skip


def _git(cmd: Command) -> list[str]:
    words = list(cmd.words)
    i = 0
    tree = None
    while i < len(words) and words[i].startswith("-"):
        if words[i] in ("-C", "--work-tree") and i + 1 < len(words):
            tree = words[i + 1]
        i += 2 if words[i] in _GIT_VALUED else 1
    sub = words[i] if i < len(words) else ""
    if sub == "clone":
        rest = type(cmd)("git clone", cmd.args[i + 1 :], cmd.text, cmd.env, cmd.stdin, cmd.cwd)
        ops = [a.value for a in rest.positionals(_CLONE_VALUED) if a.static]
        # ``git clone URL DIR`` fills DIR (default: the repository's name, here).
        if len(ops) > 1:
            return [ops[1]]
        name = posixpath.basename(ops[0].rstrip("/").split(":")[-1]) if ops else ""
        return [name.removesuffix(".git")] if name.removesuffix(".git") else []
    if tree is not None and sub in _GIT_TREE_WRITES:
        return [tree.rstrip("/") + "/."]
    if sub not in _GIT_PATHS:
        return []
    rest = type(cmd)(f"git {sub}", cmd.args[i + 1 :], cmd.text, cmd.env, cmd.stdin, cmd.cwd)
    paths = [a.value for a in rest.positionals(_GIT_PATHS[sub]) if a.static]
    if sub == "stash":
        paths = [p for p in paths if p not in ("push", "save", "-")]
    return paths


def _tar(cmd: Command) -> list[str]:
    words = cmd.words
    first = words[0] if words else ""
    extracting = cmd.has("-x", "--extract", "--get") or (not first.startswith("-") and "x" in first)
    if not extracting:
        return []
    where = cmd.option("-C", "--directory") or ""
    valued = _TAR_VALUED if first.startswith("-") else (*_TAR_VALUED, first)
    members = [a.value for a in cmd.positionals(valued) if a.static]
    if not first.startswith("-") and "f" in first:
        members = members[1:]  # the archive: ``tar xf ARCHIVE MEMBER``
    return [posixpath.join(where, m) if where else m for m in members]


def _unzip(cmd: Command) -> list[str]:
    words = list(cmd.words)
    if "-x" in words:
        words = words[: words.index("-x")]  # what follows is excluded
    where = cmd.option("-d") or ""
    ops = [w for i, w in enumerate(words) if not w.startswith("-")
           and (i == 0 or words[i - 1] != "-d")]  # fmt: skip
    return [posixpath.join(where, m) if where else m for m in ops[1:]]


def _landing(cmd: Command) -> list[str]:
    """``cp -r SRC/.claude DIR``: each source lands in DIR under its own name."""
    ops = [a.value for a in cmd.args if a.static and not a.value.startswith("-")]
    target = cmd.option("-t", "--target-directory")
    sources, dest = (ops, target) if target else (ops[:-1], ops[-1] if ops else None)
    if not dest:
        return []
    out = []
    for source in sources:
        name = posixpath.basename(source.rstrip("/"))
        if name and name not in (".", "..") and not source.endswith("/"):
            out.append(posixpath.join(dest, name))
    return out


_READERS: dict[str, Callable[[Command], list[str]]] = {
    "git": _git,
    "tar": _tar,
    "bsdtar": _tar,
    "gtar": _tar,
    "unzip": _unzip,
    **dict.fromkeys(_LANDING, _landing),
    **LISTENERS,  # a server on a socket path: the hook socket (``_guard_listeners``)
    **DOWNLOADERS,  # ``curl -o``/``wget -O`` over a guard file (``_guard_downloads``)
}
PROGRAMS = frozenset(_READERS)


def changed_paths(cmd: Command) -> list[str]:
    """The paths ``cmd`` changes beyond its plain operands ([] when it has none)."""
    reader = _READERS.get(cmd.name)
    return reader(cmd) if reader is not None else []
