"""Card titles for changes made on another machine, in words that read in five
seconds: "Restart nginx on web-staging-1 (staging), over SSH" — not the
classifier's "Systemctl restart changes host state (nginx) (on web-staging-1, via
ssh) on web-staging-1:web-staging-1 (staging)".

The host is named as the inventory names it (``policy._names``).  A family whose
reason has a shorter reading has a phrase here (data, matched on the finding's
category and reason); any other finding keeps its own reason.  Pure.
"""

from __future__ import annotations

import re

from opsgate.models import Environment, Finding
from opsgate.policy._names import Remote, inventory_name, remote_of

__all__ = ["remote_target", "remote_title"]

# category prefix, the finding's reason (without "(on host, via …)"), the phrase
_PHRASES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("service.", re.compile(r"^[\w.-]+ (?P<verb>[\w-]+) changes host state \((?P<what>[^()]+)\)$"),
     "{Verb} {what}"),
)  # fmt: skip
# How the change reaches the machine, as people say it.
_VIA = {"ssh": "over SSH", "mosh": "over SSH", "autossh": "over SSH", "sshpass": "over SSH"}


def remote_title(finding: Finding, environment: Environment) -> str | None:
    """The title of a card whose main finding is a change on another machine; None
    for any other finding (its description stays the general one)."""
    remote = remote_of(finding)
    if remote is None:
        return None
    what = _phrase(finding.category, remote.what)
    how = _VIA.get(remote.via, f"via {remote.via}")
    return f"{what} on {_host(finding, remote)} ({environment.label}), {how}"[:500]


def remote_target(finding: Finding) -> str | None:
    """The card's target for a change on another machine: the host by its inventory
    name, with the path when the change is to one (``web-1:/var/www``, not
    ``web-1:web-1``)."""
    remote = remote_of(finding)
    if remote is None:
        return None
    host = _host(finding, remote)
    return f"{host}:{remote.path}" if remote.path else host


def _host(finding: Finding, remote: Remote) -> str:
    return inventory_name(finding) or remote.host


def _phrase(category: str, reason: str) -> str:
    for prefix, pattern, template in _PHRASES:
        found = pattern.match(reason) if category.startswith(prefix) else None
        if found is not None:
            verb = found["verb"]
            return template.format(Verb=verb[:1].upper() + verb[1:], what=found["what"])
    return reason[:1].upper() + reason[1:]
