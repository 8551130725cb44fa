"""Database client and migration-tool handlers: payload → findings, with target and
environment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify._command import Stdin
from opsgate.classify.families.databases import HANDLERS, classify_django_manage
from opsgate.models import Effect, Environment, Finding

BLOCKING = {Effect.WRITE, Effect.UNKNOWN, Effect.SECRET}


def run(
    line: str,
    *,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    ctx: MemoryContext | None = None,
) -> list[Finding]:
    context = ctx or MemoryContext()
    cmd = make_command(line, stdin=stdin, env=env)
    if cmd.name in ("python", "python3"):
        return classify_django_manage(cmd, context)
    return HANDLERS[cmd.name](cmd, context)


def blocks(findings: list[Finding]) -> bool:
    return any(f.effect in BLOCKING for f in findings)


@pytest.mark.parametrize(
    ("line", "stdin"),
    [
        pytest.param("psql -h db.prod.internal app -c 'DELETE FROM s'", None, id="psql-c"),
        pytest.param("psql app", "BEGIN;\nDELETE FROM i WHERE a < 1;\nCOMMIT;", id="heredoc"),
        pytest.param("psql -d app -c 'SELECT 1; DROP TABLE s;'", None, id="select-then-drop"),
        pytest.param('mysql -h 10.0.3.12 app -e "INSERT INTO f VALUES (1)"', None, id="mysql-e"),
        pytest.param(
            "sqlite3 ~/.local/share/t/data.db 'DELETE FROM entries'", None, id="sqlite-home"
        ),
        pytest.param("sqlite3 data/app.db 'UPDATE jobs SET a = 1'", None, id="sqlite-project-all"),
        pytest.param("sqlite3 data/app.db 'DROP TABLE jobs'", None, id="sqlite-project-drop"),
        pytest.param("sqlite3 ../data/app.db 'INSERT INTO t VALUES (1)'", None, id="sqlite-parent"),
        pytest.param("sqlcmd -S sql-prod -Q 'DROP TABLE dbo.Orders'", None, id="sqlcmd"),
        pytest.param("clickhouse-client --host ch -q 'DROP TABLE e'", None, id="clickhouse"),
        pytest.param(
            "cockroach sql --url postgresql://r@crdb:26257/app -e 'TRUNCATE t'",
            None,
            id="cockroach",
        ),
        pytest.param("psql app", None, id="interactive-session"),
        pytest.param("psql -f db/manual/drop.sql app", None, id="unreadable-file"),
        pytest.param("redis-cli -h cache DEL k", None, id="redis-del"),
        pytest.param("redis-cli -h cache", "FLUSHALL", id="redis-stdin"),
        pytest.param("redis-cli", None, id="redis-interactive"),
        pytest.param("mongosh app --eval 'db.sessions.drop()'", None, id="mongo-eval"),
        pytest.param("mongosh app", "db.c.deleteMany({})", id="mongo-stdin"),
        pytest.param("mongosh app --file scripts/cleanup.js", None, id="mongo-file"),
        pytest.param("mongorestore --drop --uri mongodb://m/app dump/", None, id="mongorestore"),
        pytest.param("pg_restore --clean -h db -d app backup.dump", None, id="pg-restore-clean"),
        pytest.param("dropdb -h db ledger", None, id="dropdb"),
        pytest.param("mysqladmin -h db -f drop shop", None, id="mysqladmin-drop"),
        pytest.param("rails db:migrate", None, id="rails-migrate"),
        pytest.param("rake db:reset", None, id="rake-reset"),
        pytest.param("prisma migrate reset --force", None, id="prisma-reset"),
        pytest.param("prisma db push --accept-data-loss", None, id="prisma-push-loss"),
        pytest.param("sequelize-cli db:migrate:undo:all", None, id="sequelize-undo"),
        pytest.param("alembic downgrade -1", None, id="alembic-downgrade"),
        pytest.param("flyway clean", None, id="flyway-clean"),
        pytest.param("goose postgres 'dbname=app' down", None, id="goose-down"),
        pytest.param("knex migrate:latest --env production", None, id="knex-latest"),
        pytest.param("python manage.py flush --no-input", None, id="django-flush"),
        pytest.param("python manage.py migrate", None, id="django-migrate"),
        pytest.param("python manage.py migrate shop zero", None, id="django-migrate-zero"),
        pytest.param("python manage.py dbshell", "DELETE FROM django_session", id="dbshell"),
        pytest.param(
            "invoke-sqlcmd -ServerInstance s -Query 'DROP TABLE o'", None, id="invoke-sqlcmd"
        ),
    ],
)
def test_blocks(line: str, stdin: str | None) -> None:
    assert blocks(run(line, stdin=stdin))


@pytest.mark.parametrize(
    ("line", "stdin"),
    [
        pytest.param(
            "psql -h db.prod.internal -d app -c 'SELECT * FROM pg_locks'", None, id="psql-select"
        ),
        pytest.param("psql -d app -c '\\d+ orders'", None, id="psql-meta"),
        pytest.param("psql -l", None, id="psql-list"),
        pytest.param(
            "psql -h db app", "SELECT status, count(*) FROM o GROUP BY status;", id="heredoc-select"
        ),
        pytest.param(
            "mysql shop -e \"SELECT id FROM a WHERE s LIKE '%DROP TABLE%'\"",
            None,
            id="mysql-literal",
        ),
        pytest.param(
            "sqlite3 -readonly data/app.db 'SELECT count(*) FROM jobs'", None, id="sqlite-readonly"
        ),
        pytest.param(
            "sqlite3 /tmp/scratch.db 'CREATE TABLE t (id INTEGER)'", None, id="sqlite-scratch"
        ),
        pytest.param("redis-cli -h cache.prod TTL s", None, id="redis-ttl"),
        pytest.param("redis-cli --bigkeys", None, id="redis-bigkeys"),
        pytest.param("mongosh app --eval 'db.users.getIndexes()'", None, id="mongo-read"),
        pytest.param("mongodump --uri mongodb://m/app --out /tmp/d", None, id="mongodump"),
        pytest.param("pg_dump app", None, id="pg-dump"),
        pytest.param("pg_restore -l backup.dump", None, id="pg-restore-list"),
        pytest.param("rails db:migrate:status", None, id="rails-status"),
        pytest.param("rails server", None, id="rails-server"),
        pytest.param("prisma migrate status", None, id="prisma-status"),
        pytest.param("prisma generate", None, id="prisma-generate"),
        pytest.param("alembic current", None, id="alembic-current"),
        pytest.param("alembic upgrade head --sql", None, id="alembic-offline-sql"),
        pytest.param("python manage.py test", None, id="django-test"),
        pytest.param("python manage.py migrate --plan", None, id="django-plan"),
        pytest.param("python manage.py showmigrations", None, id="django-showmigrations"),
        pytest.param("python manage.py seed_demo", None, id="django-custom-local"),
    ],
)
def test_allows(line: str, stdin: str | None) -> None:
    assert not blocks(run(line, stdin=stdin))


def test_readable_file_is_classified() -> None:
    ctx = MemoryContext(files={"q.sql": "SELECT 1;"})
    assert not blocks(run("psql -h db app -f q.sql", ctx=ctx))
    ctx = MemoryContext(files={"q.sql": "DROP TABLE users;"})
    (found,) = run("psql -h db app -f q.sql", ctx=ctx)
    assert found.category == "database.drop"
    assert found.evidence == "q.sql: DROP TABLE users"


def test_stdin_from_a_file_is_read() -> None:
    ctx = MemoryContext(files={"seed.txt": "SET a 1\n"})
    found = run("redis-cli", ctx=ctx, stdin=None)
    assert blocks(found)  # no stdin at all: interactive
    cmd = replace(make_command("redis-cli --pipe"), stdin=Stdin(None, "file:seed.txt"))
    (write,) = HANDLERS["redis-cli"](cmd, ctx)
    assert write.category == "redis.write"


def test_dynamic_stdin_is_unknown() -> None:
    (found,) = run("psql app", stdin=None)
    assert found.effect is Effect.UNKNOWN
    cmd = replace(make_command("mysql shop"), stdin=Stdin(None, "pipe:curl", untrusted=True))
    (piped,) = HANDLERS["mysql"](cmd, MemoryContext())
    assert piped.effect is Effect.UNKNOWN


def test_url_password_never_reaches_evidence_or_target() -> None:
    findings = run("psql postgresql://app:hunter2@db.prod.internal/app -c 'DELETE FROM s'")
    for f in findings:
        assert "hunter2" not in f.evidence + f.reason + (f.target or "")
    assert findings[0].target == "postgresql://***@db.prod.internal/app"
    assert findings[0].environment is Environment.PRODUCTION


def test_environment_from_env_vars() -> None:
    (found,) = run("rails db:migrate", env={"RAILS_ENV": "production"})
    assert found.environment is Environment.PRODUCTION
    assert found.target == "database"
    (dj,) = run("python manage.py migrate", env={"DJANGO_SETTINGS_MODULE": "app.settings.staging"})
    assert dj.environment is Environment.STAGING


def test_database_url_in_env_is_the_target() -> None:
    (found,) = run("psql -c 'TRUNCATE t'", env={"DATABASE_URL": "postgres://u:p@db.dev/app"})
    assert found.target == "postgres://***@db.dev/app"
    assert found.environment is Environment.DEVELOPMENT


def test_unknown_remote_has_a_target_and_no_environment() -> None:
    (found,) = run("psql -h 10.0.3.12 app -c 'UPDATE t SET a = 1 WHERE id = 1'")
    assert found.target == "10.0.3.12"
    assert found.environment is None  # the policy treats it as production


def test_sqlite_project_file_losing_nothing_is_local_work() -> None:
    (found,) = run("sqlite3 data/app.db 'UPDATE jobs SET a = 1 WHERE id = 2'")
    assert (found.effect, found.target, found.environment) == (
        Effect.LOCAL,
        "data/app.db",
        Environment.LOCAL,
    )


def test_sqlite_project_file_is_a_local_target_but_still_a_write() -> None:
    (found,) = run("sqlite3 data/app.db 'DELETE FROM jobs'")
    assert (found.effect, found.target, found.environment) == (
        Effect.WRITE,
        "data/app.db",
        Environment.LOCAL,
    )


def test_custom_django_command_with_production_settings_is_unknown() -> None:
    env = {"DJANGO_SETTINGS_MODULE": "app.settings.production"}
    (found,) = run("python manage.py purge_orders", env=env)
    assert found.effect is Effect.UNKNOWN


def test_psql_shell_escape_is_handed_to_the_shell_classifier() -> None:
    ctx = MemoryContext()
    run("psql app", stdin="\\! rm -rf ~\n", ctx=ctx)
    assert ctx.nested == [("rm -rf ~", "sql client shell escape", None)]


def test_sqlite_credential_store_is_a_secret_read() -> None:
    found = run("sqlite3 ~/.config/gcloud/credentials.db 'select * from credentials'")
    assert any(f.effect is Effect.SECRET for f in found)


def test_sqlite_project_database_read_is_not_secret() -> None:
    found = run("sqlite3 db/development.sqlite3 'select * from users'")
    assert all(f.effect is Effect.READ for f in found)
