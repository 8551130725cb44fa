"""The MCP tools, registered with the official SDK's ``MCPServer``.

Each tool resolves *who is calling* on every call (``Authenticator``): over stdio
the agent token from the environment, re-checked each time so a revoked token
stops working at once; over HTTP the principal the bearer middleware attached to
the request.  No principal, no tool: the call fails closed.

Failures map to results, never to protocol errors: malformed input and internal
failures become ``is_error`` results with a message the model can act on;
decisions and refusals are ordinary results (see ``_tools``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from opsgate import __version__
from opsgate.approvals.service import Principal
from opsgate.errors import OpsgateError
from opsgate.mcp._actions import MAX_COMMAND, MAX_CONTENT, MAX_PATH, MAX_TEXT
from opsgate.mcp._identity import NotAuthenticated
from opsgate.mcp._tools import Toolbox

__all__ = ["Authenticator", "build_server"]

log = logging.getLogger("opsgate.mcp")
T = TypeVar("T")

INSTRUCTIONS = """\
opsgate governs what you do to infrastructure. Reads flow freely; every write
(a restart, a deploy, a migration, a delete) needs a person's approval on a card.
Start with list_targets and list_operations. Use evaluate_action to learn what
opsgate would decide, propose_operation / propose_action to ask for approval, and
get_card to follow a card. A refusal (for example Production Protection) is an
answer, not an error: do not try to get around it; tell the user what to do.
You never see credentials: opsgate holds them and runs approved operations."""


class Authenticator(Protocol):
    def __call__(self, ctx: Context) -> Principal: ...


# --- argument types: what the agent's model reads in each tool's input schema ---------------
Kind = Annotated[
    Literal["shell", "sql", "file_read", "file_write", "file_delete"],
    Field(description="What the action is: a shell command, an SQL statement, or a file action."),
]
Target = Annotated[
    str | None,
    Field(
        default=None,
        max_length=253,
        description="The inventory target it acts on (see list_targets), e.g. 'web-1'. "
        "Omit for the agent's own workspace.",
    ),
]
Command = Annotated[
    str | None,
    Field(default=None, max_length=MAX_COMMAND, description="kind=shell: the exact command line."),
]
Sql = Annotated[
    str | None,
    Field(default=None, max_length=MAX_COMMAND, description="kind=sql: the exact SQL."),
]
Path = Annotated[
    str | None,
    Field(default=None, max_length=MAX_PATH, description="kind=file_*: the file's path."),
]
Content = Annotated[
    str | None,
    Field(default=None, max_length=MAX_CONTENT, description="kind=file_write: the new content."),
]
Reasoning = Annotated[
    str,
    Field(default="", max_length=MAX_TEXT, description="Why: shown to the approver on the card."),
]
Rollback = Annotated[
    str,
    Field(default="", max_length=MAX_TEXT, description="How to undo it, shown on the card."),
]
OperationName = Annotated[
    str,
    Field(
        max_length=64,
        pattern=r"^[a-z][a-z0-9_.\-]{0,63}$",
        description="An operation name from list_operations, e.g. 'restart_service'.",
    ),
]
OperationTarget = Annotated[
    str,
    Field(max_length=253, description="The inventory target's name (see list_targets)."),
]
Parameters = Annotated[
    dict[
        Annotated[str, Field(max_length=64)],
        Annotated[str, Field(max_length=256)] | int | bool,
    ],
    Field(
        default_factory=dict,
        max_length=16,
        description='The operation\'s parameters by name, e.g. {"service": "nginx"}.',
    ),
]
CardId = Annotated[
    str,
    Field(max_length=32, description="The card id a proposal returned, e.g. c_0123456789abcdef."),
]

_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_PROPOSE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


def build_server(toolbox: Toolbox, authenticate: Authenticator) -> MCPServer:
    """An ``MCPServer`` whose tools act as the authenticated agent through ``toolbox``."""
    server: MCPServer = MCPServer(
        "opsgate", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    def call(ctx: Context, work: Callable[[Principal], dict[str, Any]]) -> dict[str, Any]:
        try:
            actor = authenticate(ctx)
        except NotAuthenticated as exc:
            raise ToolError(f"not authenticated: {exc}") from None
        try:
            return work(actor)
        except OpsgateError as exc:
            raise ToolError(exc.diagnostics()) from None
        except Exception as exc:
            # Fail closed and say so; the detail goes to the server's log, not the agent.
            log.exception("opsgate MCP tool failed")
            raise ToolError(
                f"opsgate could not complete this call ({type(exc).__name__}); nothing was "
                "allowed or run. Try again later or ask an operator."
            ) from None

    @server.tool(annotations=_READ)
    def list_targets(ctx: Context) -> dict[str, Any]:
        """The servers, sites, databases, backups and clusters opsgate knows: name, kind,
        environment (production, staging, development, local) and your access level
        (full, read_only, no_access). Credentials are never shown."""
        return call(ctx, toolbox.list_targets)

    @server.tool(annotations=_READ)
    def list_operations(ctx: Context) -> dict[str, Any]:
        """The governed operations opsgate can run for you, with their parameters, the
        target kinds they apply to, and whether they are read-only."""
        return call(ctx, toolbox.list_operations)

    @server.tool(annotations=_READ)
    def evaluate_action(
        ctx: Context,
        kind: Kind,
        target: Target = None,
        command: Command = None,
        sql: Sql = None,
        path: Path = None,
        content: Content = None,
    ) -> dict[str, Any]:
        """Dry run: what opsgate would decide for an action (allow, require_approval or
        deny) and why, without creating a card. The decision is audited."""
        return call(
            ctx,
            lambda actor: toolbox.evaluate_action(
                actor, kind, target=target, command=command, sql=sql, path=path, content=content
            ),
        )

    @server.tool(annotations=_PROPOSE)
    def propose_action(
        ctx: Context,
        kind: Kind,
        target: Target = None,
        command: Command = None,
        sql: Sql = None,
        path: Path = None,
        content: Content = None,
        reasoning: Reasoning = "",
        rollback: Rollback = "",
    ) -> dict[str, Any]:
        """Ask for an action: a write becomes an approval card for a person (returns the
        card id, status, link and plain-English description); a refusal (e.g.
        Production Protection) comes back with what to do instead."""
        return call(
            ctx,
            lambda actor: toolbox.propose_action(
                actor,
                kind,
                target=target,
                command=command,
                sql=sql,
                path=path,
                content=content,
                reasoning=reasoning,
                rollback=rollback,
            ),
        )

    @server.tool(annotations=_PROPOSE)
    def propose_operation(
        ctx: Context,
        operation: OperationName,
        target: OperationTarget,
        parameters: Parameters,
        reasoning: Reasoning = "",
    ) -> dict[str, Any]:
        """Propose a governed operation (see list_operations) on a target: returns the
        approval card (id, status, link, description) or the refusal. opsgate runs it
        with credentials you never see, only after a person approves."""
        return call(
            ctx,
            lambda actor: toolbox.propose_operation(
                actor, operation, target, parameters, reasoning
            ),
        )

    @server.tool(annotations=_READ)
    def get_card(ctx: Context, card_id: CardId) -> dict[str, Any]:
        """A card's status (pending, approved, executing, completed, failed, denied,
        expired, cancelled) and, once it ran, its result."""
        return call(ctx, lambda actor: toolbox.get_card(actor, card_id))

    @server.tool(annotations=_READ)
    def run_read_only(
        ctx: Context, operation: OperationName, target: OperationTarget, parameters: Parameters
    ) -> dict[str, Any]:
        """Run a read-only operation (logs, status) now and return its output. Write
        operations are refused here: propose them and wait for approval."""
        return call(ctx, lambda actor: toolbox.run_read_only(actor, operation, target, parameters))

    @server.tool(annotations=_PROPOSE)
    def execute_card(ctx: Context, card_id: CardId) -> dict[str, Any]:
        """Run the operation of a card a person has approved (at most once) and return
        its result. Any other card state is reported, not run."""
        return call(ctx, lambda actor: toolbox.execute_card(actor, card_id))

    return server
