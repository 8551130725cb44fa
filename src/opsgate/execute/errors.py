"""Errors of the executor, on the one opsgate base (each says what to do)."""

from __future__ import annotations

from opsgate.errors import EXIT_BAD_POLICY, EXIT_FAILED, EXIT_USAGE, InputError, OpsgateError

__all__ = [
    "CatalogError",
    "ExecutionError",
    "InvalidHelper",
    "InvalidParams",
    "SecretError",
    "UnknownOperation",
]


class CatalogError(OpsgateError):
    """An operation file that cannot be loaded; the message names file and entry."""

    code = "bad_catalog"
    exit_code = EXIT_BAD_POLICY


class UnknownOperation(InputError):
    code = "unknown_operation"


class InvalidParams(InputError):
    """Parameters that do not validate; nothing was proposed or run."""

    code = "invalid_params"


class SecretError(OpsgateError):
    """A secret that is missing, undecryptable, or a credential given as a raw value.

    ``secret``: the name of the secret the error is about; the message then reads
    "secret 'NAME': DETAIL".  Kept apart so that what shows the error can redact the
    detail without reading "secret 'api_token': the helper …" as a key and its value
    (a name is never a value)."""

    code = "secret_error"
    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None, secret: str | None = None):
        self.secret = secret
        self.detail = message
        super().__init__(f"secret {secret!r}: {message}" if secret is not None else message,
                         hint=hint)  # fmt: skip


class InvalidHelper(InputError):
    """A credential-helper command an owner gave that opsgate will not store."""

    code = "invalid_helper"


class ExecutionError(OpsgateError):
    """An operation cannot run (no runner for the target, local runner off, …)."""

    code = "execution_error"
    exit_code = EXIT_FAILED
