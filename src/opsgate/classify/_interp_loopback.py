"""JavaScript GETs that only read: judged like ``curl`` of the same URL.

``node -e "require('http').get('http://localhost:3000/health', r => …)"`` is a health
check against the local dev server, and ``await fetch('https://www.githubstatus.com/
api/v2/status.json')`` reads a public status page as Python's ``requests.get`` does;
``_interp_effects`` would call any use of ``fetch`` or the ``http`` module an effect
it does not model.  A GET (``http.get``, ``https.get``, ``axios.get``, a ``fetch``
with no options or only a GET ``method`` and literal ``headers``) of a literal URL —
loopback, or ``https`` on a public DNS name — is taken out of the code before that
scan, and so is the ``require`` of ``http``/``https`` when nothing else of the module
is used (``request``, ``createServer`` …); whatever else the code does is judged as
before.  Any other host (an address, an internal or metadata name), a computed URL
or a request with other options (a method, a body, a header built at run time) stays
an effect opsgate does not model.
"""

from __future__ import annotations

import re

__all__ = ["without_plain_gets"]

_URL = (
    r"""(['"`])(?:https?://(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::\d{1,5})?"""
    r"""|https://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?!(?:internal|local|localdomain|"""
    r"""lan|corp|home|intranet|localhost|svc|cluster|test|invalid)\b)[a-z]{2,24}(?::443)?)"""
    r"""(?:[/?#][^'"`$\\]*)?\1"""
)
# Options that keep a fetch a GET: literal headers, a GET/HEAD method, cache and
# redirect modes.  No body, nothing computed (``${…}``, calls, variables' values).
_OPTIONS = r"""\s*(?:,\s*(\{(?:[^{}()`$]|\{[^{}()`$]*\})*\})\s*)?"""
_GET = re.compile(
    r"""(?:\brequire\s*\(\s*['"](?:node:)?https?['"]\s*\)|\b[A-Za-z_$][\w$]*)\s*\.\s*get"""
    rf"""\s*\(\s*{_URL}\s*[,)]""",
    re.IGNORECASE,
)
_FETCH = re.compile(rf"""(?<![\w.$])fetch\s*\(\s*{_URL}{_OPTIONS}\)""", re.IGNORECASE)
_GET_OPTION = re.compile(
    r"""^\s*['"]?(?:method\s*['"]?\s*:\s*['"](?:GET|HEAD)['"]|headers\s*['"]?\s*:\s*\{(?:\s*,?\s*(?:[\w-]+|'[^']*'|"[^"]*")\s*:\s*"""
    r"""(?:'[^'$]*'|"[^"$]*"))*\s*,?\s*\}"""
    r"""|(?:cache|redirect|mode|credentials|referrerPolicy)\s*['"]?\s*:\s*['"][\w-]+['"])\s*$""",
    re.IGNORECASE,
)
_HTTP_MODULE = re.compile(r"""\brequire\s*\(\s*['"](?:node:)?https?['"]\s*\)""")
# What else the http module does: a request with options, a server, a socket.
_OTHER_USE = re.compile(r"\b(request|createServer|Server|Agent|globalAgent|ClientRequest|"
                        r"connect|listen|post|put|delete|patch)\b")  # fmt: skip

# Code that may run text it got (a sink passed by name, not called): nothing is taken out.
_RUNS_TEXT = re.compile(
    r"\b(eval|Function|vm|runIn\w*Context|Script|import\s*\(|require\s*\(\s*[^'\"\s])"
)


def without_plain_gets(code: str) -> str:
    """``code`` with its GETs of literal loopback or public URLs blanked (and the http
    module's ``require`` when those GETs are all it is used for)."""
    if "http" not in code.lower():
        return code
    if _RUNS_TEXT.search(code):
        return code  # ``.then(eval)``: what was fetched may run (``_fetched_code``)
    stripped = _FETCH.sub(_fetch_get, _GET.sub(" (", code))
    if stripped == code or _OTHER_USE.search(stripped):
        return stripped
    return _HTTP_MODULE.sub(" ", stripped)


def _fetch_get(m: re.Match[str]) -> str:
    options = m.group(2)
    if options is None or all(_GET_OPTION.match(o) for o in _entries(options[1:-1])):
        return " "
    return m.group(0)


def _entries(body: str) -> list[str]:
    """The ``key: value`` entries of an object literal's body (one nesting level)."""
    entries, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            entries.append(body[start:i])
            start = i + 1
    entries.append(body[start:])
    return [e for e in entries if e.strip()]
