"""SQL keyword tables and the finding helpers the SQL modules share."""

from __future__ import annotations

import re
from collections.abc import Callable

from opsgate.models import Effect, Finding, Impact

__all__ = [
    "_C",
    "_D",
    "_FUNC_PREFIX_RULES",
    "_FUNC_RULES",
    "_KEYWORDS",
    "_R",
    "_READ_FUNCS",
    "_READ_FUNC_PREFIXES",
    "_S",
    "_U",
    "_W",
    "ShellFn",
    "_clip",
    "_unknown",
    "_without_strings",
    "_words",
    "finding",
]

_R, _W, _U, _D = Effect.READ, Effect.WRITE, Effect.UNKNOWN, Impact.DESTRUCTIVE


_S, _C = Impact.SAFE, Impact.CAUTION


# Leading keyword → (category, impact, effect, reason) for statements sqlglot
# leaves opaque.  Reads here are only keywords whose whole grammar cannot change
# data; everything absent is unknown.
def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_KEYWORDS: dict[str, tuple[str, Impact, Effect, str]] = {
    "SHOW": ("database.read", _S, _R, "shows a setting or status"),
    "DESCRIBE": ("database.read", _S, _R, "describes an object"),
    "DESC": ("database.read", _S, _R, "describes an object"),
    "USE": ("database.read", _S, _R, "switches the current database"),
    "HELP": ("database.read", _S, _R, "shows help"),
    "BEGIN": ("database.transaction", _S, _R, "starts a transaction"),
    "START": ("database.transaction", _S, _R, "starts a transaction"),
    "COMMIT": ("database.transaction", _S, _R, "commits the transaction"),
    "END": ("database.transaction", _S, _R, "commits the transaction"),
    "ROLLBACK": ("database.transaction", _S, _R, "rolls the transaction back"),
    "ABORT": ("database.transaction", _S, _R, "rolls the transaction back"),
    "SAVEPOINT": ("database.transaction", _S, _R, "sets a savepoint"),
    "RELEASE": ("database.transaction", _S, _R, "releases a savepoint"),
    # Session-only state: gone when the connection closes.
    "RESET": ("database.session", _S, _R, "resets a session setting"),
    "DISCARD": ("database.session", _S, _R, "discards session state"),
    "DEALLOCATE": ("database.session", _S, _R, "frees a prepared statement"),
    "LISTEN": ("database.session", _S, _R, "listens on a channel"),
    "UNLISTEN": ("database.session", _S, _R, "stops listening on a channel"),
    "SET": ("database.session", _S, _R, "sets a session option"),
    "DROP": ("database.drop", _D, _W, "drops a database object"),
    "TRUNCATE": ("database.truncate", _D, _W, "empties a table"),
    "CREATE": ("database.ddl", _C, _W, "creates a database object"),
    "ALTER": ("database.ddl", _C, _W, "changes a database object or setting"),
    "RENAME": ("database.ddl", _C, _W, "renames a table"),
    "COMMENT": ("database.ddl", _C, _W, "changes an object's comment"),
    "SECURITY": ("database.ddl", _C, _W, "changes a security label"),
    "IMPORT": ("database.ddl", _C, _W, "imports a foreign schema"),
    "REASSIGN": ("database.grant", _C, _W, "reassigns object ownership"),
    "GRANT": ("database.grant", _C, _W, "grants privileges"),
    "REVOKE": ("database.grant", _C, _W, "revokes privileges"),
    "INSERT": ("database.write", _C, _W, "inserts rows"),
    "REPLACE": ("database.write", _C, _W, "replaces rows"),
    "UPDATE": ("database.write", _C, _W, "updates rows"),
    "DELETE": ("database.write", _C, _W, "deletes rows"),
    "MERGE": ("database.write", _C, _W, "merges rows"),
    "UPSERT": ("database.write", _C, _W, "upserts rows"),
    "COPY": ("database.write", _C, _W, "copies data in or out of the server"),
    "NOTIFY": ("database.write", _C, _W, "sends a notification to listeners"),
    "VACUUM": ("database.maintenance", _C, _W, "vacuums (VACUUM FULL rewrites under a lock)"),
    "ANALYZE": ("database.maintenance", _C, _W, "recomputes planner statistics"),
    "REINDEX": ("database.maintenance", _C, _W, "rebuilds indexes under a lock"),
    "CLUSTER": ("database.maintenance", _C, _W, "rewrites a table under a lock"),
    "REFRESH": ("database.maintenance", _C, _W, "refreshes a materialized view"),
    "CHECKPOINT": ("database.maintenance", _C, _W, "forces a checkpoint"),
    "OPTIMIZE": ("database.maintenance", _C, _W, "rebuilds a table"),
    "REPAIR": ("database.maintenance", _C, _W, "repairs a table"),
    "FLUSH": ("database.maintenance", _C, _W, "flushes server caches or logs"),
    "LOCK": ("database.maintenance", _C, _W, "locks tables against other sessions"),
    "KILL": ("database.admin", _C, _W, "kills a server session"),
    "LOAD": ("database.write", _C, _U, "loads data or a server extension"),
    # Code whose body opsgate does not model: procedures, anonymous blocks,
    # prepared statements executed by name.
    "DO": ("database.procedure", _C, _U, "runs an anonymous code block"),
    "CALL": ("database.procedure", _C, _U, "calls a stored procedure"),
    "EXEC": ("database.procedure", _C, _U, "executes a stored procedure"),
    "EXECUTE": ("database.procedure", _C, _U, "executes a prepared statement or procedure"),
    "PREPARE": ("database.procedure", _C, _U, "prepares a statement to run later"),
}


