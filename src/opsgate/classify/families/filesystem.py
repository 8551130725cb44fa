"""Filesystem: deleting, overwriting, wiping disks, permissions, moves.

Every operand is resolved against the tracked working directory and placed in a
zone (``paths.Zone``); the zone, not the spelling, decides.  ``rm -rf build`` is
ordinary work, ``rm -rf ./build/../..`` deletes the home directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from opsgate.classify._command import Arg, Command, Context, Handler, Stdin
from opsgate.classify._words import Value
from opsgate.classify.paths import Workspace, Zone, protected_reason
from opsgate.models import Effect, Environment, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["HANDLERS", "find_actions", "redirect_write"]

# Zones whose deletion loses data that cannot be recovered from the project.
_DESTRUCTIVE_ZONES = frozenset(
    {
        Zone.DEVICE,
        Zone.ROOT,
        Zone.SYSTEM,
        Zone.HOME,
        Zone.HOME_FILE,
        Zone.PROJECT_ROOT,
        Zone.PROJECT_ANCESTOR,
        Zone.PROJECT_GIT,
        Zone.OTHER,
    }
)
_GLOB = re.compile(r"[*?\[]")
_PURE_WILDCARD = re.compile(r"^(?:[.*?]|\[[^\]]*\])+$")


def _workspace(ctx: Context) -> Workspace:
    ws = getattr(ctx, "workspace", None)
    if isinstance(ws, Workspace):
        return ws
    return Workspace(ctx.project_dir, ctx.home)


def _finding(
    category: str, impact: Impact, effect: Effect, cmd: Command | str, reason: str, target: str
) -> Finding:
    evidence = cmd.text if isinstance(cmd, Command) else cmd
    env = Environment.LOCAL if effect is not Effect.UNKNOWN else None
    return Finding(category, impact, effect, evidence, reason, target, env, "agent workspace")


def locate(arg: Arg | Value, ctx: Context, cwd: str | None) -> tuple[Zone, str]:
    """The zone of an operand, with its resolved path.  Globs resolve to the directory
    whose contents they match (``./*`` is the contents of the working directory)."""
    text = arg.value if isinstance(arg, Arg) else arg.text
    ws = _workspace(ctx)
    if not arg.static:
        return _locate_dynamic(text, ws, cwd)
    full = ws.expand(text, cwd)
    if full is None:
        return Zone.UNKNOWN, text
    if _GLOB.search(full):
        parts = full.split("/")
        last = parts[-1]
        base_parts = [p for p in parts[:-1] if not _GLOB.search(p)]
        if len(base_parts) < len(parts) - 1:  # a glob in a directory part: `**`, `*/x`
            base = "/".join(base_parts) or "/"
            if _PURE_WILDCARD.match(last):
                return ws.zone(base), base + "/*"
            return ws.zone(_join(base, last)), _join(base, last)
        base = "/".join(parts[:-1]) or "/"
        if _PURE_WILDCARD.match(last):
            return ws.zone(base), full
        if base == "/":
            return Zone.SYSTEM, full
    return ws.zone(full), full


def _locate_dynamic(text: str, ws: Workspace, cwd: str | None) -> tuple[Zone, str]:
    """``/tmp/build.$$``: only the last component is unknown, so the directory decides."""
    head = re.split(r"[$`]", text, maxsplit=1)[0]
    if "/" not in head:
        return Zone.UNKNOWN, text
    directory = head.rsplit("/", 1)[0] or "/"
    full = ws.expand(directory, cwd)
    if full is None or ("$" in text[len(head) :].split("/", 1)[-1] and "/" in text[len(head) :]):
        return Zone.UNKNOWN, text
    zone = ws.zone(full + "/x")
    if zone in (Zone.PROJECT_DISPOSABLE, Zone.TEMP, Zone.HARMLESS):
        return zone, text
    if zone in (Zone.PROJECT, Zone.PROJECT_ROOT):
        return Zone.PROJECT, text
    return zone if zone in _DESTRUCTIVE_ZONES else Zone.UNKNOWN, text


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def delete_findings(
    cmd: Command, targets: Iterable[Arg], ctx: Context, *, recursive: bool, verb: str = "deletes"
) -> list[Finding]:
    out: list[Finding] = []
    for arg in targets:
        zone, path = locate(arg, ctx, cmd.cwd)
        if zone is Zone.UNKNOWN:
            out.append(
                _finding(
                    "filesystem.delete",
                    Impact.CAUTION,
                    Effect.UNKNOWN,
                    cmd,
                    f"{verb} {arg.value}, a path only known at run time",
                    path,
                )
            )
        elif zone in _DESTRUCTIVE_ZONES or (
            zone is Zone.PROJECT
            and (recursive or _GLOB.search(path))
            and not _looks_like_file(path)
        ):
            what = zone.value if zone is not Zone.PROJECT else "source files in the project"
            out.append(
                _finding(
                    "filesystem.delete",
                    Impact.DESTRUCTIVE,
                    Effect.WRITE,
                    cmd,
                    f"{verb} {path} ({what})",
                    path,
                )
            )
        elif zone is not Zone.HARMLESS:
            out.append(
                _finding(
                    "filesystem.delete",
                    Impact.SAFE,
                    Effect.LOCAL,
                    cmd,
                    f"{verb} {path} ({zone.value})",
                    path,
                )
            )
    return out


