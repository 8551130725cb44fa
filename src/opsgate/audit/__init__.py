"""The audit trail: hash-chained, signed, fail-closed, queryable (SPEC §8).

Pure parts: ``chain`` (canonical bytes, domain-separated hashes), ``verify``,
``redact``.  Stores: ``store_sqlite`` (default), ``store_postgres``.  Entry point:

    log = open_log()
    entry = log.append(EventType.DECISION_MADE, actor=..., decision="deny", ...)
"""

from __future__ import annotations

from opsgate.audit.errors import AuditConfigError, AuditIntegrityError, AuditWriteError
from opsgate.audit.events import Entry, EventType
from opsgate.audit.log import AuditLog, open_log

__all__ = [
    "AuditConfigError",
    "AuditIntegrityError",
    "AuditLog",
    "AuditWriteError",
    "Entry",
    "EventType",
    "open_log",
]
