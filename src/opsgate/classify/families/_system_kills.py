"""Mass kills: a signal to every process of a user, or to whatever a listing returns.

``pkill -9 -u dev`` and ``killall -u dev`` end the developer's editor, shells, servers
and the agent itself; ``pkill -f .`` matches every command line; ``ps aux | … | xargs
kill -9`` and ``kill $(ps -eo pid=)`` kill whatever ``ps`` listed, other users'
processes included.  ``pgrep`` selecting as such a ``pkill`` would (``pgrep -u
"$USER"``) lists every process just as ``ps`` does, and a variable that holds such a
listing's words (``for p in $(pgrep -u "$USER")``, ``ps -eo pid= | while read p``)
carries where they came from (``<pipe:ps``), so ``kill "$p"`` in the loop is the
same mass kill.  None of them names what it stops, so a person decides.  Killing
by a name (``pkill -f 'node server.js'``, ``pgrep vite | xargs kill``, ``kill $(lsof -t
-i:3000)``) stays ordinary local work.
"""

from __future__ import annotations

import re

from opsgate.classify._command import Command

__all__ = ["PROCESS_LIST", "lists_every_process", "mass_kill_reason"]

# The source a producer of every process id is given (``_pipes``), whatever the program.
PROCESS_LIST = "pipe:ps"

# Command lines a pattern is tried against: one that matches all of them selects
# every process.
_PROBES = ("init", "bash", "node server.js", "sshd: dev@pts/0", "Xorg", "python3 -m http")
_PKILL_VALUED = frozenset(
    {
        "-s",
        "--signal",
        "-u",
        "--euid",
        "-U",
        "--uid",
        "-g",
        "--pgroup",
        "-G",
        "--group",
        "-P",
        "--parent",
        "-t",
        "--terminal",
        "-F",
        "--pidfile",
        "--ns",
        "--nslist",
        "-o",
        "-n",
        "-O",
        "--older",
        "--older-than",
        "--younger-than",
        "-d",  # pgrep's delimiter
        "--delimiter",
    }
)
# Selections that pick processes without a name pattern, and how reasons say them.
_SELECTIONS = (
    (("-P", "--parent"), "whose parent is"),
    (("-t", "--terminal"), "on the terminal"),
    (("-g", "--pgroup"), "in the process group"),
    (("-G", "--group"), "of the group"),
    (("-s", "--session"), "in the session"),
    (("--ns",), "in the namespaces of"),
)
_LISTERS = re.compile(r"(\$\(|`|<)\s*(ps|top|htop|pstree)\b|pipe:(ps|top|htop|pstree)\b")


def lists_every_process(cmd: Command) -> bool:
    """Whether ``pgrep``/``pidof`` (``cmd``) prints every process id its selection can
    see: no name pattern with a user or other selection, or a pattern matching all."""
    if cmd.name != "pgrep":
        return False
    return mass_kill_reason(cmd, []) is not None


def mass_kill_reason(cmd: Command, targets: list[str]) -> str | None:
    """Why ``cmd`` (kill, pkill, killall, skill) signals processes en masse, or None."""
    if cmd.name == "kill":
        listed = [t for t in (a.value for a in cmd.args if not a.static) if _LISTERS.search(t)]
        if listed:
            return "signals every process a ps listing returns"
        return None
    users = cmd.options("-u", "--euid", "-U", "--uid", "--user")
    names = [a.value for a in cmd.positionals(_PKILL_VALUED)]
    if cmd.name == "skill" and not names:
        return "signals every process it selects"
    if not names:
        if users or cmd.has("-u", "--user"):
            return f"signals every process of {', '.join(users) or 'the user'}"
        # No pattern: every process the selection picks (`-P 1`: every child of init).
        for options, what in _SELECTIONS:
            picked = cmd.options(*options)
            if picked:
                return f"signals every process {what} {', '.join(picked)}"
        return None
    regex = cmd.name in ("pkill", "pgrep") or cmd.has("-r", "--regexp")
    for name in names:
        if regex and _matches_all(name):
            return f"the pattern {name!r} matches every process"
        if not regex and name in ("*", "-1"):
            return "signals every process"
    return None


def _matches_all(pattern: str) -> bool:
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return True  # a pattern Python cannot read: assume the worst
    return all(compiled.search(p) for p in _PROBES)
