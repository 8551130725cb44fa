"""``opsgate audit`` through a control plane's HTTP API (``GET /api/v1/audit``,
``/audit/verify``), as the person logged in: the same selection as locally (the
filters are applied here, on the same fields), and an export whose lines are the
same canonical bytes a local export writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["remote_export", "remote_list", "remote_verify"]

PAGE = 500  # the API's largest page
Match = Callable[[dict[str, Any]], bool]


def _pages(url: str, **query: Any) -> Iterator[dict[str, Any]]:
    from opsgate.cli._acting import remote_client
    from opsgate.config import current

    with remote_client(current(), url) as client:
        cursor_key = "after" if "after" in query else "cursor"
        while True:
            page = client.get("/audit", limit=PAGE, **query)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query[cursor_key] = page["next_cursor"]


def remote_list(url: str, match: Match, last: int | None) -> list[dict[str, Any]]:
    """The matching entries, oldest first (with ``last``, only that many newest)."""
    found: list[dict[str, Any]] = []
    for item in _pages(url):  # newest first
        if last is not None and len(found) >= last:
            break
        if match(item):
            found.append(item)
    return found[::-1]


def remote_export(url: str, match: Match, after: int) -> Iterator[bytes]:
    """Each matching entry after ``after``, oldest first, as the canonical bytes the
    chain hashed (the API adds only its ``hash``)."""
    import rfc8785

    for item in _pages(url, after=after):
        if match(item):
            yield rfc8785.dumps({k: v for k, v in item.items() if k != "hash"})


def remote_verify(url: str) -> dict[str, Any]:
    """The server's own verification of the chain (trusting the server's key and its
    ``audit.trusted_keys``)."""
    import sys

    from opsgate.cli._acting import remote_client
    from opsgate.config import current

    with remote_client(current(), url) as client:
        report: dict[str, Any] = client.get("/audit/verify")
    print(
        f"note: verified by the control plane at {url} with its own keys; for an independent "
        "check, verify a backup (opsgate audit backup) with --db and --key",
        file=sys.stderr,
    )
    return report
