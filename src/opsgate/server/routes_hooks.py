"""Claude Code's ``http`` hook type, answered by the control plane.

Claude Code can POST a hook's JSON to a URL instead of running a command
(``{"type": "http", "url": …, "headers": {"Authorization": "Bearer $OPSGATE_TOKEN"},
"allowedEnvVars": ["OPSGATE_TOKEN"]}``).  That saves starting a process per tool
call, at a price an operator must know: Claude Code treats a non-2xx answer, a
refused connection and a timeout as a *non-blocking* error and runs the tool.
So this route never answers a PreToolUse payload with an error status: a bad
token, a malformed payload or a failure inside opsgate all come back as ``200``
with a ``deny`` decision.  What it cannot cover is opsgate being down or
unreachable — then Claude Code runs the tool unchecked.  ``docs/agents.md`` says
so, and recommends the command hook (which decides locally when the control plane
is unreachable) wherever that matters.

The decision is a ``propose`` by the token's principal: an allow is an empty
answer (Claude Code's own permission rules still apply), a deny is a deny, and an
action that needs a person gets an approval card and an immediate deny naming the
card — the agent never waits on a human — and the identical retry after approval
consumes the grant and passes.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from opsgate.approvals.model import Denied
from opsgate.approvals.service import ControlPlane, Principal, ProposeResult
from opsgate.models import Action, Verdict
from opsgate.server.auth import Credentials, in_thread, resolve
from opsgate.server.errors import Unauthenticated
from opsgate.server.schemas import input_problem

__all__ = ["MAX_BODY", "claude_hook", "refuse"]

log = logging.getLogger("opsgate.server.hooks")

MAX_BODY = 1024 * 1024
_HEADERS = {"cache-control": "no-store"}


def _answer(body: str) -> Response:
    return Response(body, media_type="application/json", headers=_HEADERS)


def _deny(reason: str) -> Response:
    from opsgate.hooks._shapes import pre_tool_use

    return _answer(pre_tool_use("deny", reason)[0])


def refuse(problem: str) -> Response:
    """The answer to a request the server's edge refused (too large, too slow):
    a deny, as for any bad input, never an error status."""
    return _deny(f"opsgate blocked this call: {problem}.")


def _tool_call(raw: bytes) -> tuple[str, dict[str, Any], str | None, str | None]:
    """``(tool, input, cwd, session)`` of a PreToolUse payload, read exactly as the
    command hook reads it (``HookInputError`` when it is not one)."""
    from opsgate.hooks._respond import HookInputError, parse_json
    from opsgate.hooks._shapes import tool_call

    if len(raw) > MAX_BODY:
        raise HookInputError(f"the hook input is larger than {MAX_BODY} bytes")
    payload = parse_json(raw)
    problem = input_problem(payload)
    if problem is not None:
        raise HookInputError(problem)
    event = payload.get("hook_event_name", "PreToolUse")
    if event != "PreToolUse":
        raise HookInputError(f"this endpoint answers PreToolUse hooks, not {event!r}")
    found = tool_call(payload)
    if not found[0]:
        raise HookInputError("the hook input needs tool_name (string) and tool_input (object)")
    return found


def card_reason(result: ProposeResult, link: str) -> str:
    """What the agent reads when its action is waiting for a person."""
    from opsgate.approvals._describe import shown
    from opsgate.hooks._render import render_reason

    assert result.card is not None
    card = shown(result.card)  # as every other channel shows it: redacted
    return "\n".join(
        (
            render_reason(result.decision, ask=True).split("\n", 1)[0],
            f"Approval card {card.id} was created: {link}",
            f"It asks a person to approve: {card.description}",
            "Do not work around this. Tell the user the card is waiting; once it is approved,",
            "retry exactly the same action and it will run once. A different action needs "
            "its own approval.",
        )
    )


async def claude_hook(request: Request) -> Response:
    """POST /api/v1/hooks/claude — a Claude Code PreToolUse payload in, its answer out."""
    og = request.app.state.og
    control: ControlPlane = og.control
    from opsgate.hooks._respond import HookInputError

    try:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("send 'Authorization: Bearer <agent token>'")
        tool, tool_input, cwd, session = _tool_call(await request.body())
        purpose = tool_input.get("description")

        credentials = Credentials("token", secret.strip())
        reasoning = purpose if isinstance(purpose, str) else ""

        def caller() -> Principal:
            return resolve(control, credentials)

        def action(agent: str) -> Action:
            return Action(
                "", tool, tool_input, cwd=cwd, project_dir=cwd, agent=agent, session=session
            )

        result = await control.propose_on_loop(
            caller, action, reasoning=reasoning, offload=in_thread
        )
    except HookInputError as exc:
        return _deny(f"opsgate blocked this call: {exc}.")
    except HTTPException as exc:  # the edge's limits, met while reading the body
        return refuse(str(exc.detail))
    except (Unauthenticated, Denied) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return _deny(
            f"opsgate blocked this call: the control plane refused the hook's credentials "
            f"({reason}). Fix the token in the hook's Authorization header (OPSGATE_TOKEN)."
        )
    except Exception as exc:
        og.metrics.failed(exc)
        log.exception("the http hook failed; answering deny")
        return _deny("opsgate blocked this call: an internal error occurred in the control plane.")
    return _render(result, og)


def _render(result: ProposeResult, og: Any) -> Response:
    from opsgate.hooks._render import render_reason

    decision = result.decision
    og.metrics.decided(decision)
    if result.card is not None and result.grant is None:
        link = og.link(result.card.id)
        og.announce("card.created", result.card)
        return _deny(card_reason(result, link))
    if decision.verdict is Verdict.ALLOW:
        return _answer("{}")
    return _deny(render_reason(decision, ask=False))