_FILE_SUFFIX = re.compile(
    r"\.(json|lock|ya?ml|toml|txt|md|log|lockb|sum|mod|ini|cfg|conf|csv|tsv|js|mjs|cjs|ts|tsx|"
    r"jsx|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|sh|sql|html|css|scss|svg|png|jpe?g|gif|"
    r"pdf|zip|tar|gz|tgz|whl|jar|db|sqlite3?|bak|tmp|orig|rej|patch|diff|pid|sock)$"
)


def _looks_like_file(path: str) -> bool:
    """``rm -rf package-lock.json``: -r does nothing to a file; judge it as one file."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return not path.endswith("/") and bool(_FILE_SUFFIX.search(base)) and not _GLOB.search(base)


def _rm(cmd: Command, ctx: Context) -> list[Finding]:
    recursive = cmd.has("-r", "-R", "--recursive", "-d", "--dir")
    return delete_findings(cmd, cmd.positionals(), ctx, recursive=recursive)


def _rimraf(cmd: Command, ctx: Context) -> list[Finding]:
    """rimraf / del-cli / trash-less removers: always recursive."""
    return delete_findings(cmd, cmd.positionals(), ctx, recursive=True)


def _rmdir(cmd: Command, ctx: Context) -> list[Finding]:
    # rmdir only removes empty directories: nothing is lost unless it is a system path.
    out = []
    for arg in cmd.positionals():
        zone, path = locate(arg, ctx, cmd.cwd)
        if zone in (Zone.ROOT, Zone.SYSTEM, Zone.DEVICE):
            out.append(
                _finding(
                    "filesystem.delete",
                    Impact.CAUTION,
                    Effect.WRITE,
                    cmd,
                    f"removes the system directory {path}",
                    path,
                )
            )
    return out


def _unlink(cmd: Command, ctx: Context) -> list[Finding]:
    return delete_findings(cmd, cmd.positionals(), ctx, recursive=False)


def _wipe(cmd: Command, ctx: Context) -> list[Finding]:
    """shred/wipe/srm: irreversible anywhere except scratch space."""
    out = []
    for arg in cmd.positionals(("-n", "--iterations", "-s", "--size", "--random-source")):
        zone, path = locate(arg, ctx, cmd.cwd)
        if zone in (Zone.TEMP, Zone.HARMLESS):
            continue
        out.append(
            _finding(
                "filesystem.shred",
                Impact.DESTRUCTIVE,
                Effect.WRITE,
                cmd,
                f"irreversibly overwrites {path}",
                path,
            )
        )
    return out


def _truncate(cmd: Command, ctx: Context) -> list[Finding]:
    targets = cmd.positionals(("-s", "--size", "-r", "--reference"))
    return delete_findings(cmd, targets, ctx, recursive=False, verb="empties")


def _disk(category: str, reason: str, reads: tuple[str, ...] = ()) -> Handler:
    """Tools that rewrite disks or partition tables; ``reads`` are their listing modes."""

    def handler(cmd: Command, ctx: Context) -> list[Finding]:
        words = set(cmd.words)
        if reads and (words & set(reads) or cmd.has(*[r for r in reads if r.startswith("-")])):
            return []
        if not cmd.args:
            return []
        operands = [a for a in cmd.positionals() if "/" in a.value or "." in a.value]
        if (
            cmd.name.startswith(_IMAGE_TOOLS)
            and operands
            and all(
                locate(a, ctx, cmd.cwd)[0] in (Zone.PROJECT, Zone.PROJECT_DISPOSABLE, Zone.TEMP)
                for a in operands
            )
        ):
            # An image file in the workspace, not a device: `mkfs.ext4 -F disk.img`.
            return [
                _finding(
                    category,
                    Impact.SAFE,
                    Effect.LOCAL,
                    cmd,
                    f"{reason} (an image file in the workspace)",
                    operands[0].value,
                )
            ]
        return [_finding(category, Impact.DESTRUCTIVE, Effect.WRITE, cmd, reason, cmd.text)]

    return handler


_IMAGE_TOOLS = ("mkfs", "mkswap", "wipefs", "sgdisk", "sfdisk", "fdisk", "gdisk", "parted")


def _dd(cmd: Command, ctx: Context) -> list[Finding]:
    for word in cmd.words:
        if word.startswith("of="):
            zone, path = locate(Arg(word[3:]), ctx, cmd.cwd)
            if zone in (Zone.DEVICE, Zone.SYSTEM, Zone.ROOT) or protected_reason(
                path, _workspace(ctx)
            ):
                return [
                    _finding(
                        "disk.overwrite",
                        Impact.DESTRUCTIVE,
                        Effect.WRITE,
                        cmd,
                        f"dd overwrites {path}",
                        path,
                    )
                ]
    return []


def _write_targets(
    cmd: Command, targets: Iterable[Arg], ctx: Context, verb: str, *, clobber: bool = False
) -> list[Finding]:
    out = []
    ws = _workspace(ctx)
    for arg in targets:
        zone, path = locate(arg, ctx, cmd.cwd)
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
    ops = cmd.positionals(("-t", "--target-directory", "-S", "--suffix"))
    return _write_targets(cmd, ops[-1:], ctx, "links over", clobber=cmd.has("-f", "--force"))


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
        return [
            Finding(
                "network.connection",
                Impact.CAUTION,
                Effect.WRITE,
                evidence,
                f"opens a raw network connection to {text[9:]} (reverse shell pattern)",
                text[9:],
            )
        ]
    if not value.static:
        return []
    cmd = Command("redirect", (), evidence, cwd=w.scope.cwd)
    return _write_targets(
        cmd, [Arg(text)], w, "overwrites" if op != ">>" else "appends to", clobber=op != ">>"
    )


# --- find: the actions it runs on what it matches -------------------------------------------
_FIND_VALUED = frozenset(
    {
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-type",
        "-xtype",
        "-maxdepth",
        "-mindepth",
        "-size",
        "-newer",
        "-user",
        "-group",
        "-perm",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-links",
        "-inum",
        "-uid",
        "-gid",
        "-fstype",
        "-printf",
        "-fprint",
        "-fprintf",
        "-samefile",
        "-lname",
        "-ilname",
        "-used",
        "-newermt",
        "-context",
        "-D",
        "-O",
        "-files0-from",
    }
)
_FIND_NAMES = frozenset({"-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename"})
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


def find_actions(cmd: Command, w: Walker) -> list[Command]:
    """The commands ``find`` runs: ``-delete`` and each ``-exec … {} ;``, with ``{}``
    standing for what find matches under its start directories."""
    from opsgate.classify.shell import canonical_name

    args = list(cmd.args)
    starts: list[Arg] = []
    i = 0
    while i < len(args) and not args[i].value.startswith(("-", "!", "(")):
        starts.append(args[i])
        i += 1
    starts = starts or [Arg(".")]
    names: list[str] = []
    actions: list[Command] = []
    negated = False
    while i < len(args):
        word = args[i].value
        if word in ("!", "-not"):
            negated = True
            i += 1
            continue
        if word in _FIND_NAMES and i + 1 < len(args):
            if not negated:
                names.append(args[i + 1].value)
            i += 2
        elif word in _FIND_EXEC:
            end = i + 1
            while end < len(args) and args[end].value not in (";", "+", "\\;"):
                end += 1
            inner = args[i + 1 : end]
            if inner:
                matched = _matched(starts, names)
                filled = _fill(inner[1:], matched)
                actions.append(
                    Command(
                        canonical_name(inner[0].value),
                        tuple(filled),
                        cmd.text,
                        cmd.env,
                        None,
                        cmd.cwd,
                    )
                )
            i = end + 1
        elif word == "-delete":
            actions.append(
                Command(
                    "rm", (Arg("-rf"), *_matched(starts, names)), cmd.text, cmd.env, None, cmd.cwd
                )
            )
            i += 1
        elif word in _FIND_VALUED:
            i += 2
        else:
            i += 1
        negated = False
    return actions


def _matched(starts: list[Arg], names: list[str]) -> list[Arg]:
    out: list[Arg] = []
    for start in starts:
        base = start.value.rstrip("/") or "/"
        if names:
            out.extend(Arg(f"{base}/**/{n.rsplit('/', 1)[-1]}", start.static) for n in names)
        else:
            out.append(Arg(f"{base}/*", start.static))
    return out


def _fill(template: list[Arg], matched: list[Arg]) -> list[Arg]:
    filled: list[Arg] = []
    for arg in template:
        if "{}" in arg.value:
            filled.extend(Arg(arg.value.replace("{}", m.value), m.static) for m in matched)
        else:
            filled.append(arg)
    return filled


HANDLERS: dict[str, Handler] = {
    "rimraf": _rimraf,
    "del-cli": _rimraf,
    "rmrf": _rimraf,
    "premove": _rimraf,
    "rm": _rm,
    "rmdir": _rmdir,
    "unlink": _unlink,
    "shred": _wipe,
    "wipe": _wipe,
    "srm": _wipe,
    "truncate": _truncate,
    "dd": _dd,
    "tee": _tee,
    "cp": _cp,
    "mv": _mv,
    "chmod": _perms,
    "chown": _perms,
    "chgrp": _perms,
    "setfacl": _perms,
    "chattr": _perms,
    "sed": _sed,
    "touch": _touch_mkdir,
    "mkdir": _touch_mkdir,
    "ln": _ln,
    "install": _install,
    "tar": _extract,
    "unzip": _extract,
    "mkfs": _disk("disk.format", "creates a filesystem, erasing the device"),
    "mkswap": _disk("disk.format", "formats the device as swap, erasing it"),
    "wipefs": _disk("disk.wipe", "erases filesystem signatures", ("-n", "--no-act")),
    "sgdisk": _disk("disk.partition", "rewrites the partition table", ("-p", "--print", "-v")),
    "sfdisk": _disk("disk.partition", "rewrites the partition table", ("-l", "-d", "--dump", "-V")),
    "fdisk": _disk("disk.partition", "edits the partition table", ("-l", "--list")),
    "gdisk": _disk("disk.partition", "edits the partition table", ("-l",)),
    "parted": _disk("disk.partition", "edits the partition table", ("-l", "--list", "print")),
    "blkdiscard": _disk("disk.wipe", "discards every block on the device"),
    "cryptsetup": _disk(
        "disk.format",
        "formats or erases an encrypted volume",
        ("status", "luksDump", "isLuks", "open", "luksOpen", "close"),
    ),
    "zpool": _disk("disk.pool", "changes a ZFS pool", ("list", "status", "iostat", "get")),
    "zfs": _disk("disk.pool", "changes ZFS datasets", ("list", "get")),
    "lvremove": _disk("disk.volume", "removes a logical volume"),
    "vgremove": _disk("disk.volume", "removes a volume group"),
    "pvremove": _disk("disk.volume", "removes a physical volume"),
    "mdadm": _disk("disk.raid", "changes a RAID array", ("--detail", "-D", "--examine", "-E")),
    "nvme": _disk(
        "disk.format", "formats or sanitises an NVMe device", ("list", "id-ctrl", "smart-log")
    ),
    "hdparm": _disk("disk.wipe", "issues low-level disk commands", ("-I", "-i", "-t", "-T")),
}
for _suffix in ("ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "fat", "ntfs", "exfat", "f2fs"):
    HANDLERS[f"mkfs.{_suffix}"] = HANDLERS["mkfs"]
