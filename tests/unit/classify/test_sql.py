"""SQL statements → findings.  Each case names the class of statement it pins."""

from __future__ import annotations

import pytest

from opsgate.classify.sql import classify_sql
from opsgate.models import Effect, Finding, Impact


def worst(findings: list[Finding]) -> tuple[Effect, Impact]:
    return max(f.effect for f in findings), max(f.impact for f in findings)


@pytest.mark.parametrize(
    ("sql", "dialect", "effect", "impact", "category"),
    [
        pytest.param(
            "DROP TABLE users",
            None,
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.drop",
            id="drop-table",
        ),
        pytest.param(
            "SELECT 1; DROP TABLE s;",
            "postgres",
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.drop",
            id="select-then-drop",
        ),
        pytest.param(
            "TRUNCATE audit_log",
            None,
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.truncate",
            id="truncate",
        ),
        pytest.param(
            "DELETE FROM users",
            None,
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.delete_all",
            id="delete-no-where",
        ),
        pytest.param(
            "DELETE FROM users WHERE 1=1",
            None,
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.delete_all",
            id="delete-trivial-where",
        ),
        pytest.param(
            "UPDATE plans SET p = 1",
            None,
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.update_all",
            id="update-no-where",
        ),
        pytest.param(
            "UPDATE plans SET p = 1 WHERE id = 3",
            None,
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="update-where",
        ),
        pytest.param(
            "ALTER TABLE t DROP COLUMN c",
            None,
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.alter_drop",
            id="alter-drop-column",
        ),
        pytest.param(
            "ALTER TABLE t ADD COLUMN c int",
            None,
            Effect.WRITE,
            Impact.CAUTION,
            "database.ddl",
            id="alter-add-column",
        ),
        pytest.param(
            "INSERT INTO audit VALUES ('DROP TABLE users')",
            None,
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="insert-literal-is-data",
        ),
        pytest.param(
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO r",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.grant",
            id="grant-opaque",
        ),
        pytest.param(
            "VACUUM FULL t",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.maintenance",
            id="vacuum",
        ),
        pytest.param(
            "WITH g AS (DELETE FROM c WHERE x < 1 RETURNING id) SELECT count(*) FROM g",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="cte-delete",
        ),
        pytest.param(
            "WITH g AS (DELETE FROM c RETURNING id) SELECT * FROM g",
            "postgres",
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.delete_all",
            id="cte-delete-all",
        ),
        pytest.param(
            "SELECT * INTO backup FROM orders",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="select-into",
        ),
        pytest.param(
            "EXPLAIN ANALYZE DELETE FROM x",
            "postgres",
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.delete_all",
            id="explain-analyze-runs",
        ),
        pytest.param(
            "EXPLAIN (ANALYZE, BUFFERS) UPDATE x SET a=1 WHERE id=2",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="explain-paren-analyze",
        ),
        pytest.param(
            "EXPLAIN ANALYZE DELETE FROM x",
            "mysql",
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.delete_all",
            id="mysql-explain-analyze",
        ),
        pytest.param(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            None,
            Effect.WRITE,
            Impact.CAUTION,
            "database.admin",
            id="terminate-backend",
        ),
        pytest.param(
            "SELECT setval('s', 1)",
            None,
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="setval",
        ),
        pytest.param(
            "SELECT lo_unlink(42)",
            None,
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.delete",
            id="lo-unlink",
        ),
        pytest.param(
            "SELECT pg_read_file('/etc/passwd')",
            None,
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.server_file",
            id="read-server-file",
        ),
        pytest.param(
            "SELECT dblink_exec('c', 'DELETE FROM t')",
            None,
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.unknown",
            id="dblink-exec",
        ),
        pytest.param(
            "SELECT purge_orders()",
            None,
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.unknown",
            id="user-function-unknown",
        ),
        pytest.param(
            "COPY users TO PROGRAM 'curl x'",
            "postgres",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.shell",
            id="copy-to-program",
        ),
        pytest.param(
            "COPY users FROM '/tmp/u.csv'",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="copy-from",
        ),
        pytest.param(
            "LOAD DATA INFILE 'x' INTO TABLE t",
            "mysql",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.write",
            id="load-data",
        ),
        pytest.param(
            "SELECT * FROM t INTO OUTFILE '/tmp/x'",
            "mysql",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.unknown",
            id="into-outfile",
        ),
        pytest.param(
            "DO $$ BEGIN DELETE FROM x; END $$",
            "postgres",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.procedure",
            id="do-block",
        ),
        pytest.param(
            "CALL cleanup()",
            None,
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.procedure",
            id="call-procedure",
        ),
        pytest.param(
            "EXEC dbo.purge",
            "tsql",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.procedure",
            id="tsql-exec",
        ),
        pytest.param(
            "SELEC 1", None, Effect.UNKNOWN, Impact.CAUTION, "database.unknown", id="parse-error"
        ),
        pytest.param(
            "CHECKPOINT",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.maintenance",
            id="nonsense-parse-uses-keyword",
        ),
        pytest.param(
            "SET GLOBAL max_connections = 10",
            "mysql",
            Effect.WRITE,
            Impact.CAUTION,
            "database.config",
            id="set-global",
        ),
        pytest.param(
            "PRAGMA journal_mode=WAL",
            "sqlite",
            Effect.WRITE,
            Impact.CAUTION,
            "database.config",
            id="pragma-set",
        ),
        pytest.param(
            "SELECT TOP 1 * FROM o\nGO\nDROP TABLE o\nGO",
            "tsql",
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.drop",
            id="tsql-go-batches",
        ),
        pytest.param(
            "SELECT 'C:\\'; DROP TABLE x; --'",
            "postgres",
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.drop",
            id="pg-backslash-is-not-escape",
        ),
        pytest.param(
            "SELECT 'x\\'' ; DROP TABLE y; '",
            None,
            Effect.UNKNOWN,
            Impact.DESTRUCTIVE,
            "database.drop",
            id="unknown-dialect-tries-both-quotings",
        ),
        pytest.param(
            "\\copy users FROM 'u.csv' CSV",
            "postgres",
            Effect.WRITE,
            Impact.CAUTION,
            "database.write",
            id="psql-copy-from",
        ),
        pytest.param(
            "\\i drop.sql",
            "postgres",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.unknown",
            id="psql-include-file",
        ),
        pytest.param(
            "\\! rm -rf /",
            "postgres",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.shell",
            id="psql-shell-escape",
        ),
        pytest.param(
            "\\gexec",
            "postgres",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.unknown",
            id="psql-gexec",
        ),
        pytest.param(
            ".shell rm -rf ~",
            "sqlite",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.shell",
            id="sqlite-shell",
        ),
        pytest.param(
            ".restore backup.db",
            "sqlite",
            Effect.WRITE,
            Impact.DESTRUCTIVE,
            "database.restore",
            id="sqlite-restore",
        ),
        pytest.param(
            ":r evil.sql",
            "tsql",
            Effect.UNKNOWN,
            Impact.CAUTION,
            "database.unknown",
            id="sqlcmd-include",
        ),
    ],
)
def test_writes_and_unknowns(
    sql: str, dialect: str | None, effect: Effect, impact: Impact, category: str
) -> None:
    findings = classify_sql(sql, dialect=dialect)
    assert worst(findings) == (effect, impact)
    assert category in {f.category for f in findings}


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param("SELECT id FROM users ORDER BY id LIMIT 20", None, id="select"),
        pytest.param("SHOW server_version", "postgres", id="show-opaque"),
        pytest.param("SHOW FULL PROCESSLIST", "mysql", id="show-mysql"),
        pytest.param("EXPLAIN DELETE FROM x", "postgres", id="explain-only-plans"),
        pytest.param("DESCRIBE t", "mysql", id="describe"),
        pytest.param("WITH r AS (SELECT * FROM o) SELECT count(*) FROM r", None, id="cte-select"),
        pytest.param("BEGIN READ ONLY; SELECT 1; ROLLBACK;", "postgres", id="readonly-txn"),
        pytest.param("SELECT 'DELETE FROM users' AS x", None, id="literal-is-data"),
        pytest.param("SELECT 1 -- DROP TABLE x\n/* DROP TABLE y; */", None, id="comments"),
        pytest.param("SELECT $a$ ; DROP TABLE x; $a$", "postgres", id="dollar-quoted-data"),
        pytest.param("SELECT name FROM m WHERE name LIKE '%drop%'", None, id="like-drop"),
        pytest.param(
            "SELECT version(), pg_size_pretty(pg_database_size('a'))",
            "postgres",
            id="builtin-functions",
        ),
        pytest.param("SELECT count() FROM e WHERE date = today()", "clickhouse", id="clickhouse"),
        pytest.param("SET search_path TO app", "postgres", id="session-set"),
        pytest.param("PRAGMA table_info(users)", "sqlite", id="pragma-read"),
        pytest.param("EXEC sp_who", "tsql", id="read-only-procedure"),
        pytest.param("\\d+ orders", "postgres", id="psql-describe"),
        pytest.param("\\dt\n\\l\n\\x\n\\timing\n\\q", "postgres", id="psql-listings"),
        pytest.param("\\copy (SELECT * FROM u) TO 'u.csv' CSV", "postgres", id="psql-copy-to"),
        pytest.param(".tables\n.schema users", "sqlite", id="sqlite-dot-reads"),
        pytest.param("SELECT * FROM t\\G", "mysql", id="mysql-vertical"),
    ],
)
def test_reads(sql: str, dialect: str | None) -> None:
    findings = classify_sql(sql, dialect=dialect)
    assert findings
    assert all(f.effect is Effect.READ for f in findings), findings


