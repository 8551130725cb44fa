"""Signals aimed at opsgate's processes, however the target is named (safeguard 6).

``pkill -f opsgate`` names the guard; ``pkill -f hooks._daemon``, ``pkill -f 'o[p]sgate'``
and ``killall -r 'hook-f.*'`` select the same processes by a pattern that does not.
A pattern is therefore tried the way the program will use it, against the names and
command lines opsgate's processes really have; ``fuser -k`` is judged by the file
whose holders it kills (the hook socket, the data directory).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from opsgate.classify._command import Arg, Command

__all__ = ["kill_target", "names_opsgate_process", "pgrep_selects_opsgate"]

# What ``pkill``/``killall`` see of opsgate's processes: the program name (the kernel
# keeps 15 characters of it) and, with ``-f``, the command line.  Only opsgate's own
# words: an interpreter's name (``python3``) or an agent's (``claude``) is not aimed
# at the guard.
_NAMES = ("opsgate", "opsgate-hook", "opsgate-hook-fast", "opsgate-hook-fa")
_LINES = (*_NAMES, "opsgate hook", "-m opsgate.hooks._daemon --home ~/.opsgate",
          "opsgate serve")  # fmt: skip
_VALUED = frozenset({"-s", "--signal", "-u", "--euid", "-U", "--uid", "-g", "--pgroup", "-G",
                     "--group", "-P", "--parent", "-t", "--terminal", "-F", "--pidfile", "--ns",
                     "--nslist", "-o", "--older-than", "-y", "--younger-than", "-n",
                     "--older", "--younger"})  # fmt: skip


def kill_target(cmd: Command, guard_file: Callable[[str], str | None]) -> str | None:
    """What of opsgate's ``cmd`` signals, or None.  ``guard_file`` says what a path
    is to the guard (for ``fuser -k PATH``)."""
    if cmd.name == "fuser":
        return _fuser(cmd, guard_file)
    if cmd.name not in ("pkill", "killall", "skill"):
        return None
    patterns = [a.value for a in cmd.positionals(_VALUED) if a.value]
    if cmd.name == "killall" and not cmd.has("-r", "--regexp"):
        fold = cmd.has("-I", "--ignore-case")
        names = {n.lower() for n in _NAMES} if fold else set(_NAMES)
        hit = next((p for p in patterns if (p.lower() if fold else p) in names), None)
        return f"the process name {hit!r} is opsgate's" if hit else None
    fold = cmd.has("-i", "--ignore-case", "-I")
    probes = _LINES if cmd.name == "pkill" and cmd.has("-f", "--full") else _NAMES
    for pattern in patterns:
        if _matches_any(pattern, probes, re.IGNORECASE if fold else 0):
            return f"the pattern {pattern!r} selects opsgate's processes"
    return None


def names_opsgate_process(pattern: str) -> bool:
    """Whether a process-name wildcard (PowerShell's ``Get-Process *opsgate*``,
    ``Stop-Process -Name opsgate-hook*``; case-insensitive) selects opsgate's processes."""
    lowered = pattern.lower().removesuffix(".exe")
    return any(fnmatch.fnmatchcase(name, lowered) for name in _NAMES)


def _matches_any(pattern: str, probes: tuple[str, ...], flags: int) -> bool:
    try:
        compiled = re.compile(pattern[:200], flags)
    except (re.error, RecursionError, OverflowError):
        return "opsgate" in pattern.lower()  # unreadable: only a literal mention counts
    return any(compiled.search(p) for p in probes)


def _fuser(cmd: Command, guard_file: Callable[[str], str | None]) -> str | None:
    if not cmd.has("-k", "--kill"):
        return None
    for arg in cmd.positionals():
        why = guard_file(arg.value) if arg.static else None
        if why is not None:
            return f"kills every process holding {arg.value} ({why})"
    return None


# ``pgrep PATTERN`` (and ``pidof``) inside a signal's text: ``pgrep -f hooks._daemon |
# xargs kill``, ``kill $(pgrep -f 'o[p]sgate')``.  Up to the end of the pipeline step.
_PGREP = re.compile(r"\b(pgrep|pidof)\b([^|;&)`\n]*)")


def pgrep_selects_opsgate(text: str) -> str | None:
    """The pattern of a ``pgrep``/``pidof`` in ``text`` that selects opsgate's
    processes (tried as pgrep will use it), or None."""
    import shlex

    for match in _PGREP.finditer(text[:4000]):
        try:
            words = shlex.split(match.group(2))
        except ValueError:
            words = match.group(2).split()
        probe = Command("pkill" if match.group(1) == "pgrep" else "killall",
                        tuple(Arg(w) for w in words), match.group(0))  # fmt: skip
        found = kill_target(probe, lambda _path: None)
        if found is not None:
            return found
    return None
