"""The PostgreSQL databases opsgate can use: UTF8 ones.

On a database created with another encoding (``SQL_ASCII``, the default of an
``initdb`` run under the C locale) the driver hands back text as bytes: SQLAlchemy's
version check fails with a bare ``TypeError`` and the audit log's id becomes
``b'…'``.  Both stores ask here as soon as they connect and refuse with what to do.
"""

from __future__ import annotations

from opsgate.errors import ConfigError

__all__ = ["DatabaseEncodingError", "require_utf8"]


class DatabaseEncodingError(ConfigError):
    """The database named by ``database_url`` does not store text as UTF-8."""


def require_utf8(server_encoding: object, location: str) -> None:
    """Raise unless ``server_encoding`` (the server's ``server_encoding`` parameter,
    as the driver reports it: text or bytes) is UTF8."""
    if isinstance(server_encoding, bytes):
        server_encoding = server_encoding.decode("ascii", "replace")
    if str(server_encoding).upper().replace("-", "") in ("UTF8", "UNICODE"):
        return
    raise DatabaseEncodingError(
        f"the PostgreSQL database {location} uses the {server_encoding} encoding; "
        "opsgate needs UTF8",
        hint="create a UTF8 database (CREATE DATABASE opsgate ENCODING 'UTF8' TEMPLATE "
        "template0, or a cluster made with initdb -E UTF8) and point database_url "
        "(OPSGATE_DATABASE_URL) at it",
    )
