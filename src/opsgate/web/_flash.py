"""Post/redirect/get with a one-time answer: what a form's POST has to say (a
notice, and at most once a new token's secret or a new password) is kept on the
server for the page it redirects to, and read exactly once.  Reloading that page,
or going back to it, shows nothing again and creates nothing again.

Kept in the shared store (any replica serves the redirect), encrypted under a key
derived from the session's secret, which only the browser holds: the database
alone reveals no secret shown this way.  Bound to the session, gone after
``FLASH_SECONDS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from opsgate.server.auth import SESSION_COOKIE, in_thread
from opsgate.web._render import control
from opsgate.web._security import page_headers

__all__ = ["FLASH_SECONDS", "redirect_with", "take_flash"]

FLASH_SECONDS = 300.0
_KIND = "flash"


def _keys(session: str) -> tuple[bytes, str]:
    key = hmac.new(session.encode("utf-8"), b"opsgate-flash-v1", hashlib.sha256).digest()
    owner = hashlib.sha256(session.encode("utf-8")).hexdigest()
    return key, owner


async def redirect_with(request: Request, path: str, **answer: Any) -> Response:
    """303 to ``path``, carrying ``answer`` (notice, error, secret, …) once."""
    session = request.cookies.get(SESSION_COOKIE, "")
    target = path
    if session and answer:
        key, owner = _keys(session)
        flash_id = secrets.token_urlsafe(12)
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key).encrypt(nonce, json.dumps(answer).encode(), flash_id.encode())
        payload = base64.b64encode(nonce + sealed).decode("ascii")
        plane = control(request)
        await in_thread(lambda: plane.keep_once(_KIND, flash_id, payload, FLASH_SECONDS, owner))
        target += ("&" if "?" in path else "?") + f"flash={flash_id}"
    return page_headers(RedirectResponse(target, status_code=303))


async def take_flash(request: Request) -> dict[str, Any]:
    """The answer the redirect carried, once; {} when there is none (any more)."""
    flash_id = request.query_params.get("flash", "")
    session = request.cookies.get(SESSION_COOKIE, "")
    if not flash_id or not session or len(flash_id) > 64:
        return {}
    key, owner = _keys(session)
    plane = control(request)
    payload = await in_thread(lambda: plane.take_once(_KIND, flash_id, owner))
    if payload is None:
        return {}
    raw = base64.b64decode(payload)
    try:
        opened = AESGCM(key).decrypt(raw[:12], raw[12:], flash_id.encode())
    except InvalidTag:
        return {}
    answer: dict[str, Any] = json.loads(opened)
    return answer
