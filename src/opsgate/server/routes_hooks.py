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

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from opsgate.approvals.model import Denied
from opsgate.approvals.service import ControlPlane, ProposeResult
from opsgate.models import Action, Verdict
from opsgate.server.auth import in_thread, resolve
from opsgate.server.errors import Unauthenticated

__all__ = ["MAX_BODY", "claude_hook"]

log = logging.getLogger("opsgate.server.hooks")

MAX_BODY = 1024 * 1024
_HEADERS = {"cache-control": "no-store"}


class _BadInput(Exception):
    pass


def _answer(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), media_type="application/json", headers=_HEADERS)


def _deny(reason: str) -> Response:
    return _answer(
        {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }
    )


def _action(raw: bytes, agent: str) -> tuple[Action, str]:
    """The Action a PreToolUse payload proposes, and the agent's stated purpose."""
    if len(raw) > MAX_BODY:
        raise _BadInput(f"the hook input is larger than {MAX_BODY} bytes")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _BadInput(f"the hook input is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(payload, dict):
        raise _BadInput("the hook input must be a JSON object")
    event = payload.get("hook_event_name", "PreToolUse")
    if event != "PreToolUse":
        raise _BadInput(f"this endpoint answers PreToolUse hooks, not {event!r}")
    tool, tool_input = payload.get("tool_name"), payload.get("tool_input")
    if not isinstance(tool, str) or not tool or not isinstance(tool_input, dict):
        raise _BadInput("the hook input needs tool_name (string) and tool_input (object)")
    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    session = payload.get("session_id")
    action = Action(
        "",
        tool,
        tool_input,
        cwd=cwd,
        project_dir=cwd,
        agent=agent,
        session=session if isinstance(session, str) else None,
    )
    purpose = tool_input.get("description")
    return action, purpose if isinstance(purpose, str) else ""


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
    try:
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("send 'Authorization: Bearer <agent token>'")
        raw = await request.body()
        action, purpose = _action(raw, "claude-code")

        def work() -> ProposeResult:
            from opsgate.server.auth import Credentials

            with control.snapshot():
                caller = resolve(control, Credentials("token", secret.strip()))
                return control.propose(
                    caller,
                    Action(
                        action.kind,
                        action.tool,
                        action.input,
                        cwd=action.cwd,
                        project_dir=action.project_dir,
                        agent=caller.name,
                        session=action.session,
                    ),
                    reasoning=purpose,
                )

        result = await in_thread(work)
    except _BadInput as exc:
        return _deny(f"opsgate blocked this call: {exc}.")
    except (Unauthenticated, Denied) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return _deny(
            f"opsgate blocked this call: the control plane refused the hook's credentials "
            f"({reason}). Fix the token in the hook's Authorization header (OPSGATE_TOKEN)."
        )
    except Exception:
        log.exception("the http hook failed; answering deny")
        return _deny("opsgate blocked this call: an internal error occurred in the control plane.")
    return _render(result, og)


def _render(result: ProposeResult, og: Any) -> Response:
    from opsgate.hooks._render import render_reason

    decision = result.decision
    if result.card is not None and result.grant is None:
        link = og.link(result.card.id)
        og.announce("card.created", result.card)
        return _deny(card_reason(result, link))
    if decision.verdict is Verdict.ALLOW:
        return _answer({})
    return _deny(render_reason(decision, ask=False))
