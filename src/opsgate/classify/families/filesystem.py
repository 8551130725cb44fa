"""Filesystem: deleting, overwriting, wiping disks, permissions, moves.

Every operand is resolved against the tracked working directory and placed in a
zone (``paths.Zone``); the zone, not the spelling, decides.  ``rm -rf build`` is
ordinary work, ``rm -rf ./build/../..`` deletes the home directory.
"""

from __future__ import annotations

from opsgate.classify._command import Handler
from opsgate.classify.families._filesystem_delete import (
    _dd,
    _disk,
    _rimraf,
    _rm,
    _rmdir,
    _truncate,
    _unlink,
    _wipe,
)
from opsgate.classify.families._filesystem_fd import fd
from opsgate.classify.families._filesystem_find import find_actions
from opsgate.classify.families._filesystem_write import (
    _cp,
    _extract,
    _install,
    _ln,
    _mv,
    _perms,
    _sed,
    _tee,
    _touch_mkdir,
    _write_targets,
    redirect_write,
)
from opsgate.classify.families._filesystem_zones import delete_findings, locate

__all__ = [
    "HANDLERS",
    "_write_targets",
    "delete_findings",
    "find_actions",
    "locate",
    "redirect_write",
]


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
    "fd": fd,
    "fdfind": fd,
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
