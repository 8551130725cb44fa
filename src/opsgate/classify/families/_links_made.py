"""Where ``ln`` puts the links it makes, as GNU ln decides it.

``ln [-s] SRC… DEST`` makes DEST itself, or ``DEST/<name of SRC>`` when DEST is a
directory: several sources, a trailing slash, ``-t DIR``, or a directory already
there — through links, so ``ln -s /etc/cron.d d && ln -s ~/x d`` lands in
``/etc/cron.d`` (unless ``-n``/``-T``).  Shared by the note of a symbolic link
(later reads through it resolve to its target) and the judgement of the write, so
both see the same name.  The walker notes this command's own link before the write
is judged, so a DEST that leads exactly where this command points it is the new link,
not a directory it writes into.
"""

from __future__ import annotations

import posixpath

from opsgate.classify._command import Arg, Command, Context
from opsgate.classify.families._filesystem_zones import _workspace, locate
from opsgate.classify.paths import Zone

__all__ = ["VALUED", "links_made", "placed"]

VALUED = ("-t", "--target-directory", "-S", "--suffix")


def links_made(cmd: Command) -> tuple[list[Arg], Arg | None, bool]:
    """(sources, DEST or the ``-t`` directory, whether DEST surely is a directory)
    from the words alone; DEST None for ``ln -s /x`` (a link named x here)."""
    ops = cmd.positionals(VALUED)
    into = cmd.option("-t", "--target-directory")
    if into is not None:
        return ops, Arg(into), True
    if len(ops) < 2:
        return ops, None, True
    sure = not cmd.has("-T", "--no-target-directory") and (
        len(ops) > 2 or ops[-1].value.endswith("/")
    )
    return ops[:-1], ops[-1], sure


def placed(cmd: Command, ctx: Context) -> list[tuple[Arg, Arg]]:
    """Each (source, the name its link gets)."""
    sources, dest, sure = links_made(cmd)
    if dest is None:
        return [(s, Arg(_base(s.value), s.static)) for s in sources]
    if not sure and not _directory_there(cmd, dest, sources, ctx):
        return [(s, dest) for s in sources]
    return [(s, Arg(posixpath.join(dest.value, _base(s.value)), s.static and dest.static))
            for s in sources]  # fmt: skip


def _base(path: str) -> str:
    return posixpath.basename(path.rstrip("/")) or path


def _directory_there(cmd: Command, dest: Arg, sources: list[Arg], ctx: Context) -> bool:
    if cmd.has("-T", "--no-target-directory", "-n", "--no-dereference") or not dest.static:
        return False
    session = getattr(ctx, "session", None)
    if session is None or getattr(ctx, "remote", None) is not None:
        return False
    zone, path = locate(dest, ctx, cmd.cwd, follow=True)
    if zone is Zone.UNKNOWN or session.file_kind(path) != "dir":
        return False
    return not any(path == _origin(cmd, s, dest, ctx) for s in sources)


def _origin(cmd: Command, source: Arg, dest: Arg, ctx: Context) -> str | None:
    """Where this command's own symbolic link at ``dest`` leads (through links)."""
    if not cmd.has("-s", "--symbolic") or not source.static:
        return None
    ws = _workspace(ctx)
    link = ws.expand(dest.value, cmd.cwd)
    if link is None:
        return None
    text = source.value
    if not text.startswith(("/", "~")):
        text = posixpath.join(posixpath.dirname(link), text)
    full = ws.expand(text, cmd.cwd)
    real_path = getattr(ctx, "real_path", None)
    if full is None or real_path is None:
        return full
    resolved: str = real_path(posixpath.normpath(full))
    return resolved
