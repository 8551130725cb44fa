"""Database clients and migration tools.

A client executes SQL (or Redis/Mongo commands) from its flags, files or stdin;
every payload is classified, and a payload opsgate cannot see (an unreadable
``-f`` file, dynamic stdin, an interactive session) is unknown.  Every finding
carries the connection as its target (passwords redacted) and any environment
evidence, so an unnamed remote database counts as production.
"""

from __future__ import annotations

from opsgate.classify._command import Arg, Command, Context, Handler
from opsgate.classify.families._databases_clients import (
    _fixed,
    _invoke_sqlcmd,
    _mongo_tool,
    _mongosh,
    _mysqladmin,
    _pg_restore,
    _redis_cli,
    _sql_client,
    _sqlite,
)
from opsgate.classify.families._databases_conn import _C, _D, _DROP, _READ, _W
from opsgate.classify.families._databases_migrations import (
    _ALEMBIC,
    _ATLAS,
    _DB_MIGRATE,
    _DBMATE,
    _DIESEL,
    _DRIZZLE,
    _FLYWAY,
    _GOOSE,
    _GRAPHILE_MIGRATE,
    _HASURA,
    _KNEX,
    _MIGRATE_GO,
    _MIKRO_ORM,
    _NODE_PG_MIGRATE,
    _PGROLL,
    _PRISMA,
    _SEQUELIZE,
    _SKEEMA,
    _SQITCH,
    _SQLX,
    _TERN,
    _TYPEORM,
    _rails,
    _task_tool,
    classify_django_manage,
    liquibase,
)
from opsgate.models import Finding

__all__ = ["HANDLERS", "classify_django_manage"]


_ALEMBIC_TASKS = _task_tool(_ALEMBIC, env_flags=("-n", "--name", "-x", "-c", "--config"))


def _alembic(cmd: Command, ctx: Context) -> list[Finding]:
    """Alembic's tasks; on the project's own SQLite file (``_run_dbconfig``), local."""
    from opsgate.classify._run_dbconfig import alembic_env, alembic_local, place_local

    found = _ALEMBIC_TASKS(cmd, ctx)
    local = alembic_local(cmd, ctx) if found else None
    if local is None:
        return found
    # Taken as local work only with what env.py (Python alembic runs) does judged too.
    return place_local(found, local) + alembic_env(cmd, ctx)


def _rake(cmd: Command, ctx: Context) -> list[Finding]:
    """Rails' own tasks by name, and the project's Rakefile tasks by their bodies."""
    from opsgate.classify._run_dbconfig import rakefile_owns
    from opsgate.classify._run_tasks import rake_findings

    if rakefile_owns(cmd, ctx):  # ``db:migrate`` of a Rakefile without Rails: its body
        return rake_findings(cmd, ctx)
    return _rails(cmd, ctx) + rake_findings(cmd, ctx)


_PSQL_VALUED = (
    "-c",
    "--command",
    "-d",
    "--dbname",
    "-f",
    "--file",
    "-h",
    "--host",
    "-p",
    "--port",
    "-U",
    "--username",
    "-v",
    "--set",
    "--variable",
    "-o",
    "--output",
    "-L",
    "--log-file",
    "-P",
    "--pset",
    "-F",
    "-R",
    "-T",
)
_MYSQL_VALUED = (
    "-e",
    "--execute",
    "-h",
    "--host",
    "-u",
    "--user",
    "-P",
    "--port",
    "-D",
    "--database",
    "-S",
    "--socket",
    "--defaults-file",
    "--default-character-set",
)


def _litecli(cmd: Command, ctx: Context) -> list[Finding]:
    """``litecli DB -e SQL``: sqlite3's reading, with ``-e`` as the inline SQL."""
    db = [a for a in cmd.positionals(("-e", "--execute", "--liteclirc", "-D", "--database"))]
    database = cmd.option("-D", "--database")
    head = [Arg(database)] if database else db[:1]
    sql = [Arg(v) for v in cmd.options("-e", "--execute")]
    as_sqlite = Command("sqlite3", (*head, *sql), cmd.text, cmd.env, cmd.stdin, cmd.cwd)
    return _sqlite(as_sqlite, ctx)


