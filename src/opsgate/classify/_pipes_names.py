"""File names a listing sends down a pipe: ``find ~/.ssh -type f | cpio -o``.

Programs that take the files to read as names on their standard input (``cpio -o``,
``tar -T -``, ``zip -@``, ``rsync --files-from=-``, ``xargs cat``) read whatever the
listing before them prints.  ``find`` and ``fd`` print what is under their start
directories, known only at run time; what matters for secrets is known now: a start
that is a credentials file, or a credentials directory (or one above it, like the
home), whose files a name filter (``-name '*.pub'``) does not rule out.  Those are the
names (a directory ending in ``/``); an ordinary project directory gives none, as an
archive of the project is not a secret read (docs/classification.md).
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify.paths import holds_secrets, is_secret_dir, is_secret_path

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["LISTERS", "NAME_LISTERS", "listed_names", "listing_roots"]

LISTERS = frozenset({"find", "fd", "fdfind"})
# One of each kind of credentials file's name: a filter that matches none of them lists
# no credentials file.
_SECRET_NAMES = (".env", ".env.production", "id_rsa", "id_ed25519", "credentials", ".netrc",
                 ".pgpass", "config.json", "secrets.yml", "server.key", "cert.pem",
                 "kubeconfig", "token", "terraform.tfstate", "credentials.json",
                 "service-account.json", ".git-credentials", ".npmrc")  # fmt: skip
_FIND_FILTERS = frozenset({"-name", "-iname"})
_FD_VALUED = frozenset({"-e", "--extension", "-t", "--type", "-E", "--exclude", "-d",
                        "--max-depth", "--min-depth", "--exact-depth", "-S", "--size", "-o",
                        "--owner", "-j", "--threads", "--max-results", "-c", "--color",
                        "--base-directory", "--search-path", "--path-separator",
                        "--ignore-file", "--changed-within", "--changed-before",
                        "--format"})  # fmt: skip


def listed_names(cmd: Command, w: Walker) -> tuple[str, ...]:
    """What ``cmd`` (a lister) prints that matters for secrets; () when nothing does."""
    if cmd.name == "find":
        starts, may_name = _find(cmd)
        hidden = True
    else:
        starts, may_name = _fd(cmd)
        # fd skips hidden entries (~/.ssh under ~) unless told otherwise.
        hidden = cmd.has("-H", "--hidden", "-u", "--unrestricted")
    if not may_name:
        return ()
    out: list[str] = []
    for start in starts:
        full = w.workspace.expand(start, cmd.cwd)
        if full is None:
            continue
        if is_secret_path(full):
            out.append(full)
        elif is_secret_dir(full) or (hidden and holds_secrets(full, w.home)):
            out.append(full.rstrip("/") + "/")
    return tuple(out)


# Programs that print file names (relative to where they run, or under the paths
# they are given), by the words that make them do it (None: always).
NAME_LISTERS: dict[str, tuple[str, ...] | None] = {
    "ls": None, "find": None, "fd": None, "fdfind": None,
    "git": ("ls-files", "--name-only", "ls-tree"),
    "rg": ("-l", "--files-with-matches", "--files"), "grep": ("-l", "--files-with-matches"),
}  # fmt: skip


def listing_roots(cmd: Command, w: Walker) -> tuple[str, ...]:
    """What the names ``cmd`` prints look like, as absolute globs: ``find . -name
    '*.pyc'`` prints ``./…/*.pyc``, ``ls logs/*.log`` its operand, ``ls`` and ``git
    ls-files`` the files of where they run (``DIR/*``).  A program given those names
    (``xargs rm -f``) is judged as if given the glob.  () when ``cmd`` lists no file
    names, or a path is built at run time."""
    marks = NAME_LISTERS.get(cmd.name, ())
    if marks == () or not all(a.static for a in cmd.args):
        return ()
    if marks is not None and not any(word in marks for word in cmd.words):
        return ()
    here = cmd.cwd or w.scope.cwd
    if cmd.name == "find":
        starts, _may = _find(cmd)
        names = _find_names(cmd) or ["*"]
        globs = [f"{start.rstrip('/')}/{name}" for start in starts for name in names]
    elif cmd.name in ("fd", "fdfind"):
        exts = cmd.options("-e", "--extension")
        names = [f"*.{e.lstrip('.')}" for e in exts] or ["*"]
        globs = [f"{start.rstrip('/')}/{name}" for start in _fd(cmd)[0] for name in names]
    elif cmd.name == "ls":
        operands = [a.value for a in cmd.positionals()]
        globs = [o if _GLOBBED.search(o) or w.workspace.expand(o, here) is None
                 or w.session.file_kind(w.workspace.expand(o, here) or "") != "dir"
                 else f"{o.rstrip('/')}/*" for o in operands] or ["*"]  # fmt: skip
    elif cmd.name == "git" and "ls-files" in cmd.words:
        after = list(cmd.words)[list(cmd.words).index("ls-files") + 1 :]
        globs = [p for p in after if not p.startswith("-")] or ["*"]
    else:
        globs = ["*"]
    out: list[str] = []
    for glob in globs[:8]:
        full = w.workspace.expand(glob, here)
        if full is None:
            return ()
        out.append(full)
    return tuple(dict.fromkeys(out))


_GLOBBED = re.compile(r"[*?\[]")


def _find_names(cmd: Command) -> list[str]:
    """The ``-name``/``-iname`` patterns of a find, when every alternative (between
    ``-o``) names one; [] (any name) with a negation, a regex or path test, or an
    alternative without a name (``-type f -o -name x`` lists every file)."""
    words = list(cmd.words)
    if any(w in ("!", "-not", "-regex", "-iregex", "-path", "-wholename") for w in words):
        return []
    names: list[str] = []
    segment_named = False
    for j, word in enumerate(words):
        if word in ("-o", "-or"):
            if not segment_named:
                return []
            segment_named = False
        elif word in _FIND_FILTERS and j + 1 < len(words):
            names.append(words[j + 1])
            segment_named = True
    return names if segment_named else []


def _find(cmd: Command) -> tuple[list[str], bool]:
    words = list(cmd.words)
    starts: list[str] = []
    i = 0
    while i < len(words) and words[i] in ("-L", "-H", "-P"):
        i += 1
    while i < len(words) and not words[i].startswith(("-", "!", "(")):
        starts.append(words[i])
        i += 1
    patterns: list[str] = []
    negated = False
    for j in range(i, len(words) - 1):
        if words[j] in ("!", "-not"):
            negated = True
            continue
        if words[j] in _FIND_FILTERS and not negated:
            patterns.append(words[j + 1])
        negated = False
    may = not patterns or any(
        fnmatch.fnmatch(name, p) for p in patterns for name in _SECRET_NAMES
    )  # fmt: skip
    return starts or ["."], may


def _fd(cmd: Command) -> tuple[list[str], bool]:
    positional = cmd.positionals(_FD_VALUED)
    starts = [a.value for a in positional[1:]] + cmd.options("--search-path")
    exts = cmd.options("-e", "--extension")
    pattern = positional[0].value if positional else ""
    if exts:
        may = any(n.endswith("." + e.lstrip(".")) for e in exts for n in _SECRET_NAMES)
    else:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
            may = any(compiled.search(n) for n in _SECRET_NAMES) or not pattern
        except re.error:
            may = True
    return starts or ["."], may
