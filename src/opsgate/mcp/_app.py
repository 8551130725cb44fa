"""Assembling the MCP server for a transport: stdio or streamable HTTP."""

from __future__ import annotations

from starlette.types import ASGIApp

from opsgate.approvals.service import ControlPlane
from opsgate.mcp._auth import BearerAuth, ScopeAuth, TokenAuth
from opsgate.mcp._executor import executor_operations
from opsgate.mcp._identity import agent_principal
from opsgate.mcp._ops import Operations, PlannedOperations
from opsgate.mcp._server import build_server
from opsgate.mcp._tools import Toolbox

__all__ = ["MAX_BODY", "http_app", "run_http", "run_stdio", "toolbox_for"]

MAX_BODY = 1024 * 1024  # one JSON-RPC message; file contents are capped well below this


def toolbox_for(control: ControlPlane, operations: Operations | None, public_url: str) -> Toolbox:
    """The tools over ``operations``; by default the executor when this build has
    one (``opsgate.execute``), else ``PlannedOperations`` (decide and propose only)."""
    if operations is None:
        operations = executor_operations(control) or PlannedOperations(control)
    return Toolbox(control, operations, public_url=public_url)


def run_stdio(control: ControlPlane, secret: str, toolbox: Toolbox) -> None:
    """Serve on stdin/stdout until the client closes them.  The token is checked
    before anything is served (``NotAuthenticated`` otherwise) and on every call."""
    agent_principal(control, secret)
    build_server(toolbox, TokenAuth(control, secret)).run("stdio")


def http_app(control: ControlPlane, toolbox: Toolbox, *, host: str = "127.0.0.1") -> ASGIApp:
    """The streamable HTTP app at ``/mcp``, behind bearer authentication.  On a
    loopback host the SDK's DNS-rebinding protection (Host/Origin checks) is on."""
    server = build_server(toolbox, ScopeAuth())
    app = server.streamable_http_app(host=host, max_request_body_size=MAX_BODY)
    return BearerAuth(app, control)


def run_http(control: ControlPlane, toolbox: Toolbox, *, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        http_app(control, toolbox, host=host),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        server_header=False,
    )
    uvicorn.Server(config).run()
