"""Deleting and wiping: rm, rmdir, unlink, shred, truncate, disk tools, dd."""

from __future__ import annotations

from dataclasses import replace

from opsgate.classify._command import Arg, Command, Context, Handler
from opsgate.classify.families._filesystem_zones import (
    _finding,
    _workspace,
    delete_findings,
    locate,
)
from opsgate.classify.paths import Zone, protected_reason
from opsgate.models import Effect, Finding, Impact

__all__ = ["_dd", "_disk", "_rimraf", "_rm", "_rmdir", "_truncate", "_unlink", "_wipe"]


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
    """shred/wipe/srm: a deletion that cannot be undone from the disk, judged by where
    the file is as ``rm`` is (a build output in the project goes; a home, the system or
    sources do not)."""
    targets = cmd.positionals(("-n", "--iterations", "-s", "--size", "--random-source"))
    recursive = cmd.name != "shred" and cmd.has("-r", "-R", "--recursive")
    found = delete_findings(cmd, targets, ctx, recursive=recursive, verb="irreversibly overwrites")
    return [replace(f, category="filesystem.shred") for f in found]


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
