"""The HTTP runner (httpx): a request to a site target.

The base URL is the target's ``url`` setting; a ``token`` credential (a
``secret:NAME``) is sent as ``Authorization: Bearer``.  Redirects are not
followed (a redirect to another host would carry the credential with it), the
environment's proxies and netrc are ignored, and TLS is verified.  Exit status 0
when the response status is in ``ok_status`` (default: 2xx and 3xx), else 1.

The body is streamed and only its first ``MAX_BODY`` characters are read (a site
answering with an endless or huge body costs no memory), and the step's timeout
bounds the whole exchange, not each read (a site dripping a byte at a time is cut
off like a silent one).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from opsgate.execute.runner import Endpoint, Sink, Step, StepResult

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpRunner"]

MAX_BODY = 16 * 1024


class HttpRunner:
    name = "http"

    async def run(self, endpoint: Endpoint, step: Step, sink: Sink) -> StepResult:
        import httpx

        started = time.monotonic()
        base = endpoint.setting("url")
        if not base:
            return StepResult(None, 0.0, f"target {endpoint.name} has no url connection setting")
        headers = dict(step.headers)
        token = endpoint.credentials.get("token")
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        try:
            async with (
                asyncio.timeout(step.timeout),
                httpx.AsyncClient(
                    base_url=base, timeout=step.timeout, follow_redirects=False, trust_env=False
                ) as client,
                client.stream(
                    step.method, step.path, headers=headers, content=step.body
                ) as response,
            ):
                body = await _first_chars(response, MAX_BODY)
        except httpx.HTTPError as exc:
            return StepResult(None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        except TimeoutError:
            elapsed = time.monotonic() - started
            return StepResult(None, elapsed, f"Timeout: no whole answer within {step.timeout:g} s")
        ok = (
            response.status_code in step.ok_status
            if step.ok_status
            else 200 <= response.status_code < 400
        )
        sink(f"HTTP {response.status_code} {response.reason_phrase}\n")
        sink(body)
        return StepResult(0 if ok else 1, time.monotonic() - started)


async def _first_chars(response: httpx.Response, limit: int) -> str:
    """The body's first ``limit`` characters, decoded as ``response.text`` would be;
    the rest is never read."""
    parts: list[str] = []
    size = 0
    async for text in response.aiter_text():
        parts.append(text)
        size += len(text)
        if size >= limit:
            break
    return "".join(parts)[:limit]
