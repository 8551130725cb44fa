"""Which agent is calling: the token check shared by both transports.  Free of the
SDK, so ``opsgate mcp`` refuses a bad token before it pays for importing it."""

from __future__ import annotations

from opsgate.approvals.model import Role
from opsgate.approvals.service import ControlPlane, Principal

__all__ = ["NotAuthenticated", "agent_principal"]

_MAX_TOKEN = 512


class NotAuthenticated(Exception):
    """No valid agent credentials on this call."""


def agent_principal(control: ControlPlane, secret: str) -> Principal:
    """The agent behind ``secret``, or ``NotAuthenticated`` saying why not.  Only
    ``agent`` tokens: people and automation use the HTTP API, and an MCP server
    never acts as an admin."""
    if not secret or len(secret) > _MAX_TOKEN:
        raise NotAuthenticated("no agent token given")
    found = control.token(secret)
    if found is None:
        raise NotAuthenticated("the agent token is unknown or revoked")
    if found.role is not Role.AGENT:
        raise NotAuthenticated(
            f"this is a {found.role.value} token; the MCP server acts only for agents "
            "(create one with `opsgate tokens create NAME --role agent`)"
        )
    return found
