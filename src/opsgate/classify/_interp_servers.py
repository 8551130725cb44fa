"""Node's own web server on a TCP port: local work, as ``python3 -m http.server`` is.

``const http = require('http'); http.createServer(handler).listen(3000)`` is the
project's dev server; ``_interp_effects`` would call the ``http`` module an effect it
does not model.  When the module is used for nothing but ``createServer`` and every
``listen`` takes a literal port number, its ``require`` (or ``import``) is taken out
of the code before that scan: the handler's own calls are still read.  A server on a
Unix socket (a path, ``{ path: … }``, a port held in a variable, which Node takes as
a pipe name when it is not a number) may stand in for opsgate's own decision
service, and a request of any kind (``request``, ``get``, ``Agent``, ``connect``) is
an effect opsgate does not model: either keeps the module as it was.
"""

from __future__ import annotations

import re

__all__ = ["without_tcp_http_servers"]

_HTTP_MODULE = re.compile(
    r"""\brequire\s*\(\s*['"](?:node:)?https?['"]\s*\)"""
    r"""|\bimport\s+(?:\*\s+as\s+)?[\w$]+\s+from\s+['"](?:node:)?https?['"]"""
    r"""|\bimport\s*\{\s*createServer\s*\}\s*from\s+['"](?:node:)?https?['"]"""
)
_LISTEN = re.compile(r"\.\s*listen\s*\(")
_TCP_LISTEN = re.compile(r"\.\s*listen\s*\(\s*\d{1,5}\s*[,)]")
# Anything of the module but a server, and any option that names a socket path.
_OTHER_USE = re.compile(
    r"\b(request|get|Agent|globalAgent|ClientRequest|connect|post|put|delete|patch|"
    r"unix|socketPath)\b|\bpath\b\s*['\"]?\s*:"
)


def without_tcp_http_servers(code: str) -> str:
    """``code`` with the ``http`` module's ``require`` blanked when it only serves on
    literal TCP ports; otherwise ``code`` as it was."""
    if "createServer" not in code or _HTTP_MODULE.search(code) is None:
        return code
    listens = len(_LISTEN.findall(code))
    if listens == 0 or listens != len(_TCP_LISTEN.findall(code)):
        return code
    if _OTHER_USE.search(_HTTP_MODULE.sub(" ", code)):
        return code
    return _HTTP_MODULE.sub(" ", code)
