"""A URL as it may be printed: without a password in it or values in its query.

``OPSGATE_URL=https://ops:PASSWORD@host`` or ``…/?token=…`` would otherwise reach a
terminal, a CI log or a support ticket through an error message or ``config show``.
"""

from __future__ import annotations

import urllib.parse

__all__ = ["shown_url"]

HIDDEN = "***"


def shown_url(url: str) -> str:
    """``url`` with the password of its user part and every query value masked."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return HIDDEN  # not even a URL: nothing of it is printed
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name = user.partition(":")[0]
        netloc = f"{name}:{HIDDEN}@{host}" if ":" in user else f"{HIDDEN}@{host}"
    query = "&".join(
        f"{key}={HIDDEN}" if sep else key
        for key, sep, _ in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))
