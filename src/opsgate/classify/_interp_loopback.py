"""JavaScript that only GETs from this machine: judged like ``curl http://localhost:3000``.

``node -e "require('http').get('http://localhost:3000/health', r => …)"`` is a health
check against the local dev server; ``_interp_effects`` would call any use of the
``http`` module an effect it does not model.  A GET (``http.get``, ``https.get``, a
``fetch`` with no options) of a literal loopback URL is taken out of the code before
that scan, and so is the ``require`` of ``http``/``https`` when nothing else of the
module is used (``request``, ``createServer`` …); whatever else the code does is
judged as before.  Any other host, a computed URL or a request with options (a
method, a body) stays an effect opsgate does not model.
"""

from __future__ import annotations

import re

__all__ = ["without_loopback_gets"]

_LOOPBACK_URL = (
    r"""(['"`])https?://(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::\d{1,5})?"""
    r"""(?:[/?#][^'"`$\\]*)?\1"""
)
_GET = re.compile(
    r"""(?:\brequire\s*\(\s*['"](?:node:)?https?['"]\s*\)|\b[A-Za-z_$][\w$]*)\s*\.\s*get"""
    rf"""\s*\(\s*{_LOOPBACK_URL}\s*[,)]"""
)
_FETCH = re.compile(rf"""(?<![\w.$])fetch\s*\(\s*{_LOOPBACK_URL}\s*\)""")
_HTTP_MODULE = re.compile(r"""\brequire\s*\(\s*['"](?:node:)?https?['"]\s*\)""")
# What else the http module does: a request with options, a server, a socket.
_OTHER_USE = re.compile(r"\b(request|createServer|Server|Agent|globalAgent|ClientRequest|"
                        r"connect|listen|post|put|delete|patch)\b")  # fmt: skip

# Code that may run text it got (a sink passed by name, not called): nothing is taken out.
_RUNS_TEXT = re.compile(
    r"\b(eval|Function|vm|runIn\w*Context|Script|import|require\s*\(\s*[^'\"\s])"
)


def without_loopback_gets(code: str) -> str:
    """``code`` with its GETs of literal loopback URLs blanked (and the http module's
    ``require`` when those GETs are all it is used for)."""
    if "localhost" not in code and "127." not in code and "[::1]" not in code:
        return code
    if _RUNS_TEXT.search(code):
        return code  # ``.then(eval)``: what was fetched may run (``_fetched_code``)
    stripped = _FETCH.sub(" ", _GET.sub(" (", code))
    if stripped == code or _OTHER_USE.search(stripped):
        return stripped
    return _HTTP_MODULE.sub(" ", stripped)
