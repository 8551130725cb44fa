"""``POST /api/v1/slack/interactions``: Slack's button clicks (Block Kit
``block_actions``), verified, and turned into the same service calls as the
console's.

In order: the body is read raw (at most 64 KiB); the signature and timestamp are
checked (``slack.verify``: v0 HMAC-SHA256 with the signing secret, ≤ 5 minutes);
the body is recorded as seen, so the same request is never acted on twice
(a replay within the window gets 409; after it, the timestamp is stale); the
workspace is checked if one is configured.  Then the click acts as the opsgate
person the Slack user linked — or nobody: an unlinked user is told how to link.
Every refusal (role, own request, state, typed confirmation) is the control
plane's, sent back to the clicker only (``chat.postEphemeral``).  A card decided
here reaches the console and the other notifications like any other decision;
its Slack message is rewritten by the notifier.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from opsgate.approvals.model import Denied
from opsgate.server import slack
from opsgate.server.auth import in_thread
from opsgate.server.slack import BadRequest, SlackApp, link_message

__all__ = ["router"]

log = logging.getLogger("opsgate.server.slack")
router = APIRouter(tags=["slack"])

MAX_BODY = 64 * 1024
_SEEN_SECONDS = 2 * slack.MAX_AGE + 60  # outlives every timestamp still accepted


def _refuse(message: str, status: int) -> Response:
    return JSONResponse({"error": {"code": "slack_request_refused", "message": message}},
                        status_code=status)  # fmt: skip


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest("the request is too large", 413)
    return body


@router.post(
    "/slack/interactions",
    summary="Slack interactive messages (Approve/Deny buttons)",
    description="Signed by Slack (X-Slack-Signature, X-Slack-Request-Timestamp); "
    "see docs/web.md#slack.",
    response_class=Response,
)
async def interactions(request: Request) -> Response:
    og = request.app.state.og
    config = og.notifier.config
    app: SlackApp | None = og.notifier.slack
    if not config.slack_signing_secret or app is None:
        return _refuse("the Slack app is not configured on this opsgate", 404)
    try:
        body = await _body(request)
        slack.verify(
            config.slack_signing_secret,
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
            body,
        )
        digest = hashlib.sha256(body).hexdigest()
        fresh = await in_thread(
            lambda: og.control.keep_once("slack-seen", "slack:" + digest[:58], "", _SEEN_SECONDS)
        )
        if not fresh:
            raise BadRequest("this request was already handled (a replay)", 409)
        payload = _payload(body)
        team = str((payload.get("team") or {}).get("id") or payload["user"].get("team_id") or "")
        if config.slack_team_id and team != config.slack_team_id:
            raise BadRequest("clicks from this Slack workspace are not accepted here", 403)
    except BadRequest as exc:
        log.warning("refused a Slack interaction: %s", exc.message)
        return _refuse(exc.message, exc.status)
    await _act(request, app, payload, team)
    return Response(status_code=200)


def _payload(body: bytes) -> dict[str, Any]:
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=5)
        payload = json.loads(fields["payload"][0])
        if payload.get("type") != "block_actions" or not isinstance(payload.get("user"), dict):
            raise ValueError("not a block_actions payload")
        if not payload.get("actions"):
            raise ValueError("no action")
    except (UnicodeDecodeError, KeyError, IndexError, ValueError, AttributeError) as exc:
        raise BadRequest(f"not a Slack interaction: {exc}", 400) from None
    return dict(payload)


async def _act(request: Request, app: SlackApp, payload: dict[str, Any], team: str) -> None:
    og = request.app.state.og
    action = payload["actions"][0]
    kind, value = str(action.get("action_id", "")), str(action.get("value", ""))
    user = str(payload["user"].get("id", ""))
    channel = str((payload.get("channel") or {}).get("id") or
                  (payload.get("container") or {}).get("channel_id") or "")  # fmt: skip
    account = f"{team}:{user}"
    if kind in (slack.LINK, slack.NOT_ME):
        await _link(request, app, payload, kind, value, user, account)
        return
    if kind not in (slack.APPROVE, slack.DENY):
        return  # "Open card" and the like: a link, nothing to do here
    me = await in_thread(lambda: og.control.linked_principal("slack", account))
    if me is None:
        await app.ephemeral(
            channel,
            user,
            "Your Slack account is not linked to an opsgate user, so opsgate cannot tell "
            f"who you are. Link it on the People page: {og.config.public_url}/people",
        )
        return
    try:
        if kind == slack.APPROVE:
            card = await in_thread(lambda: og.control.approve(me, value, None))
        else:
            reason = f"denied by {me.name} in Slack"
            card = await in_thread(lambda: og.control.deny(me, value, reason))
    except Denied as exc:
        hint = ""
        if exc.code == "confirmation_mismatch":
            hint = f" Open {og.link(value)} and type the name there."
        await app.ephemeral(channel, user, f"opsgate refused: {exc.reason}.{hint}")
        return
    og.announce_decided(card)


async def _link(
    request: Request,
    app: SlackApp,
    payload: dict[str, Any],
    kind: str,
    code: str,
    user: str,
    account: str,
) -> None:
    og = request.app.state.og
    container = payload.get("container") or {}
    where = {"channel": container.get("channel_id"), "ts": container.get("message_ts")}
    if kind == slack.NOT_ME:
        await in_thread(lambda: og.control.cancel_link(code))
        text = "Not linked. If you did not ask for this, tell your opsgate admin."
    else:
        try:
            person = await in_thread(lambda: og.control.finish_link("slack", code, account, user))
            text = f"Linked: your clicks on opsgate cards now act as opsgate user {person.name}."
        except Denied as exc:
            text = f"Not linked: {exc.reason}."
    if where["channel"] and where["ts"]:
        try:
            await app.call("chat.update", {**where, **link_message(text, None)})
        except slack.SlackError as exc:
            log.warning("could not update the link message: %s", exc)
