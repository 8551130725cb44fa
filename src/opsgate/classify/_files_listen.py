"""Which program listens on a local TCP port, read from ``/proc`` (Linux).

A request to ``localhost:8001`` reaches whatever listens there, and a tunnel started
by an earlier command (``kubectl proxy &``, ``ssh -L 5432:db.prod:5432 bastion``)
makes that a cluster or a remote host.  Only requests that would change something
ask (``_network_tunnels``); the answer is the listener's command line, or None when
nothing of this user's listens there or it cannot be told within the budget.
"""

from __future__ import annotations

import os
import re
import shlex

__all__ = ["UNIDENTIFIED", "listener_command"]

_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
_LISTEN = "0A"
_MAX_DESCRIPTORS = 20_000  # one decision's look at the process table, at most


# Something listens on the port, but the look ran out of budget before it found whose
# socket it is: not "nothing", so a change sent there is not judged harmless.
UNIDENTIFIED = "?"


def listener_command(port: int) -> str | None:
    """The command line of the process listening on TCP ``port``; ``UNIDENTIFIED``
    when a socket listens but the budget ran out before its process was found; None
    when nothing listens (or only another user's process, whose descriptors this user
    cannot read)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    left = _MAX_DESCRIPTORS
    # Newest first: a tunnel an earlier command started is among the latest processes.
    pids = sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int, reverse=True)
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # another user's process, or gone
        for fd in fds:
            left -= 1
            if left < 0:
                return UNIDENTIFIED
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return _cmdline(pid)
            except OSError:
                continue
    return None


def _listening_inodes(port: int) -> set[str]:
    # One pattern over the whole table: a busy machine lists thousands of sockets
    # (TIME_WAIT after a test run), and splitting every line costs more than reading.
    listen = re.compile(rb"^ *\d+: [0-9A-F]+:%04X [0-9A-F]+:[0-9A-F]{4} %s(?:\s+\S+){5}\s+(\d+)"
                        % (port, _LISTEN.encode()), re.MULTILINE)  # fmt: skip
    found: set[str] = set()
    for table in _TABLES:
        try:
            with open(table, "rb") as f:
                text = f.read()
        except OSError:
            continue
        found.update(m.group(1).decode() for m in listen.finditer(text))
    return found


def _cmdline(pid: str) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read(4096)
    except OSError:
        return None
    argv = [a for a in raw.decode("utf-8", "replace").split("\0") if a]
    return shlex.join(argv) if argv else None
