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

import importlib
import logging
import re
from dataclasses import replace

from opsgate.models import Finding

from ._sql_meta import IncludeFn, _classify_meta, moves_directory
from ._sql_rules import _typed_rule
from ._sql_scan import _split
from ._sql_tables import (
    _C,
    _D,
    _KEYWORDS,
    _R,
    _S,
    _W,
    ShellFn,
    _clip,
    _unknown,
    _without_strings,
    finding,
)

__all__ = ["IncludeFn", "classify_sql"]

_MAX_TEXT = 200_000  # beyond this, parsing could blow the hook's time budget
_MAX_STATEMENTS = 500


_EXPLAIN = re.compile(
    r"^EXPLAIN\s*(?:\((?P<opts>[^)]*)\)|(?P<words>(?:(?:ANALY[SZ]E|VERBOSE|EXTENDED|"
    r"PARTITIONS|FORMAT\s*=?\s*\w+|QUERY\s+PLAN)\s+)*))",
    re.IGNORECASE,
)
_FIRST_WORD = re.compile(r"\s*([A-Za-z_]+)")


def classify_sql(
    text: str,
    *,
    dialect: str | None = None,
    evidence_prefix: str = "",
    shell_escape: ShellFn | None = None,
    include: IncludeFn | None = None,
) -> list[Finding]:
    """Findings for every statement and client meta-command in ``text``.

    ``dialect`` is a sqlglot dialect (postgres, mysql, sqlite, tsql, clickhouse);
    None tries the scanner's postgres and mysql quoting rules when they could
    disagree.  ``shell_escape`` classifies shell escapes (psql ``\\!``); without it they
    are unknown.  ``include`` classifies a file the client includes (psql ``\\i``,
    ``\\ir``, sqlite ``.read``, sqlcmd ``:r``), or answers None when it cannot be
    read; without it, or after psql's ``\\cd`` moved where paths lead, those are
    unknown.
    """
    if len(text) > _MAX_TEXT:
        return [_unknown(evidence_prefix + text[:200], "SQL text too large to classify")]
    dialects = [dialect] if dialect or "\\" not in text else ["postgres", "mysql"]
    findings: list[Finding] = []
    for scan_dialect in dialects:
        includes = include
        for piece in _split(text, scan_dialect)[:_MAX_STATEMENTS]:
            if piece.meta:
                found = _classify_meta(piece.text, scan_dialect, shell_escape, includes)
                includes = None if moves_directory(piece.text) else includes
            else:
                found = _classify_statement(piece.text, scan_dialect)
            findings.extend(_prefixed(found, evidence_prefix))
    return list(dict.fromkeys(findings))


def _prefixed(findings: list[Finding], prefix: str) -> list[Finding]:
    if not prefix:
        return findings
    return [replace(f, evidence=prefix + f.evidence) for f in findings]


def _classify_statement(stmt: str, dialect: str | None) -> list[Finding]:
    """One statement (no trailing ``;``, comments already removed)."""
    evidence = _clip(stmt)
    m = _FIRST_WORD.match(stmt)
    keyword = m.group(1).upper() if m else ""
    if keyword == "EXPLAIN":
        return _classify_explain(stmt, dialect, evidence)
    from opsgate.classify._shell_state import charged_import

    # Lazy: 85 ms to import, and most commands carry no SQL; not charged to the budget.
    sqlglot = charged_import(lambda: importlib.import_module("sqlglot"))
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


def _classify_explain(stmt: str, dialect: str | None, evidence: str) -> list[Finding]:
    """EXPLAIN only plans, but EXPLAIN ANALYZE runs the statement."""
    m = _EXPLAIN.match(stmt)
    opts = ((m.group("opts") or m.group("words") or "") if m else "").upper()
    analyze = re.search(r"\bANALY[SZ]E\b(?!\s+(?:FALSE|OFF|0)\b)", opts) is not None
    if not analyze or m is None:
        return [finding("database.read", _S, _R, evidence, "shows a query plan")]
    return _classify_statement(stmt[m.end() :], dialect)


# --- typed statements -------------------------------------------------------


# --- scanning: statements, comments, quotes, client meta-commands -----------


# --- client meta-commands ---------------------------------------------------
