"""The console's browser security: session cookie, CSRF tokens, response headers.

* The session is the API's: the same HttpOnly, SameSite=Strict cookie (Secure
  unless ``AppConfig.cookie_secure`` is off for plain-http loopback).
* CSRF: every form POST carries a token the server checks.  Logged in, the token
  is derived from the session secret (a keyed hash: stateless, so any replica
  checks it, and it reveals nothing of the secret).  Before login, a random token
  in its own cookie is double-submitted.
* Every page goes out with a strict Content-Security-Policy: scripts and styles
  only from our own origin, no inline script, no framing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TypeVar
from urllib.parse import parse_qs

from fastapi import Request, Response

from opsgate.server.auth import SESSION_COOKIE

R = TypeVar("R", bound=Response)

__all__ = [
    "LOGIN_COOKIE",
    "BadForm",
    "csrf_token",
    "page_headers",
    "read_form",
    "safe_next",
    "set_cookie",
]

LOGIN_COOKIE = "opsgate_login_csrf"
MAX_FORM = 64 * 1024

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class BadForm(Exception):
    """A POST the console refuses before doing anything (403 or 400)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def page_headers(response: R) -> R:
    response.headers.update(HEADERS)
    return response


def csrf_token(session_secret: str) -> str:
    return hmac.new(b"opsgate-csrf-v1", session_secret.encode("utf-8"), hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        path="/",
        secure=request.app.state.og.config.cookie_secure,
    )


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form, one value per field (the last wins); nothing else."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadForm("forms are sent as application/x-www-form-urlencoded", 415)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise BadForm("the form is too large", 413)
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm("the form could not be read", 400) from exc
    return {k: v[-1] for k, v in parsed.items()}


def check_csrf(request: Request, form: dict[str, str]) -> None:
    """Logged-in forms: the token derived from this request's session cookie."""
    session = request.cookies.get(SESSION_COOKIE, "")
    sent = form.get("csrf", "")
    if not session or not sent or not hmac.compare_digest(sent, csrf_token(session)):
        raise BadForm("the form's security token is missing or wrong; reload the page and retry")


def check_login_csrf(request: Request, form: dict[str, str]) -> None:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf", "")
    if not cookie or not sent or not hmac.compare_digest(sent, cookie):
        raise BadForm("the login form expired; reload the page and retry")


def safe_next(value: str | None, default: str = "/inbox") -> str:
    """Only a path on this site (no scheme, no //host, no backslash tricks)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
