"""A small JSON client for the control plane's HTTP API (``/api/v1``), on the standard
library, so the administrative commands reach a server from a core install.

Errors come back as opsgate errors by the API's envelope (``{"error": {"code",
"message"}}``): 401/403/409 and other refusals are ``Refused`` (exit 4), 400/404/422
bad input (exit 2), 5xx and no answer ``Unreachable`` (exit 12)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from opsgate._urls import shown_url
from opsgate.errors import InputError, OpsgateError, Unreachable

__all__ = ["Client", "Credential", "check_url"]

TIMEOUT = 30.0
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class Credential:
    """How a request proves who it is: an API token (Bearer) or a person's session."""

    kind: str  # "token" | "session"
    secret: str
    source: str  # for messages: "--token", "OPSGATE_TOKEN", "the session of opsgate login"

    def __repr__(self) -> str:  # never show the secret
        return f"Credential({self.kind}, from {self.source})"

    def headers(self) -> dict[str, str]:
        if self.kind == "token":
            return {"Authorization": f"Bearer {self.secret}"}
        return {"Cookie": f"opsgate_session={self.secret}"}


def check_url(url: str) -> str:
    """``url`` without a trailing slash; credentials never go in clear text off this
    machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"the control plane's URL must be http(s)://HOST[:PORT], not {shown_url(url)!r}"
        )
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise InputError(
            f"{shown_url(url)} would send your credentials in clear text",
            hint="use https:// (plain http only to this machine: localhost, 127.0.0.1, ::1)",
        )
    return url.rstrip("/")


class Client:
    def __init__(self, url: str, credential: Credential | None = None) -> None:
        self.url = check_url(url)
        self.credential = credential
        self.refusal_hint: str | None = None  # added to a refusal (who was acting)

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, query=query)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        """The decoded JSON answer (None for 204); ``raw``: (status, headers, body)."""
        url = f"{self.url}/api/v1{path}"
        clean = {k: v for k, v in (query or {}).items() if v is not None}
        if clean:
            url += "?" + urllib.parse.urlencode(clean, doseq=True)
        headers = {"Accept": "application/json"}
        if self.credential is not None:
            headers.update(self.credential.headers())
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        # check_url admitted http(s) only
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with _opener().open(request, timeout=TIMEOUT) as response:
                payload = response.read()
                if raw:
                    return response.status, response.headers, payload
        except urllib.error.HTTPError as exc:
            raise self._error(exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(
                f"cannot reach the control plane at {shown_url(self.url)}: {reason}",
                hint="check the URL (--url, OPSGATE_URL, `url` in the config file) and that "
                "`opsgate serve` runs there; --data-dir works on a local data directory",
            ) from None
        return json.loads(payload) if payload else None

    def _error(self, status: int, body: bytes) -> OpsgateError:
        from opsgate.cli.users import Refused

        code, message = _envelope(body)
        if status >= 500:
            return Unreachable(f"the control plane at {self.url} failed ({status}): {message}")
        if status == 401:
            who = self.credential.source if self.credential else "no credentials"
            return Refused(f"not logged in ({who}): {message}",
                           hint="opsgate login, or pass --user NAME / --token")  # fmt: skip
        if status in (400, 404, 413, 422):
            return InputError(f"{message} ({code})")
        return Refused(message, hint=self.refusal_hint)


def _envelope(body: bytes) -> tuple[str, str]:
    try:
        error = json.loads(body).get("error") or {}
        return str(error.get("code") or "error"), str(error.get("message") or "")
    except (ValueError, AttributeError):
        return "error", body[:200].decode("utf-8", "replace")


def _opener() -> urllib.request.OpenerDirector:
    # No redirects: a 30x to another host would carry the credential there.
    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(_NoRedirect)
