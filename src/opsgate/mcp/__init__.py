"""opsgate's MCP server: governed operations as tools for an agent (SPEC §9).

``opsgate mcp`` serves these tools over stdio (the agent's client spawns it) or
streamable HTTP, with the official ``mcp`` SDK, always authenticated as an agent
token.  It talks to the control plane in process (the same data directory or
``OPSGATE_DATABASE_URL`` as ``opsgate serve``), so every decision and card is
audited by the control plane itself.  Operations go through the ``Operations``
Protocol: the executor when configured, otherwise ``PlannedOperations``, which
proposes and decides exactly as the executor would and runs nothing.
"""

from __future__ import annotations

from opsgate.mcp._app import http_app, run_http, run_stdio, toolbox_for
from opsgate.mcp._ops import OperationInfo, Operations, Parameter, PlannedOperations, RunResult

__all__ = [
    "OperationInfo",
    "Operations",
    "Parameter",
    "PlannedOperations",
    "RunResult",
    "http_app",
    "run_http",
    "run_stdio",
    "toolbox_for",
]
