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

__all__ = ["Remote", "inventory_name", "name_to_type", "remote_of"]

_INVENTORY = "inventory: "
_ON = " (on "


@dataclass(frozen=True, slots=True)
class Remote:
    """A change made on another machine: what it does there, on which host, by what."""

    what: str  # the finding's own reason, without "(on host, via ssh)"
    host: str
    via: str
    path: str | None  # what it changes there, if not the host itself


def remote_of(finding: Finding) -> Remote | None:
    # Parsed from the end, without a regular expression: the reason carries names the
    # agent chose, and this runs on the hook's path (linear, whatever the text).
    reason = finding.reason
    start = reason.rfind(_ON)
    if start < 0 or not reason.endswith(")"):
        return None
    host, sep, via = reason[start + len(_ON) : -1].partition(", via ")
    if not sep or not host or not via or any(c in host for c in " ,()") or "(" in via:
        return None
    path = None
    if finding.target and finding.target.startswith(f"{host}:"):
        rest = finding.target[len(host) + 1 :]
        path = rest if rest and rest != host else None
    return Remote(reason[:start], host, via, path)


def inventory_name(finding: Finding) -> str | None:
    """The inventory target's name, when the inventory decided the finding's environment."""
    source = finding.env_source or ""
    if not source.startswith(_INVENTORY):
        return None
    _kind, _, name = source[len(_INVENTORY) :].partition(" ")
    return name.strip() or None


def name_to_type(finding: Finding) -> str | None:
    """The name an approver types to allow a destructive change to this target."""
    named = inventory_name(finding)
    if named is not None:
        return named
    remote = remote_of(finding)
    if remote is not None:
        return remote.host
    return finding.target
