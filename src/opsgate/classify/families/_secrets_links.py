"""Links a program follows inside a tree it reads.

``tar -h``, ``rsync -L``, ``grep -R``, ``find -L`` and ``zip -r`` (by default) take the
file a link points at, not the link: a project directory holding ``cfg -> ~/.aws`` is
the AWS keys to them.  Programs that store links as links (``tar`` without ``-h``,
``rsync -a``, ``cp -r``) read nothing through them.  The tree is walked by the file
source (bounded, recorded as a fact so a grant binds to it); a tree too large to walk
is unknown.  ``find … -exec cat {} +`` opens every file it matches, so the links among
them are read even without ``-L`` (unless ``-type f`` leaves them out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify.families._secrets_common import _resolve, _secret
from opsgate.classify.families._secrets_routes import METADATA_ONLY
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify._files import FileSource

__all__ = ["find_links", "followed_links"]

# How a program follows links in a tree it recurses into: (options that make it follow
# every link, options that make it follow links to directories only, options that stop
# it following).  A program that follows by default lists ``"*"`` first.
_FOLLOWS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    **dict.fromkeys(("tar", "gtar", "bsdtar"),
                    (frozenset({"-h", "--dereference"}), frozenset(), frozenset())),
    "rsync": (frozenset({"-L", "--copy-links", "--copy-unsafe-links"}),
              frozenset({"-k", "--copy-dirlinks"}), frozenset()),
    **dict.fromkeys(("cp", "gcp"), (frozenset({"-L", "--dereference"}), frozenset(),
                                    frozenset({"-P", "--no-dereference", "-d"}))),
    **dict.fromkeys(("grep", "egrep", "fgrep"),
                    (frozenset({"-R", "--dereference-recursive"}), frozenset(), frozenset())),
    "rg": (frozenset({"-L", "--follow"}), frozenset(), frozenset()),
    "ag": (frozenset({"-f", "--follow"}), frozenset(), frozenset()),
    "rclone": (frozenset({"-L", "--copy-links"}), frozenset(), frozenset()),
    "zip": (frozenset({"*"}), frozenset(), frozenset({"-y", "--symlinks"})),
    **dict.fromkeys(("7z", "7za", "7zz"), (frozenset({"*"}), frozenset(), frozenset({"-snl"}))),
    **dict.fromkeys(("scp", "rcp"), (frozenset({"*"}), frozenset(), frozenset())),
    "aws": (frozenset({"*"}), frozenset(), frozenset({"--no-follow-symlinks"})),
}  # fmt: skip


def _follow_mode(cmd: Command) -> tuple[bool, bool] | None:
    """(follows links to files, follows links to directories), or None."""
    table = _FOLLOWS.get(cmd.name)
    if table is None:
        return None
    every, dirs_only, never = table
    if never and cmd.has(*never):
        return None
    if "*" in every or cmd.has(*every) or _old_style(cmd, every):
        return True, True
    if dirs_only and cmd.has(*dirs_only):
        return False, True
    return None


def _old_style(cmd: Command, flags: frozenset[str]) -> bool:
    """tar's first word may bundle its options without a dash (``tar czhf x.tgz d``)."""
    first = cmd.words[0] if cmd.name in ("tar", "gtar", "bsdtar") and cmd.words else ""
    letters = {f[1] for f in flags if len(f) == 2}
    return first.isalpha() and not first.startswith("-") and any(c in letters for c in first)


def _source(ctx: Context) -> FileSource | None:
    session = getattr(ctx, "session", None)
    return None if session is None or ctx.remote is not None else session.files


def followed_links(cmd: Command, ctx: Context, operands: list[Arg]) -> list[Finding]:
    """A recursive read by ``cmd`` of a directory that holds a link to credentials,
    when ``cmd`` follows links there (see ``_FOLLOWS``)."""
    mode = _follow_mode(cmd)
    files = _source(ctx)
    if mode is None or files is None:
        return []
    return _trees(cmd, ctx, files, operands, files_too=mode[0], dirs=mode[1], verb="follows")


def _trees(cmd: Command, ctx: Context, files: FileSource, operands: list[Arg], *,
           files_too: bool, dirs: bool, verb: str) -> list[Finding]:  # fmt: skip
    for arg in operands:
        if not arg.static or arg.value.startswith("-"):
            continue
        full = _resolve(arg.value, ctx, cmd.cwd)
        if not full.startswith("/") or files.kind(full) != "dir":
            continue
        found = files.secret_link_in(full, ctx.home, dirs=dirs, files=files_too)
        if found == "?":
            reason = f"{verb} links under {arg.value}, which holds more files than opsgate checks"
            return [Finding("unknown", Impact.CAUTION, Effect.UNKNOWN, cmd.text, reason)]
        if found is not None:
            reason = f"{verb} a link under {arg.value} to {found}, which holds credentials"
            return [_secret(cmd.text, reason, found)]
    return []


_FIND_FOLLOW = frozenset({"-L", "-follow"})
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def find_links(cmd: Command, ctx: Context) -> list[Finding]:
    """``find -L DIR …`` reads through every link its actions open; ``find DIR -exec
    cat {} +`` opens the links it matches (files), unless ``-type f`` excludes them."""
    files = _source(ctx)
    readers = _exec_programs(cmd)
    if files is None or not any(p not in METADATA_ONLY for p in readers):
        return []
    words = cmd.words
    follow = any(w in _FIND_FOLLOW for w in words)
    typed = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-type"]
    if not follow and typed and "l" not in "".join(typed):
        return []  # ``-type f``/``-type d``: a link is neither unless followed
    starts = []
    for arg in cmd.args:
        if arg.value in _FIND_FOLLOW or arg.value in ("-H", "-P"):
            continue
        if arg.value.startswith(("-", "!", "(")):
            break
        starts.append(arg)
    verb = "opens files through" if not follow else "follows"
    return _trees(cmd, ctx, files, starts or [Arg(".")], files_too=True, dirs=follow, verb=verb)


def _exec_programs(cmd: Command) -> list[str]:
    from opsgate.classify.shell import canonical_name

    words = cmd.words
    return [
        canonical_name(words[i + 1])
        for i, w in enumerate(words[:-1])
        if w in _FIND_EXEC and words[i + 1] != "{}"
    ]
