"""opsgate's MCP server: governed operations as tools for an agent (SPEC §9).

``opsgate mcp`` serves these tools over stdio (the agent's client spawns it) or
streamable HTTP, with the official ``mcp`` SDK, always authenticated as an agent
token.  It talks to the control plane in process (the same data directory or
``OPSGATE_DATABASE_URL`` as ``opsgate serve``), so every decision and card is
audited by the control plane itself.  Operations go through the ``Operations``
Protocol: the executor when configured, otherwise ``PlannedOperations``, which
proposes and decides exactly as the executor would and runs nothing.

The transports (and the SDK, ~1-2 s to import) load on first use of
``run_stdio``/``run_http``/``http_app``/``toolbox_for``.
"""

from __future__ import annotations

from typing import Any

from opsgate.mcp._identity import NotAuthenticated, agent_principal
from opsgate.mcp._ops import OperationInfo, Operations, Parameter, PlannedOperations, RunResult

__all__ = [
    "NotAuthenticated",
    "OperationInfo",
    "Operations",
    "Parameter",
    "PlannedOperations",
    "RunResult",
    "agent_principal",
    "http_app",
    "run_http",
    "run_stdio",
    "toolbox_for",
]

_LAZY = frozenset({"http_app", "run_http", "run_stdio", "toolbox_for"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from opsgate.mcp import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
