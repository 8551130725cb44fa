"""Which program listens on a local TCP port, read from ``/proc`` (Linux).

A request to ``localhost:8001`` reaches whatever listens there, and a tunnel started
by an earlier command (``kubectl proxy &``, ``ssh -L 5432:db.prod:5432 bastion``)
makes that a cluster or a remote host.  Only requests that would change something
ask (``_network_tunnels``); the answer is the listener's command line, or None when
nothing of this user's listens there or it cannot be told within the budget.
"""

from __future__ import annotations

import os
import shlex

__all__ = ["listener_command"]

_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
_LISTEN = "0A"
_MAX_DESCRIPTORS = 20_000  # one decision's look at the process table, at most


def listener_command(port: int) -> str | None:
    """The command line of the process listening on TCP ``port``, or None."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    left = _MAX_DESCRIPTORS
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # another user's process, or gone
        for fd in fds:
            left -= 1
            if left < 0:
                return None
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return _cmdline(pid)
            except OSError:
                continue
    return None


def _listening_inodes(port: int) -> set[str]:
    found: set[str] = set()
    for table in _TABLES:
        try:
            with open(table, encoding="ascii", errors="replace") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            try:
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    found.add(fields[9])
            except (ValueError, IndexError):
                continue
    return found


def _cmdline(pid: str) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read(4096)
    except OSError:
        return None
    argv = [a for a in raw.decode("utf-8", "replace").split("\0") if a]
    return shlex.join(argv) if argv else None
