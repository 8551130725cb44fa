"""Servers started on a Unix socket path: a fake decision service (safeguard 6).

The hook asks the service on ``$OPSGATE_HOME/run/hook.sock``; a program the agent
starts listening there (``socat UNIX-LISTEN:…hook.sock,unlink-early SYSTEM:'echo OK
0 0 0'``, ``nc -lU …``, ``uvicorn --uds …``) answers every later hook in its place.
Each reader gives the socket paths a command creates (``_guard_targets`` looks them up
as paths the command changes).  socat's file addresses that create or write a file
(``CREATE:``, ``OPEN:``, ``GOPEN:``, ``PIPE:``) are given too.
"""

from __future__ import annotations

from collections.abc import Callable

from opsgate.classify._command import Command

__all__ = ["LISTENERS"]

# socat address types whose parameter is a file the address creates, replaces or writes.
_SOCAT_FILES = ("unix-listen:", "unix-l:", "unix-recvfrom:", "unix-recv:", "create:", "open:",
                "gopen:", "pipe:")  # fmt: skip


def _socat(cmd: Command) -> list[str]:
    out = []
    for arg in cmd.args:
        lowered = arg.value.lower()
        kind = next((k for k in _SOCAT_FILES if lowered.startswith(k)), None)
        if kind is not None:
            out.append(arg.value[len(kind) :].split(",", 1)[0])
    return out


def _netcat(cmd: Command) -> list[str]:
    """``nc -lU PATH``, ``ncat --listen --unixsock PATH``: a Unix socket server."""
    words = cmd.words
    short = "".join(w[1:] for w in words if w.startswith("-") and not w.startswith("--"))
    listens = "l" in short or "--listen" in words
    unix = "U" in short or "--unixsock" in words
    if not (listens and unix):
        return []
    ops = [w for w in words if not w.startswith("-")]
    return ops[-1:]


def _option_paths(*names: str, prefix: str = "") -> Callable[[Command], list[str]]:
    """A server whose option ``names`` takes the socket (``--bind unix:PATH``)."""

    def read(cmd: Command) -> list[str]:
        out = []
        for value in cmd.options(*names):
            if value.startswith(prefix):
                out.append(value[len(prefix) :])
        return out

    return read


LISTENERS: dict[str, Callable[[Command], list[str]]] = {
    "socat": _socat,
    **dict.fromkeys(("nc", "ncat", "netcat", "nc.openbsd", "nc.traditional"), _netcat),
    **dict.fromkeys(("gunicorn", "hypercorn"), _option_paths("-b", "--bind", prefix="unix:")),
    "uvicorn": _option_paths("--uds"),
    "daphne": _option_paths("-u", "--unix-socket"),
    "systemd-socket-activate": _option_paths("-l", "--listen"),
}
