"""Audit errors.  Each is an :class:`~opsgate.errors.OpsgateError`, so the CLI's
``main`` turns it into a message, a hint and an exit code."""

from __future__ import annotations

from opsgate.errors import (
    EXIT_AUDIT_TAMPERED,
    EXIT_AUDIT_UNAVAILABLE,
    EXIT_BAD_CONFIG,
    OpsgateError,
)

__all__ = ["AuditConfigError", "AuditIntegrityError", "AuditWriteError"]


class AuditWriteError(OpsgateError):
    """An entry could not be made durable.  Callers must fail closed (deny)."""

    code = "audit_unavailable"
    exit_code = EXIT_AUDIT_UNAVAILABLE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"the audit trail is unavailable: {message}",
            hint=hint
            or "check that the data directory (--data-dir / OPSGATE_HOME) or the database "
            "(OPSGATE_DATABASE_URL) is writable and has free space; until then every "
            "decision is deny",
        )


class AuditIntegrityError(OpsgateError):
    """Verification found tampering; the message names the sequence and the kind."""

    code = "audit_tampered"
    exit_code = EXIT_AUDIT_TAMPERED


class AuditConfigError(OpsgateError):
    """A key, witness or store reference that cannot be used."""

    code = "audit_config"
    exit_code = EXIT_BAD_CONFIG