def test_each_statement_has_its_own_evidence() -> None:
    findings = classify_sql("SELECT 1; -- note\nDROP TABLE sessions;", evidence_prefix="psql: ")
    assert [f.evidence for f in findings] == ["psql: SELECT 1", "psql: DROP TABLE sessions"]
    assert findings[1].reason == "drops table sessions"


def test_passwords_are_not_evidence() -> None:
    (found,) = classify_sql("CREATE USER bob PASSWORD 'hunter2'", dialect="postgres")
    assert "hunter2" not in found.evidence


def test_shell_escape_goes_to_the_shell_classifier() -> None:
    seen: list[str] = []

    def shell(script: str) -> list[Finding]:
        seen.append(script)
        return []

    assert classify_sql("\\! ls -la", dialect="postgres", shell_escape=shell) == []
    assert seen == ["ls -la"]


def test_empty_and_comment_only_text_has_no_findings() -> None:
    assert classify_sql("") == []
    assert classify_sql("-- nothing\n/* here */") == []


def test_oversized_text_is_unknown() -> None:
    (found,) = classify_sql("SELECT 1;" * 30_000)
    assert found.effect is Effect.UNKNOWN


@pytest.mark.parametrize(
    ("sql", "dialect", "effect"),
    [
        pytest.param(
            "SELECT usename, passwd FROM pg_shadow;", "postgres", Effect.SECRET, id="pg-shadow"
        ),
        pytest.param("SELECT * FROM pg_authid", "postgres", Effect.SECRET, id="pg-authid-star"),
        pytest.param("SELECT s.* FROM pg_shadow s", "postgres", Effect.SECRET, id="qualified-star"),
        pytest.param(
            "SELECT srvname, umoptions FROM pg_user_mappings",
            "postgres",
            Effect.SECRET,
            id="pg-user-mappings",
        ),
        pytest.param(
            "SELECT user, authentication_string FROM mysql.user",
            "mysql",
            Effect.SECRET,
            id="mysql-user-hash",
        ),
        pytest.param(
            "SELECT name, password_hash FROM sys.sql_logins",
            "tsql",
            Effect.SECRET,
            id="mssql-logins",
        ),
        pytest.param("SELECT usename FROM pg_shadow", "postgres", Effect.READ, id="names-only"),
        pytest.param("SELECT count(*) FROM pg_shadow", "postgres", Effect.READ, id="count-only"),
        pytest.param("SELECT user, host FROM mysql.user", "mysql", Effect.READ, id="mysql-names"),
        pytest.param("SELECT * FROM users", "postgres", Effect.READ, id="ordinary-table"),
    ],
)
def test_password_catalogs_are_secret_reads(sql: str, dialect: str, effect: Effect) -> None:
    found = classify_sql(sql, dialect=dialect)
    assert max(f.effect for f in found) is effect