# Functions whose call changes state even inside a SELECT.
_FUNC_RULES: dict[str, tuple[str, Impact, Effect, str]] = {
    "pg_terminate_backend": ("database.admin", _C, _W, "terminates server sessions"),
    "pg_cancel_backend": ("database.admin", _C, _W, "cancels running queries"),
    "pg_reload_conf": ("database.admin", _C, _W, "reloads the server configuration"),
    "pg_rotate_logfile": ("database.admin", _C, _W, "rotates the server log"),
    "pg_switch_wal": ("database.admin", _C, _W, "switches the WAL file"),
    "pg_promote": ("database.admin", _C, _W, "promotes a standby to primary"),
    "pg_create_restore_point": ("database.admin", _C, _W, "creates a restore point"),
    "pg_notify": ("database.write", _C, _W, "sends a notification to listeners"),
    "setval": ("database.write", _C, _W, "resets a sequence"),
    "nextval": ("database.write", _C, _W, "advances a sequence"),
    "lo_import": ("database.write", _C, _W, "imports a server file as a large object"),
    "lo_export": ("database.write", _C, _W, "writes a large object to a server file"),
    "lo_unlink": ("database.delete", _D, _W, "deletes a large object"),
    "pg_drop_replication_slot": ("database.drop", _D, _W, "drops a replication slot"),
    "pg_replication_origin_drop": ("database.drop", _D, _W, "drops a replication origin"),
    "pg_file_unlink": ("database.delete", _D, _W, "deletes a file on the server"),
    "pg_file_write": ("database.write", _C, _W, "writes a file on the server"),
    # Run SQL or read files that the statement text does not show.
    "dblink": ("database.unknown", _C, _U, "runs a query on another server"),
    "dblink_exec": ("database.unknown", _C, _U, "runs a statement on another server"),
    "query_to_xml": ("database.unknown", _C, _U, "runs a query given as a string"),
    "pg_read_file": ("database.server_file", _C, _U, "reads a file on the database server"),
    "pg_read_binary_file": ("database.server_file", _C, _U, "reads a file on the server"),
    "pg_ls_dir": ("database.server_file", _C, _U, "lists a directory on the server"),
    "load_file": ("database.server_file", _C, _U, "reads a file on the database server"),
    "sys_exec": ("database.unknown", _C, _U, "runs a shell command on the server"),
    "sys_eval": ("database.unknown", _C, _U, "runs a shell command on the server"),
    "openrowset": ("database.unknown", _C, _U, "reads from another data source"),
    "openquery": ("database.unknown", _C, _U, "runs a query on a linked server"),
    "opendatasource": ("database.unknown", _C, _U, "reads from another data source"),
}


_FUNC_PREFIX_RULES: tuple[tuple[str, str], ...] = (
    ("pg_stat_reset", "pg_terminate_backend"),
    ("pg_create_", "pg_create_restore_point"),
    ("pg_wal_replay_", "pg_promote"),
    ("pg_replication_origin_", "pg_create_restore_point"),
)


# Built-ins sqlglot leaves untyped that only compute or read.  A function
# outside this list may be user-defined code that writes: unknown.
_READ_FUNC_PREFIXES = _words(
    "pg_ current_ has_ json array_ string_ regexp_ to from_ format quote_ obj_ col_ "
    "txid_ age inet_ date time str unix_ last_insert found_rows connection_id now "
    "user db_ object_ schema_ serverproperty databaseproperty sqlite_ changes "
    "julianday printf total sleep uniq count sum avg quantile version database uuid "
    "gen_random random is any arg group if"
)
# Whole names of such built-ins the prefixes above do not reach: MySQL/MariaDB date,
# string and number functions, PostgreSQL constructors and pgcrypto's pure functions,
# ClickHouse's and SQLite's.
_READ_FUNCS = frozenset(
    _words(
        "yearweek week weekofyear weekday dayofweek dayofmonth dayofyear dayname monthname "
        "makedate maketime make_date make_time make_timestamp make_timestamptz make_interval "
        "period_add period_diff sec_to_time convert_tz curdate curtime sysdate utc_date "
        "utc_time utc_timestamp microsecond localtime localtimestamp isoyearweek "
        "field elt octet_length char_length character_length bit_length crc32 ord btrim bin oct "
        "conv soundex inet6_ntoa inet6_aton is_ipv4 is_ipv6 hex unhex md5 sha1 sha2 "
        "digest hmac crypt gen_salt likelihood likely unlikely iif ifnull nvl coalesce nullif "
        "greatest least arrayjoin"
    )
)


_SECRET_LITERAL = re.compile(r"(PASSWORD|IDENTIFIED\s+BY|SECRET)(\s*=?\s*)'[^']*'", re.I)


def _unknown(evidence: str, reason: str) -> Finding:
    return finding("database.unknown", _C, _U, evidence, reason)


def _clip(stmt: str) -> str:
    stmt = _SECRET_LITERAL.sub(r"\1\2'***'", " ".join(stmt.split()))
    return stmt if len(stmt) <= 200 else stmt[:197] + "..."


def _without_strings(stmt: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", stmt)


ShellFn = Callable[[str], list[Finding]]


def finding(category: str, impact: Impact, effect: Effect, evidence: str, reason: str) -> Finding:
    return Finding(
        category=category, impact=impact, effect=effect, evidence=evidence, reason=reason
    )