HANDLERS: dict[str, Handler] = {
    "psql": _sql_client(
        ("-c", "--command"),
        ("-f", "--file"),
        ("-h", "--host"),
        ("-d", "--dbname"),
        _PSQL_VALUED,
        ("-l", "--list"),
    ),
    **dict.fromkeys(
        ("mysql", "mariadb"),
        _sql_client(("-e", "--execute"), (), ("-h", "--host"), ("-D", "--database"), _MYSQL_VALUED),
    ),
    "sqlcmd": _sql_client(
        ("-Q", "-q"), ("-i",), ("-S",), ("-d",), ("-Q", "-q", "-i", "-S", "-d", "-U", "-P", "-o")
    ),
    "cockroach": _sql_client(
        ("-e", "--execute"),
        ("-f", "--file"),
        ("--host", "--url"),
        ("-d", "--database"),
        ("-e", "--execute", "--url", "--host", "-d"),
    ),
    **dict.fromkeys(
        ("clickhouse-client", "clickhouse"),
        _sql_client(
            ("-q", "--query"),
            ("--queries-file",),
            ("-h", "--host"),
            ("-d", "--database"),
            ("-q", "--query", "-h", "--host", "-d", "--database", "--port", "-u", "--user"),
        ),
    ),
    "cqlsh": _sql_client(
        ("-e", "--execute"),
        ("-f", "--file"),
        (),
        ("-k", "--keyspace"),
        ("-e", "--execute", "-f", "--file", "-k", "-u", "-p"),
    ),
    "sqlite3": _sqlite,
    # The friendlier clients take the same SQL: judged by it, like their classic peers.
    "mycli": _sql_client(
        ("-e", "--execute"),
        (),
        ("-h", "--host"),
        ("-D", "--database"),
        (*_MYSQL_VALUED, "-S", "--socket", "--login-path", "--myclirc", "-R", "--prompt"),
    ),
    "pgcli": _sql_client(
        (), (), ("-h", "--host"), ("-d", "--dbname"), (*_PSQL_VALUED, "-D", "--dsn")
    ),
    "litecli": _litecli,
    "invoke-sqlcmd": _invoke_sqlcmd,
    # Valkey and KeyDB ship Redis's client under their own names.
    **dict.fromkeys(("redis-cli", "valkey-cli", "keydb-cli"), _redis_cli),
    **dict.fromkeys(("mongosh", "mongo"), _mongosh),
    **dict.fromkeys(("mongodump", "mongoexport", "mongorestore", "mongoimport"), _mongo_tool),
    **dict.fromkeys(
        ("pg_dump", "pg_dumpall", "mysqldump", "mariadb-dump", "pg_isready"), _fixed(_READ)
    ),
    "pg_restore": _pg_restore,
    "dropdb": _fixed(_DROP),
    "dropuser": _fixed(("database.drop", _D, _W, "drops a database role")),
    "createdb": _fixed(("database.ddl", _C, _W, "creates a database")),
    "createuser": _fixed(("database.grant", _C, _W, "creates a database role")),
    "mysqladmin": _mysqladmin,
    "rails": _rails,
    "rake": _rake,
    "prisma": _task_tool(_PRISMA, depth=2),
    "knex": _task_tool(_KNEX),
    **dict.fromkeys(("sequelize", "sequelize-cli"), _task_tool(_SEQUELIZE)),
    **dict.fromkeys(
        ("typeorm", "typeorm-ts-node-commonjs", "typeorm-ts-node-esm"), _task_tool(_TYPEORM)
    ),
    "alembic": _alembic,
    "flyway": _task_tool(_FLYWAY),
    "liquibase": liquibase,
    "goose": _task_tool(_GOOSE),
    "migrate": _task_tool(_MIGRATE_GO, url_flags=("-database", "-path", "-source")),
    "dbmate": _task_tool(_DBMATE),
    "diesel": _task_tool(_DIESEL, depth=2),
    "drizzle-kit": _task_tool(_DRIZZLE, url_flags=("--url", "--config")),
    "atlas": _task_tool(_ATLAS, url_flags=("-u", "--url", "--to", "--dev-url"), depth=2),
    **dict.fromkeys(
        ("sqlx", "cargo-sqlx"),
        _task_tool(_SQLX, url_flags=("-D", "--database-url", "--source"), depth=2),
    ),
    "sqitch": _task_tool(_SQITCH, url_flags=("-t", "--target", "--db-uri", "--to")),
    "hasura": _task_tool(
        _HASURA, url_flags=("--endpoint", "--database-name", "--down", "--up"), depth=2
    ),
    "mikro-orm": _task_tool(_MIKRO_ORM, url_flags=("--config",)),
    "node-pg-migrate": _task_tool(
        _NODE_PG_MIGRATE, url_flags=("-d", "--database-url-var", "-m", "--migrations-dir")
    ),
    "db-migrate": _task_tool(_DB_MIGRATE, url_flags=("--config", "-m", "--migrations-dir")),
    "graphile-migrate": _task_tool(_GRAPHILE_MIGRATE),
    "skeema": _task_tool(_SKEEMA),
    "pgroll": _task_tool(_PGROLL, url_flags=("--postgres-url", "--schema")),
    "tern": _task_tool(_TERN, url_flags=("-c", "--config", "-m", "--migrations", "-d")),
    **dict.fromkeys(("manage.py", "django-admin"), classify_django_manage),
}
