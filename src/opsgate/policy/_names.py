"""What a person calls the thing an action changes: the inventory's name for it, or
the host an action runs on over SSH, not the classifier's ``host:path``.

The classifier names a change made on another machine ``host:path`` and says so in
its reason (``... (on host, via ssh)``, ``classify._walker_base``); where the
inventory matched the target, the finding's ``env_source`` is ``inventory: KIND
NAME``.  A destructive card asks the approver to type the name they know the
target by, so it is the inventory's name, else the host, else the target as
classified.  Pure; no imports beyond the models (it is on the hook's path).
"""

from __future__ import annotations

from dataclasses import dataclass

from opsgate.models import Finding

__all__ = ["Remote", "inventory_name", "landing_name", "name_to_type", "remote_of"]

_INVENTORY = "inventory: "
_ON = " (on "


@dataclass(frozen=True, slots=True)
class Remote:
    """A change made on another machine: what it does there, on which host, by what."""

    what: str  # the finding's own reason, without "(on host, via ssh)"
    host: str  # the machine the change lands on (the last hop)
    via: str
    path: str | None  # what it changes there, if not the host itself
    # The machines passed through on the way, first first: ``ssh a ssh b …`` lands on
    # b, via a (the classifier adds one "(on host, via ssh)" per hop, innermost first).
    hops: tuple[str, ...] = ()


_MAX_HOPS = 8


def remote_of(finding: Finding) -> Remote | None:
    # Parsed from the end, without a regular expression: the reason carries names the
    # agent chose, and this runs on the hook's path (linear, whatever the text).
    what, found = finding.reason, list[tuple[str, str]]()
    while len(found) < _MAX_HOPS:
        hop = _last_hop(what)
        if hop is None:
            break
        what = what[: hop[0]]
        found.append(hop[1:])
    if not found:
        return None
    # Peeled from the end: the outermost hop first, the innermost (where the command
    # runs) last.
    host, via = found[-1]
    hops = tuple(h for h, _via in found[:-1])
    return Remote(what, host, via, _path(finding.target, (*hops, host)), hops)


def _last_hop(reason: str) -> tuple[int, str, str] | None:
    """Where the last "(on host, via ssh)" starts, its host and its way."""
    start = reason.rfind(_ON)
    if start < 0 or not reason.endswith(")"):
        return None
    host, sep, via = reason[start + len(_ON) : -1].partition(", via ")
    if not sep or not host or not via or any(c in host for c in " ,()") or "(" in via:
        return None
    return start, host, via


def _path(target: str | None, hosts: tuple[str, ...]) -> str | None:
    """What the change is to on the last host: the target without its hosts
    (``a:b:/srv`` → ``/srv``; ``a:b:b``, the host itself, → None)."""
    rest = target or ""
    for host in hosts:
        if not rest.startswith(f"{host}:"):
            return None
        rest = rest[len(host) + 1 :]
    return rest if rest and rest != hosts[-1] else None


def inventory_name(finding: Finding) -> str | None:
    """The inventory target's name, when the inventory decided the finding's environment."""
    source = finding.env_source or ""
    if not source.startswith(_INVENTORY):
        return None
    _kind, _, name = source[len(_INVENTORY) :].partition(" ")
    return name.strip() or None


def name_to_type(finding: Finding) -> str | None:
    """The name an approver types to allow a destructive change to this target."""
    remote = remote_of(finding)
    named = inventory_name(finding)
    if named is not None and (remote is None or landing_name(remote, named) == named):
        return named
    if remote is not None:
        return remote.host
    return finding.target


def landing_name(remote: Remote, named: str | None) -> str:
    """The name of the machine a change over SSH lands on: the inventory's name,
    unless that is the name of a machine it only passes through (``ssh staging-1
    ssh db-9 …`` lands on db-9, whatever staging-1's entry says)."""
    if named is None or (named in remote.hops and named != remote.host):
        return remote.host
    return named
