"""The server's logs: uvicorn's text lines (the default), or one JSON object per
line (``serve --log-format json``, ``OPSGATE_LOG_FORMAT=json``) for a log pipeline.

A JSON line has ``time`` (RFC 3339, UTC), ``level``, ``logger``, ``message`` and,
while a request is served, its ``request_id`` (the trace id ``X-Request-Id`` names,
``server._requests``) and, when the caller chose that id, ``audit_request``
(opsgate's own id for the request, the audit entries' ``request``); an access
line adds ``http`` (method, path, status, duration_ms, client); a failure adds
``error`` (the traceback).  Messages are the same as in text; opsgate never logs a
secret, a password or a file's contents.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal

from opsgate.audit._request import CALLER_REQUEST_ID, REQUEST_ID

__all__ = ["FORMATS", "JsonFormatter", "LogFormat", "configure_json_logging"]

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")
_LOGGERS = ("opsgate", "uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _rfc3339(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        own, caller = REQUEST_ID.get(), CALLER_REQUEST_ID.get()
        request_id = getattr(record, "request_id", None) or caller or own
        if request_id:
            out["request_id"] = request_id
        if caller and own:  # the caller chose the trace id: opsgate's own, for the audit
            out["audit_request"] = own
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            out["http"] = http
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _rfc3339(epoch: float) -> str:
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}Z"


def configure_json_logging(level: str) -> None:
    """One JSON handler on stderr for opsgate's and uvicorn's loggers, at ``level``
    (uvicorn is then started with ``log_config=None`` so it keeps this)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler] if name in ("opsgate", "uvicorn") else []
        logger.propagate = name not in ("opsgate", "uvicorn")
        logger.setLevel(level.upper())
