"""Protected mode: opsgate deployed the way a security tool is, so that an agent
running as an ordinary user cannot switch off, fool or outlive its guard.

``opsgate install <agent> --system`` (``_install``) sets it up once, as root;
``opsgate doctor`` (``_status``) says per agent whether it holds.  ``_managed`` is
each agent's system-wide hook configuration as data; ``_checks`` decides who could
change a path; ``_layout`` is where everything goes.
"""

from __future__ import annotations

from opsgate.system._accounts import SystemModeError
from opsgate.system._install import Request, install, uninstall
from opsgate.system._layout import DEFAULT_PORT, DEFAULT_USER, Layout
from opsgate.system._managed import MANAGED, Managed, managed_for
from opsgate.system._status import Finding, Protection, protection

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_USER",
    "MANAGED",
    "Finding",
    "Layout",
    "Managed",
    "Protection",
    "Request",
    "SystemModeError",
    "install",
    "managed_for",
    "protection",
    "uninstall",
]
