"""Rules for statements sqlglot types: queries, DML, DDL, COPY, SET, PRAGMA, EXEC."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.models import Effect, Finding, Impact

from ._sql_tables import (
    _C,
    _D,
    _FUNC_PREFIX_RULES,
    _FUNC_RULES,
    _R,
    _READ_FUNC_PREFIXES,
    _READ_FUNCS,
    _S,
    _U,
    _W,
    _unknown,
    finding,
)

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["_typed_rule"]

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
        elif name not in _READ_FUNCS and not name.startswith(_READ_FUNC_PREFIXES):
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
