"""Writing, copying, moving and permissions: tee, cp, mv, chmod, sed -i, ln, tar, redirections."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context, Stdin
from opsgate.classify._words import Value
from opsgate.classify.families._filesystem_zones import _finding, _workspace, locate
from opsgate.classify.paths import Zone, protected_reason
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = [
    "_cp",
    "_extract",
    "_install",
    "_ln",
    "_mv",
    "_perms",
    "_sed",
    "_tee",
    "_touch_mkdir",
    "_write_targets",
    "redirect_write",
]


def _write_targets(
    cmd: Command,
    targets: Iterable[Arg],
    ctx: Context,
    verb: str,
    *,
    clobber: bool = False,
    follow: bool = True,
) -> list[Finding]:
    out = []
    ws = _workspace(ctx)
    for arg in targets:
        zone, path = locate(arg, ctx, cmd.cwd, follow=follow)
        if zone is Zone.DEVICE:
            out.append(
                _finding(
                    "disk.overwrite",
                    Impact.DESTRUCTIVE,
                    Effect.WRITE,
                    cmd,
                    f"{verb} the block device {path}",
                    path,
                )
            )
            continue
        reason = protected_reason(path, ws) if zone is not Zone.UNKNOWN else None
        if reason:
            impact = Impact.DESTRUCTIVE if clobber and zone is Zone.SYSTEM else Impact.CAUTION
            out.append(
                _finding(
                    "filesystem.protected_write",
                    impact,
                    Effect.WRITE,
                    cmd,
                    f"{verb} {path}: {reason}",
                    path,
                )
            )
    return out


def _tee(cmd: Command, ctx: Context) -> list[Finding]:
    return _write_targets(cmd, cmd.positionals(), ctx, "writes", clobber=not cmd.has("-a"))


def _cp(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify.families import secrets

    ops = cmd.positionals(("-t", "--target-directory", "-S", "--suffix"))
    if len(ops) < 2:
        return []
    dest = ops[-1]
    out = _write_targets(cmd, [dest], ctx, "overwrites", clobber=True)
    out += secrets.secret_operands(cmd, ops[:-1], ctx, verb="copies")
    _remember_binary_copy(cmd, ops[0], dest, ctx)
    return out


def _remember_binary_copy(cmd: Command, src: Arg, dest: Arg, ctx: Context) -> None:
    """``cp /bin/rm /tmp/cleaner`` makes ``/tmp/cleaner`` mean ``rm`` later on."""
    scope = getattr(ctx, "scope", None)
    if scope is None or not (src.static and dest.static):
        return
    name = src.value.rsplit("/", 1)[-1]
    if src.value.startswith(("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/", "/usr/local/bin/")):
        scope.aliases[dest.value] = [name]


def _mv(cmd: Command, ctx: Context) -> list[Finding]:
    ops = cmd.positionals(("-t", "--target-directory", "-S", "--suffix"))
    if len(ops) < 2:
        return []
    out = _write_targets(cmd, [ops[-1]], ctx, "moves onto", clobber=True)
    ws = _workspace(ctx)
    for src in ops[:-1]:
        zone, path = locate(src, ctx, cmd.cwd)
        if zone in (Zone.ROOT, Zone.SYSTEM, Zone.HOME, Zone.PROJECT_ROOT, Zone.PROJECT_ANCESTOR,
                    Zone.PROJECT_GIT, Zone.DEVICE):  # fmt: skip
            out.append(
                _finding(
                    "filesystem.move",
                    Impact.DESTRUCTIVE,
                    Effect.WRITE,
                    cmd,
                    f"moves {path} ({zone.value}) away",
                    path,
                )
            )
        elif zone is not Zone.UNKNOWN and protected_reason(path, ws):
            out.append(
                _finding(
                    "filesystem.protected_write",
                    Impact.CAUTION,
                    Effect.WRITE,
                    cmd,
                    f"moves {path}, a protected file",
                    path,
                )
            )
    return out


def _perms(cmd: Command, ctx: Context) -> list[Finding]:
    """chmod/chown/chgrp/setfacl/chattr: harmless in the project, a write elsewhere."""
    recursive = cmd.has("-R", "--recursive")
    ops = cmd.positionals(("-m", "-M", "-x", "-X", "--reference", "--from"))
    if cmd.name in ("chmod", "chown", "chgrp", "chattr") and ops:
        ops = ops[1:]  # the mode, owner or attribute
    out = []
    ws = _workspace(ctx)
    mode = cmd.positionals()[0].value if cmd.name == "chmod" and cmd.positionals() else ""
    if (
        _tightens(mode)
        and not recursive
        and all(
            locate(a, ctx, cmd.cwd)[0] in (Zone.HOME_FILE, Zone.PROJECT, Zone.TEMP) for a in ops
        )
    ):
        return []  # chmod 600 ~/.ssh/id_ed25519 only takes the user's own permissions away
    for arg in ops:
        zone, path = locate(arg, ctx, cmd.cwd)
        if zone in (Zone.PROJECT, Zone.PROJECT_DISPOSABLE, Zone.TEMP, Zone.HARMLESS):
            continue
        if zone is Zone.UNKNOWN:
            continue
        if zone in (Zone.ROOT, Zone.SYSTEM, Zone.HOME, Zone.DEVICE, Zone.PROJECT_ANCESTOR) or (
            protected_reason(path, ws)
        ):
            impact = Impact.DESTRUCTIVE if recursive else Impact.CAUTION
            out.append(
                _finding(
                    "filesystem.permissions",
                    impact,
                    Effect.WRITE,
                    cmd,
                    f"{cmd.name} changes {path} ({zone.value})",
                    path,
                )
            )
    return out


def _tightens(mode: str) -> bool:
    """A mode that gives nobody new access: 600, 0400, go-rwx, o-w, u-x …"""
    if re.fullmatch(r"0?[0-7]00", mode):
        return True
    return bool(re.fullmatch(r"([ugoa]*-[rwxXst]+,?)+", mode))


def _sed(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify.families import secrets

    in_place = any(w == "-i" or w.startswith(("-i", "--in-place")) for w in cmd.words)
    ops = cmd.positionals(("-e", "-f", "--expression", "--file", "-l", "--line-length"))
    files = ops if (cmd.option("-e", "--expression", "-f", "--file")) else ops[1:]
    if in_place:
        return _write_targets(cmd, files, ctx, "edits")
    script = cmd.option("-e", "--expression") or (ops[0].value if ops else "")
    if re.fullmatch(r"s([/|#])=\.\*\1\1g?", script):
        return []  # `sed 's/=.*//' .env` prints names only
    return secrets.secret_operands(cmd, files, ctx, verb="prints")


def _touch_mkdir(cmd: Command, ctx: Context) -> list[Finding]:
    return _write_targets(cmd, cmd.positionals(("-m", "--mode", "-d", "-t", "-r")), ctx, "creates")


def _ln(cmd: Command, ctx: Context) -> list[Finding]:
    """The names ``ln`` creates, judged as written, never followed: the walker has
    already noted this command's own link, so following ``ln -s ~/x /etc/cron.d/job``
    would judge ``~/x``.  Directories on the way are followed (``_through_links``)."""
    from opsgate.classify.families._links_made import placed

    made = placed(cmd, ctx)
    # A link in a virtual environment's bin to an installed program (``.venv/bin/python
    # -> /usr/bin/python3``) is that program: nothing is planted.
    names = [
        name
        for target, name in made
        if not (_INSTALLED.match(target.value) and _in_bin(name.value))
    ]
    clobber = cmd.has("-f", "--force")
    return _write_targets(cmd, names, ctx, "links over", clobber=clobber, follow=False)


_INSTALLED = re.compile(r"^/(usr/(local/)?)?s?bin/[^/]+$|^/opt/homebrew/bin/[^/]+$")


def _in_bin(name: str) -> bool:
    return re.search(r"(^|/)(node_modules/\.bin|\.?venv[^/]*/bin|env/bin)/[^/]+$", name) is not None


def _install(cmd: Command, ctx: Context) -> list[Finding]:
    ops = cmd.positionals(("-m", "--mode", "-o", "--owner", "-g", "--group", "-t", "-S"))
    return _write_targets(cmd, ops[-1:], ctx, "installs over", clobber=True)


def _extract(cmd: Command, ctx: Context) -> list[Finding]:
    """tar/unzip extracting into a protected place."""
    dest = cmd.option("-C", "--directory", "-d")
    if dest is None:
        return []
    if (
        cmd.name == "tar"
        and not any("x" in w.lstrip("-") for w in cmd.words[:1] if not w.startswith("--"))
        and not cmd.has("-x", "--extract", "--get")
    ):
        return []
    return _write_targets(cmd, [Arg(dest)], ctx, "extracts into")


def redirect_write(
    op: str, value: Value, out: Stdin | None, w: Walker, evidence: str
) -> list[Finding]:
    """``> file``, ``>> file``, ``&> file``: clobbering a protected file or a device."""
    text = value.text
    if text.startswith(("/dev/tcp/", "/dev/udp/")):
        from opsgate.classify._fetched_code import raw_connection

        return [raw_connection(text[9:], evidence)]
    if not value.static:
        return []
    cmd = Command("redirect", (), evidence, cwd=w.scope.cwd)
    return _write_targets(
        cmd, [Arg(text)], w, "overwrites" if op != ">>" else "appends to", clobber=op != ">>"
    )
