"""``opsgate mcp``: serve governed operations to an agent over MCP.

Options: ``--transport stdio|http`` (stdio: the agent's client spawns this process),
``--host``/``--port`` (http only: 127.0.0.1:8471, path /mcp).  Settings (flags >
environment > config file > defaults; docs/configuration.md): ``data_dir`` and
``database_url`` (the control plane's data, as for ``opsgate serve``; it must
exist), ``token`` (stdio: the agent token, OPSGATE_TOKEN; http: each request's
bearer), ``public_url`` (the base of card links).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from opsgate.cli._flags import add_setting
from opsgate.cli.users import Refused, control_plane
from opsgate.errors import InputError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    mcp = subparsers.add_parser(
        "mcp", help="serve governed operations to an agent over MCP (stdio or HTTP)"
    )
    mcp.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="http only (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8471, help="http only (default 8471)")
    add_setting(mcp, "data_dir")
    add_setting(mcp, "public_url")
    mcp.set_defaults(func=_mcp)


def _mcp(ns: argparse.Namespace) -> int:
    import importlib.util

    from opsgate.errors import MissingExtra

    if importlib.util.find_spec("mcp") is None:  # before anything else asks for a token
        raise MissingExtra("mcp", "mcp")
    from opsgate.config import current
    from opsgate.mcp import NotAuthenticated, agent_principal

    config = current()
    public_url = config.text("public_url") or "http://127.0.0.1:8470"
    secret = config.text("token") or ""
    if ns.transport == "stdio" and not secret:
        raise InputError(
            "the stdio MCP server acts as an agent: set OPSGATE_TOKEN",
            hint="create one with `opsgate tokens create my-agent --role agent`",
        )
    with control_plane(ns) as control:
        if ns.transport == "stdio":
            try:  # before importing the SDK: a wrong token fails fast and serves nothing
                agent_principal(control, secret)
            except NotAuthenticated as exc:
                raise Refused(str(exc)) from None
        from opsgate.mcp import _app  # without the 'mcp' extra: cli.main's hint

        toolbox = _app.toolbox_for(control, None, public_url)
        if ns.transport == "http":
            print(f"opsgate: MCP over HTTP at http://{ns.host}:{ns.port}/mcp", file=sys.stderr)
            _app.run_http(control, toolbox, host=ns.host, port=ns.port)
            return 0
        try:
            _app.run_stdio(control, secret, toolbox)
        except NotAuthenticated as exc:
            raise Refused(str(exc)) from None
    return 0
