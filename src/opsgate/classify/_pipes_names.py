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

__all__ = ["LISTERS", "listed_names"]

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
