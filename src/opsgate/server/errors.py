"""The API's one error envelope: ``{"error": {"code", "message", "details"}}``.

Every failure leaves through here, whatever raised it: our own ``ApiError``
subclasses (the status lives on the class), the service's ``Denied`` (status and
code on the instance), FastAPI's validation errors, Starlette's routing errors
(unknown route, wrong method) and anything unexpected (500: logged here, never
shown — no stack trace, no exception text, no secrets reach the client).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsgate.approvals.model import Denied
from opsgate.errors import InputError, OpsgateError

__all__ = [
    "ApiError",
    "Conflict",
    "ErrorBody",
    "ErrorEnvelope",
    "Forbidden",
    "Invalid",
    "NotFound",
    "TooManyRequests",
    "Unauthenticated",
    "envelope",
    "install_error_handlers",
]

log = logging.getLogger("opsgate.server")


class ApiError(Exception):
    """Base of the errors the API raises itself; subclasses set the status."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class Invalid(ApiError):
    status = 422
    code = "invalid_request"


class Unauthenticated(ApiError):
    status = 401
    code = "unauthenticated"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class TooManyRequests(ApiError):
    """Refused before any work (a throttled login); ``retry_after`` in seconds."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The shape of every error response (documented on every route)."""

    error: ErrorBody


# Documented on every route so clients (and schemathesis) know the shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in (
        (400, "Bad request"),
        (401, "Not authenticated"),
        (403, "Forbidden by a role rule or safeguard"),
        (404, "Not found"),
        (409, "Conflict with the current state"),
        (413, "Request body larger than the server's limit (server.max_body)"),
        (422, "Invalid request"),
        (429, "Too many requests: retry after the Retry-After header's seconds"),
        (500, "Internal error"),
        (503, "Temporarily unavailable"),
    )
}

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is not echoed back: it may be a password or a token.
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return envelope(exc.status, exc.code, exc.message, exc.details, headers)


async def _denied(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Denied)
    status = exc.status if 400 <= exc.status < 600 else 403
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return envelope(status, exc.code, exc.reason, None, headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return envelope(422, "invalid_request", "the request is not valid", _validation_details(exc))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = {404: "no such route", 405: "method not allowed"}.get(
        exc.status_code, str(exc.detail)
    )
    return envelope(exc.status_code, code, message, None, dict(exc.headers or {}) or None)


async def _opsgate(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpsgateError)
    if isinstance(exc, InputError):
        return envelope(422, exc.code, exc.message, {"hint": exc.hint} if exc.hint else None)
    metrics = getattr(getattr(request.app.state, "og", None), "metrics", None)
    if metrics is not None:
        metrics.failed(exc)
    # A store or audit failure: say which kind, not the driver's text (it may hold a DSN).
    log.error("opsgate error while serving a request: %s (%s)", exc.code, type(exc).__name__)
    return envelope(
        503,
        exc.code,
        "the service cannot complete this request right now",
        {"hint": exc.hint} if exc.hint else None,
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error while serving a request", exc_info=exc)
    return envelope(500, "internal_error", "internal error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(Denied, _denied)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(OpsgateError, _opsgate)
    app.add_exception_handler(Exception, _unexpected)
