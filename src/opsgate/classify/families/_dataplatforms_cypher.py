"""Cypher (Neo4j): statements judged by their clauses, and cypher-shell."""

from __future__ import annotations

import re

from opsgate.classify._command import Command, Context
from opsgate.classify.families import _databases_conn as db
from opsgate.classify.families._verbs import Rule, read
from opsgate.models import Effect, Finding, Impact

__all__ = ["_cypher_shell", "classify_cypher"]

_R, _L, _W, _U, _X = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE


# --- cypher-shell -------------------------------------------------------------------

_CY_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\n]*|/\*.*?\*/", re.S)
_CY_READ_CALLS = re.compile(
    r"^(db\.(labels|relationshipTypes|propertyKeys|schema\.|indexes|constraints|info|ping|"
    r"stats\.retrieve)|dbms\.(components|procedures|functions|listConfig|showCurrentUser|"
    r"queryJmx|cluster\.overview|routing)|apoc\.(meta|help|version))",
    re.IGNORECASE,
)


def classify_cypher(text: str, evidence_prefix: str = "") -> list[Finding]:
    """Cypher statements: reads, writes, and what loses data."""
    found: list[Finding] = []
    blanked = _CY_STRINGS.sub(lambda m: " " if m.group(0)[0] == "/" else "''", text)
    for raw in blanked.split(";"):
        stmt = " ".join(raw.split())
        if not stmt:
            continue
        found.append(_cypher_statement(stmt, evidence_prefix + stmt[:180]))
    return found


def _cypher_statement(stmt: str, evidence: str) -> Finding:
    up = stmt.upper()
    rule: Rule
    if up.startswith(":"):
        meta = up[1:].split(" ", 1)[0]
        rule = (
            read("client setting", "database.read")
            if meta
            in ("USE", "PARAM", "PARAMS", "HELP", "EXIT", "BEGIN", "COMMIT", "ROLLBACK", "HISTORY")
            else Rule(_U, _C, "database.unknown", f"client command :{meta.lower()}")
        )
    elif re.search(r"\bDETACH\s+DELETE\b", up):
        rule = Rule(_W, _D, "database.delete_all", "deletes nodes with all their relationships")
    elif re.search(r"\bDROP\b", up):
        rule = Rule(_W, _D, "database.drop", "drops a database, index or constraint")
    elif re.search(r"\bDELETE\b", up):
        filtered = re.search(r"\bWHERE\b|\{[^}]*:", up)
        rule = (
            Rule(_W, _C, "database.write", "deletes matching nodes or relationships")
            if filtered
            else Rule(_W, _D, "database.delete_all", "deletes every matched node (no filter)")
        )
    elif re.search(
        r"\b(CREATE|MERGE|SET|REMOVE|LOAD\s+CSV|FOREACH|ALTER|GRANT|DENY|REVOKE|"
        r"START|STOP|RENAME|TERMINATE)\b",
        up,
    ):
        rule = Rule(_W, _C, "database.write", "changes the graph or its schema")
    elif re.search(r"\bCALL\b", up):
        names = re.findall(r"\bCALL\s+([\w.]+)", stmt, re.IGNORECASE)
        known = names and all(_CY_READ_CALLS.match(n) for n in names)
        rule = (
            read("calls read-only procedures", "database.read")
            if known
            else Rule(_U, _C, "database.unknown", "calls a procedure that may change data")
        )
    elif re.match(r"^(MATCH|OPTIONAL|WITH|UNWIND|RETURN|SHOW|EXPLAIN|PROFILE|USE)\b", up):
        rule = read("reads the graph", "database.read")
    else:
        rule = Rule(_U, _C, "database.unknown", "a Cypher statement opsgate cannot type")
    return Finding(rule.category, rule.impact, rule.effect, evidence, rule.reason)


def _cypher_shell(cmd: Command, ctx: Context) -> list[Finding]:
    valued = (
        "-a",
        "--address",
        "--uri",
        "-u",
        "--username",
        "-p",
        "--password",
        "-d",
        "--database",
        "-f",
        "--file",
        "--format",
        "-P",
        "--param",
        "--encryption",
        "--access-mode",
        "--log",
    )
    query = [a.value for a in cmd.positionals(valued)]
    found = db._payloads(
        cmd, ctx, lambda t, p: classify_cypher(t, p), query, cmd.options("-f", "--file")
    )
    if found is None:
        found = (
            [db._rule(db._READ, cmd.text)]
            if cmd.has("--version", "--help")
            else (db._interactive(cmd))
        )
    if cmd.option("--access-mode") == "read":
        found = [f for f in found if f.effect is not _W]
    host = cmd.option("-a", "--address", "--uri") or cmd.env.get("NEO4J_URI")
    named = [host or cmd.env.get("NEO4J_ADDRESS") or "", cmd.option("-d", "--database") or ""]
    return db._bind(found, db._locate(cmd, ctx, named))
