"""SQL classification: what a batch of statements would do to a database.

Text is first split by a small scanner that knows quotes, dollar quotes and
comments (so ``DROP`` inside a literal or a comment is data) and pulls out client
meta-commands (psql ``\\d``, sqlite ``.tables``, sqlcmd ``:r``).  Each statement is
then typed with sqlglot.  A parser is not a security boundary: anything sqlglot
cannot type — parse errors, its opaque ``Command`` fallback, nonsense parses such
as ``LISTEN x`` → ``Alias`` — is judged by its leading keyword from a table, and a
keyword not in the table is ``unknown``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["classify_sql"]

_MAX_TEXT = 200_000  # beyond this, parsing could blow the hook's time budget
_MAX_STATEMENTS = 500

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

_EXPLAIN = re.compile(
    r"^EXPLAIN\s*(?:\((?P<opts>[^)]*)\)|(?P<words>(?:(?:ANALY[SZ]E|VERBOSE|EXTENDED|"
    r"PARTITIONS|FORMAT\s*=?\s*\w+|QUERY\s+PLAN)\s+)*))",
    re.IGNORECASE,
)
_SECRET_LITERAL = re.compile(r"(PASSWORD|IDENTIFIED\s+BY|SECRET)(\s*=?\s*)'[^']*'", re.I)
_FIRST_WORD = re.compile(r"\s*([A-Za-z_]+)")


def classify_sql(
    text: str,
    *,
    dialect: str | None = None,
    evidence_prefix: str = "",
    shell_escape: ShellFn | None = None,
) -> list[Finding]:
    """Findings for every statement and client meta-command in ``text``.

    ``dialect`` is a sqlglot dialect (postgres, mysql, sqlite, tsql, clickhouse);
    None tries the scanner's postgres and mysql quoting rules when they could
    disagree.  ``shell_escape`` classifies shell escapes (psql ``\\!``); without it they
    are unknown.
    """
    if len(text) > _MAX_TEXT:
        return [_unknown(evidence_prefix + text[:200], "SQL text too large to classify")]
    dialects = [dialect] if dialect or "\\" not in text else ["postgres", "mysql"]
    findings: list[Finding] = []
    for scan_dialect in dialects:
        for piece in _split(text, scan_dialect)[:_MAX_STATEMENTS]:
            if piece.meta:
                found = _classify_meta(piece.text, scan_dialect, shell_escape)
            else:
                found = _classify_statement(piece.text, scan_dialect)
            findings.extend(_prefixed(found, evidence_prefix))
    return list(dict.fromkeys(findings))


def _prefixed(findings: list[Finding], prefix: str) -> list[Finding]:
    if not prefix:
        return findings
    return [replace(f, evidence=prefix + f.evidence) for f in findings]


def _unknown(evidence: str, reason: str) -> Finding:
    return finding("database.unknown", _C, _U, evidence, reason)


def _clip(stmt: str) -> str:
    stmt = _SECRET_LITERAL.sub(r"\1\2'***'", " ".join(stmt.split()))
    return stmt if len(stmt) <= 200 else stmt[:197] + "..."


def _classify_statement(stmt: str, dialect: str | None) -> list[Finding]:
    """One statement (no trailing ``;``, comments already removed)."""
    evidence = _clip(stmt)
    m = _FIRST_WORD.match(stmt)
    keyword = m.group(1).upper() if m else ""
    if keyword == "EXPLAIN":
        return _classify_explain(stmt, dialect, evidence)
    import sqlglot  # lazy: 85 ms to import, and most commands carry no SQL
    from sqlglot.errors import SqlglotError

    # sqlglot logs a warning for every opaque ``Command`` fallback; a hook's
    # stderr is shown to the agent, and we report those statements ourselves.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)

    try:
        node = sqlglot.parse_one(stmt, read=dialect)
    except SqlglotError:
        node = None
    except RecursionError:
        return [_unknown(evidence, "statement too deeply nested to classify")]
    typed = _typed_rule(node) if node is not None else None
    if typed is not None and node is not None:
        return typed(node, evidence, stmt)
    return _by_keyword(keyword, stmt, evidence, parsed=node is not None)


def _by_keyword(keyword: str, stmt: str, evidence: str, *, parsed: bool) -> list[Finding]:
    rule = _KEYWORDS.get(keyword)
    if rule is None:
        why = "a statement opsgate cannot type" if parsed else "SQL the parser cannot read"
        return [_unknown(evidence, why)]
    category, impact, effect, reason = rule
    if keyword == "ALTER" and re.search(r"\bDROP\b", _without_strings(stmt), re.I):
        category, impact, reason = "database.alter_drop", _D, "drops part of a database object"
    if keyword == "ALTER" and re.search(r"\bSYSTEM\b", stmt, re.I):
        category = "database.config"
    if keyword == "SET" and re.search(r"\b(GLOBAL|PERSIST|PERSIST_ONLY)\b", stmt, re.I):
        category, impact, effect, reason = "database.config", _C, _W, "changes server settings"
    return [finding(category, impact, effect, evidence, reason)]


def _without_strings(stmt: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", stmt)


def _classify_explain(stmt: str, dialect: str | None, evidence: str) -> list[Finding]:
    """EXPLAIN only plans, but EXPLAIN ANALYZE runs the statement."""
    m = _EXPLAIN.match(stmt)
    opts = ((m.group("opts") or m.group("words") or "") if m else "").upper()
    analyze = re.search(r"\bANALY[SZ]E\b(?!\s+(?:FALSE|OFF|0)\b)", opts) is not None
    if not analyze or m is None:
        return [finding("database.read", _S, _R, evidence, "shows a query plan")]
    return _classify_statement(stmt[m.end() :], dialect)


# --- typed statements -------------------------------------------------------

_Rule = Callable[["exp.Expr", str, str], list[Finding]]


def _typed_rule(node: exp.Expr) -> _Rule | None:
    from sqlglot import exp

    table: tuple[tuple[type[exp.Expr] | tuple[type[exp.Expr], ...], _Rule], ...] = (
        ((exp.Select, exp.SetOperation, exp.Values), _query),
        ((exp.Insert, exp.Update, exp.Delete, exp.Merge), _dml_rule),
        (exp.Drop, _drop),
        (exp.TruncateTable, _fixed("database.truncate", _D, _W, "empties {}")),
        (exp.Create, _create),
        (exp.Alter, _alter),
        (exp.Copy, _copy),
        ((exp.Grant, exp.Revoke), _fixed("database.grant", _C, _W, "changes privileges on {}")),
        (exp.Set, _set),
        ((exp.Use, exp.Show), _fixed("database.read", _S, _R, "reads server metadata")),
        (
            (exp.Transaction, exp.Commit, exp.Rollback),
            _fixed("database.transaction", _S, _R, "controls the transaction"),
        ),
        (exp.Describe, _describe),
        (exp.Pragma, _pragma),
        ((exp.Attach, exp.Detach), _fixed("database.write", _C, _W, "attaches a database file")),
        (exp.Analyze, _fixed("database.maintenance", _C, _W, "recomputes statistics")),
        (exp.Kill, _fixed("database.admin", _C, _W, "kills a server session")),
        (exp.Execute, _execute),
        (exp.Comment, _fixed("database.ddl", _C, _W, "changes the comment on {}")),
        (exp.Semicolon, lambda _n, _e, _s: []),
    )
    for types, rule in table:
        if isinstance(node, types):
            return rule
    return None  # Command, Alias, Column…: judged by keyword


def _fixed(category: str, impact: Impact, effect: Effect, reason: str) -> _Rule:
    def rule(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
        return [finding(category, impact, effect, evidence, reason.format(_name(node)))]

    return rule


def _name(node: exp.Expr) -> str:
    from sqlglot import exp

    table = node if isinstance(node, exp.Table) else node.find(exp.Table)
    if table is not None:
        return ".".join(p.name for p in table.parts) or "a table"
    return node.name or "an object"


def _query(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    """A read, unless a CTE writes, SELECT INTO creates a table, or a function acts."""
    from sqlglot import exp

    found: list[Finding] = []
    for dml in node.find_all(exp.Insert, exp.Update, exp.Delete, exp.Merge):
        found.extend(_dml_rule(dml, evidence, _stmt))
    for into in node.find_all(exp.Into):
        if isinstance(into.this, exp.Table):
            found.append(
                finding(
                    "database.write", _C, _W, evidence, f"creates table {_name(into)} from a query"
                )
            )
    found.extend(_functions(node, evidence))
    found.extend(_password_catalogs(node, evidence))
    return found or [finding("database.read", _S, _R, evidence, "reads data")]


# System catalogs holding password hashes or stored credentials → the columns
# that carry them.  ``SELECT *`` or one of these columns discloses them.
_PASSWORD_CATALOGS: dict[str, frozenset[str]] = {
    "pg_shadow": frozenset({"passwd"}),
    "pg_authid": frozenset({"rolpassword"}),
    "pg_user_mapping": frozenset({"umoptions"}),
    "pg_user_mappings": frozenset({"umoptions"}),
    "mysql.user": frozenset({"authentication_string", "password"}),
    "sys.sql_logins": frozenset({"password_hash"}),
    "sys.syslogins": frozenset({"password"}),
    "syslogins": frozenset({"password"}),
    "dba_users": frozenset({"password", "spare4"}),
    "sys.user$": frozenset({"password", "spare4"}),
}


def _password_catalogs(node: exp.Expr, evidence: str) -> list[Finding]:
    """``SELECT passwd FROM pg_shadow``: reading password hashes is a secret read."""
    from sqlglot import exp

    for table in node.find_all(exp.Table):
        parts = [p.name.lower() for p in table.parts]
        name = ".".join(parts[-2:]) if len(parts) > 1 else parts[-1] if parts else ""
        columns = _PASSWORD_CATALOGS.get(name) or _PASSWORD_CATALOGS.get(name.split(".")[-1])
        if columns is None:
            continue
        select = table.find_ancestor(exp.Select) or node
        picked = {c.name.lower() for c in select.find_all(exp.Column)}
        star = any(
            isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
            for e in select.expressions
        )
        if star or picked & columns:
            why = f"reads password hashes or stored credentials from {name}"
            return [finding("secrets.read", _C, Effect.SECRET, evidence, why)]
    return []


def _functions(node: exp.Expr, evidence: str) -> list[Finding]:
    from sqlglot import exp

    found: list[Finding] = []
    for func in node.find_all(exp.Anonymous):
        name = func.name.lower().rsplit(".", 1)[-1]
        rule = _FUNC_RULES.get(name)
        for prefix, like in _FUNC_PREFIX_RULES:
            if rule is None and name.startswith(prefix):
                rule = _FUNC_RULES[like]
        if rule is not None:
            category, impact, effect, reason = rule
            found.append(finding(category, impact, effect, evidence, f"{name}(): {reason}"))
        elif not name.startswith(_READ_FUNC_PREFIXES):
            found.append(_unknown(evidence, f"calls {name}(), which may change data"))
    return found


def _trivially_true(where: exp.Expr | None) -> bool:
    """``WHERE 1=1`` / ``WHERE true`` filter nothing out."""
    from sqlglot import exp

    if where is None:
        return True
    cond = where.this if isinstance(where, exp.Where) else where
    if isinstance(cond, exp.Paren):
        return _trivially_true(cond.this)
    if isinstance(cond, exp.Boolean):
        return bool(cond.this)
    if isinstance(cond, exp.Literal) and not cond.is_string:
        return cond.this not in ("0", "0.0")
    if isinstance(cond, exp.EQ) and isinstance(cond.this, exp.Literal):
        return bool(cond.this == cond.expression)
    if isinstance(cond, exp.Or):
        return _trivially_true(cond.this) or _trivially_true(cond.expression)
    return False


def _dml_rule(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    from sqlglot import exp

    name = _name(node)
    if isinstance(node, exp.Delete):
        if _trivially_true(node.args.get("where")):
            return [
                finding(
                    "database.delete_all",
                    _D,
                    _W,
                    evidence,
                    f"deletes every row of {name} (no WHERE)",
                )
            ]
        return [finding("database.write", _C, _W, evidence, f"deletes rows from {name}")]
    if isinstance(node, exp.Update):
        if _trivially_true(node.args.get("where")):
            return [
                finding(
                    "database.update_all",
                    _D,
                    _W,
                    evidence,
                    f"updates every row of {name} (no WHERE)",
                )
            ]
        return [finding("database.write", _C, _W, evidence, f"updates rows in {name}")]
    verb = "merges rows into" if isinstance(node, exp.Merge) else "inserts rows into"
    return [finding("database.write", _C, _W, evidence, f"{verb} {name}")]


def _drop(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    kind = str(node.args.get("kind") or "object").lower()
    names = ", ".join(t.sql() for t in node.args.get("tables") or []) or _name(node)
    return [finding("database.drop", _D, _W, evidence, f"drops {kind} {names}")]


def _create(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    kind = str(node.args.get("kind") or "object").lower()
    verb = "creates or replaces" if node.args.get("replace") else "creates"
    return [finding("database.ddl", _C, _W, evidence, f"{verb} {kind} {_name(node)}")]


def _alter(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    from sqlglot import exp

    name = _name(node)
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.Drop | exp.DropPartition):
            kind = str(action.args.get("kind") or "part").lower()
            return [finding("database.alter_drop", _D, _W, evidence, f"drops a {kind} of {name}")]
        if isinstance(action, exp.Delete):
            return _dml_rule(action, evidence, _stmt)
    return [finding("database.ddl", _C, _W, evidence, f"changes the schema of {name}")]


def _copy(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    files = [f.name.upper() for f in node.args.get("files") or []]
    if "PROGRAM" in files:
        return [
            finding(
                "database.shell",
                _C,
                _U,
                evidence,
                "COPY ... PROGRAM runs a shell command on the database server",
            )
        ]
    if node.args.get("kind"):  # FROM: loads rows
        return [finding("database.write", _C, _W, evidence, f"loads rows into {_name(node)}")]
    if files and files[0] not in ("STDOUT", "STDIN"):
        return [finding("database.write", _C, _W, evidence, "writes a file on the server")]
    return [finding("database.read", _S, _R, evidence, f"exports {_name(node)}")]


def _set(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    """Session SET is gone with the connection; GLOBAL/PERSIST outlive it."""
    kinds = {str(item.args.get("kind") or "").upper() for item in node.expressions}
    found = _functions(node, evidence)
    if kinds & {"GLOBAL", "PERSIST", "PERSIST_ONLY"}:
        found.append(finding("database.config", _C, _W, evidence, "changes server settings"))
    return found or [finding("database.session", _S, _R, evidence, "sets a session option")]


def _describe(node: exp.Expr, evidence: str, stmt: str) -> list[Finding]:
    style = str(node.args.get("style") or "").upper()
    inner = node.this
    if style == "ANALYZE" and inner is not None:
        rule = _typed_rule(inner)
        if rule is not None:
            return rule(inner, evidence, stmt)
        return [_unknown(evidence, "EXPLAIN ANALYZE runs a statement opsgate cannot type")]
    return [finding("database.read", _S, _R, evidence, "describes an object or plan")]


_PRAGMA_WRITES = ("optimize", "wal_checkpoint", "incremental_vacuum", "integrity_check_fix")


def _pragma(node: exp.Expr, evidence: str, stmt: str) -> list[Finding]:
    """``PRAGMA x = v`` changes the database file; ``PRAGMA table_info(t)`` reads."""
    body = stmt.split(None, 1)[1] if len(stmt.split(None, 1)) > 1 else ""
    name = body.split("(")[0].split("=")[0].strip().lower().rsplit(".", 1)[-1]
    if "=" in body or name in _PRAGMA_WRITES:
        return [finding("database.config", _C, _W, evidence, f"changes pragma {name}")]
    return [finding("database.read", _S, _R, evidence, f"reads pragma {name}")]


_READ_PROCS = frozenset(
    {
        "sp_who",
        "sp_who2",
        "sp_help",
        "sp_helptext",
        "sp_helpindex",
        "sp_helpdb",
        "sp_columns",
        "sp_tables",
        "sp_spaceused",
        "sp_databases",
        "sp_lock",
        "sp_helprotect",
        "sp_server_info",
    }
)


def _execute(node: exp.Expr, evidence: str, _stmt: str) -> list[Finding]:
    name = _name(node).lower().rsplit(".", 1)[-1]
    if name in _READ_PROCS:
        return [finding("database.read", _S, _R, evidence, f"runs read-only procedure {name}")]
    return [finding("database.procedure", _C, _U, evidence, f"executes procedure {name}")]


# --- scanning: statements, comments, quotes, client meta-commands -----------

ShellFn = Callable[[str], list[Finding]]


def finding(category: str, impact: Impact, effect: Effect, evidence: str, reason: str) -> Finding:
    return Finding(
        category=category, impact=impact, effect=effect, evidence=evidence, reason=reason
    )


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    meta: bool = False  # a client command (psql ``\\d``, sqlite ``.tables``), not SQL


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_GO_LINE = re.compile(r"[ \t]*GO(?:[ \t]+\d+)?[ \t]*(?:\r?\n|$)", re.IGNORECASE)


class _Scanner:
    """Splits text into statements and meta-commands the way the client would.

    Backslash escapes inside quotes exist only in MySQL/ClickHouse (and
    PostgreSQL ``E''`` strings); getting this wrong would let a statement hide
    inside what the scanner thinks is a literal, hence the per-dialect rules.
    """

    def __init__(self, text: str, dialect: str | None) -> None:
        self.text, self.dialect = text, dialect
        self.i = 0
        self.buf: list[str] = []
        self.pieces: list[_Piece] = []

    def run(self) -> list[_Piece]:
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            two = text[self.i : self.i + 2]
            if c in "'\"`" or (c == "[" and self.dialect == "tsql"):
                self._quoted(c)
            elif two == "--" or (c == "#" and self.dialect == "mysql"):
                self._skip_to_eol()
            elif two == "/*":
                self._block_comment()
            elif c == "$" and self.dialect in (None, "postgres") and self._dollar():
                continue
            elif c == ";":
                self._flush()
                self.i += 1
            elif c == "\\" and self.dialect != "tsql":
                self._flush()
                self._meta_to_eol()
            elif c in ".:!Gg" and self._at_line_start() and self._line_command():
                continue
            else:
                self.buf.append(c)
                self.i += 1
        self._flush()
        return self.pieces

    def _flush(self) -> None:
        stmt = "".join(self.buf).strip()
        self.buf = []
        if stmt:
            self.pieces.append(_Piece(stmt))

    def _quoted(self, quote: str) -> None:
        text, start = self.text, self.i
        close = "]" if quote == "[" else quote
        escapes = self.dialect in ("mysql", "clickhouse") or (
            quote == "'" and start > 0 and text[start - 1] in "eE"
        )
        j = start + 1
        while j < len(text):
            if escapes and text[j] == "\\":
                j += 2
                continue
            if text[j] == close:
                if text[j + 1 : j + 2] == close:  # doubled quote is an escaped quote
                    j += 2
                    continue
                break
            j += 1
        self.buf.append(text[start : j + 1])
        self.i = j + 1

    def _skip_to_eol(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = len(self.text) if end < 0 else end
        self.buf.append(" ")

    def _block_comment(self) -> None:
        depth, j, text = 0, self.i, self.text
        while j < len(text):
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
                if depth == 0:
                    break
            else:
                j += 1
        self.i = j
        self.buf.append(" ")

    def _dollar(self) -> bool:
        m = _DOLLAR_TAG.match(self.text, self.i)
        if m is None:
            return False
        end = self.text.find(m.group(), m.end())
        stop = len(self.text) if end < 0 else end + len(m.group())
        self.buf.append(self.text[self.i : stop])
        self.i = stop
        return True

    def _meta_to_eol(self) -> None:
        end = self.text.find("\n", self.i)
        end = len(self.text) if end < 0 else end
        line = self.text[self.i : end]
        sep = line.find("\\\\", 1)  # psql: ``\x \\ SELECT 1`` separates commands
        if sep > 0:
            line, end = line[:sep], self.i + sep + 2
        self.pieces.append(_Piece(line.strip(), meta=True))
        self.i = end

    def _at_line_start(self) -> bool:
        """sqlcmd reads ``GO``/``:r`` on any new line; sqlite reads dot-commands
        only when no statement is pending."""
        if self.dialect != "tsql":
            return not any(part.strip() for part in self.buf)
        j = self.i - 1
        while j >= 0 and self.text[j] in " \t":
            j -= 1
        return j < 0 or self.text[j] == "\n"

    def _line_command(self) -> bool:
        """sqlite ``.tables``, sqlcmd ``:r`` / ``!!`` / ``GO`` at the start of a line."""
        rest = self.text[self.i :].lstrip(" \t")
        offset = len(self.text) - self.i - len(rest)
        go = _GO_LINE.match(rest) if self.dialect == "tsql" else None
        if go is not None:
            self._flush()
            self.i += offset + go.end()
            return True
        lead = self.dialect == "sqlite" and rest.startswith(".")
        if not (lead or (self.dialect == "tsql" and rest.startswith((":", "!!")))):
            return False
        self._flush()
        self.i += offset
        self._meta_to_eol()
        return True


def _split(text: str, dialect: str | None) -> list[_Piece]:
    return _Scanner(text, dialect).run()


# --- client meta-commands ---------------------------------------------------

_Rule3 = tuple[str, Impact, Effect, str]
_META_READ: _Rule3 = ("database.read", _S, _R, "a client display or session command")
_META_FILE: _Rule3 = ("database.unknown", _C, _U, "runs SQL from a file opsgate cannot see")
_META_EDIT: _Rule3 = ("database.unknown", _C, _U, "opens an editor; the SQL is not visible")

# psql ``\\name`` (and mysql ``\\G``-style) commands.  ``\\d…`` and ``\\l…`` are
# listings; anything absent is unknown.
_PSQL: dict[str, _Rule3] = {
    **dict.fromkeys(
        _words(
            "x timing q quit ? h help conninfo echo qecho warn pset a t H encoding c "
            "connect set unset p print r reset g gx gset G watch f C T errverbose s z sf "
            "sv cd prompt if elif else endif getenv bind lo_list copyright crosstabview u "
            "o out w write lo_export"
        ),
        _META_READ,
    ),
    **dict.fromkeys(["i", "ir", "include", "include_relative", "."], _META_FILE),
    **dict.fromkeys(["e", "edit", "ef", "ev"], _META_EDIT),
    "gexec": ("database.unknown", _C, _U, "runs every result value as SQL"),
    "lo_import": ("database.write", _C, _W, "imports a large object"),
    "lo_unlink": ("database.delete", _D, _W, "deletes a large object"),
}
_SQLITE: dict[str, _Rule3] = {
    **dict.fromkeys(
        _words(
            "tables schema indexes indices headers mode timer dump help databases show "
            "width nullvalue separator stats eqp explain print echo changes quit exit "
            "dbinfo fullschema lint bail timeout prompt output once backup save excel "
            "expert headers log trace limit version dbconfig crnl binary parameter"
        ),
        _META_READ,
    ),
    "read": _META_FILE,
    "open": ("database.unknown", _C, _U, "opens another database file"),
    "load": ("database.unknown", _C, _U, "loads a native extension"),
    "import": ("database.write", _C, _W, "imports rows from a file"),
    "restore": ("database.restore", _D, _W, "overwrites the database from a backup"),
    "clone": ("database.write", _C, _W, "clones the database into a file"),
}
_SQLCMD: dict[str, _Rule3] = {
    **dict.fromkeys(
        _words("setvar on out error list help reset connect serverlist xml perftrace listvar ed"),
        _META_READ,
    ),
    "r": _META_FILE,
}
_SHELL_ESCAPES = frozenset({"!", "shell", "system", "!!"})
_META_NAME = re.compile(r"^(?:\\|\.|:|)(!!|!|\?|\.|[A-Za-z_+]+)")


def _classify_meta(text: str, dialect: str | None, shell: ShellFn | None) -> list[Finding]:
    m = _META_NAME.match(text)
    raw = m.group(1) if m else ""
    name = raw if raw in ("d", "l") else raw.rstrip("+S")
    rest = text[m.end() :].strip() if m else text
    evidence = _clip(text)
    if (
        name in _SHELL_ESCAPES
        or "`" in rest
        or (name in ("o", "out", "g", "w") and rest.startswith("|"))
    ):
        return _shell_escape(rest.lstrip("|").strip(), evidence, shell)
    if text.startswith("\\") and name == "copy":
        return _meta_copy(rest, evidence, shell)
    if text.startswith("\\") and (
        name.startswith(("d", "l")) and name not in ("lo_import", "lo_unlink")
    ):
        return [finding(*_META_READ[:3], evidence, "lists or describes database objects")]
    table = _SQLITE if text.startswith(".") else _SQLCMD if text.startswith(":") else _PSQL
    rule = table.get(name) or table.get(name.lower())
    if rule is None:
        return [_unknown(evidence, f"client command {raw or text!r} opsgate does not model")]
    category, impact, effect, reason = rule
    return [finding(category, impact, effect, evidence, reason)]


def _shell_escape(command: str, evidence: str, shell: ShellFn | None) -> list[Finding]:
    if shell is not None and command and "`" not in command:
        return shell(command)
    return [finding("database.shell", _C, _U, evidence, "runs a shell command from the client")]


def _meta_copy(rest: str, evidence: str, shell: ShellFn | None) -> list[Finding]:
    """``\\copy t FROM 'f'`` loads rows; ``TO`` only exports; ``PROGRAM`` runs a command."""
    bare = _without_strings(rest)
    if re.search(r"\bPROGRAM\b", bare, re.I):
        prog = re.search(r"\bPROGRAM\s+'((?:[^']|'')*)'", rest, re.I)
        return _shell_escape(prog.group(1).replace("''", "'") if prog else "", evidence, shell)
    if re.search(r"\bFROM\b", re.sub(r"\(.*\)", "", bare), re.I):
        return [finding("database.write", _C, _W, evidence, "loads rows from a file")]
    return [finding("database.read", _S, _R, evidence, "exports rows to a file")]
