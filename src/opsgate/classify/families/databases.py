"""Database clients and migration tools.

A client executes SQL (or Redis/Mongo commands) from its flags, files or stdin;
every payload is classified, and a payload opsgate cannot see (an unreadable
``-f`` file, dynamic stdin, an interactive session) is unknown.  Every finding
carries the connection as its target (passwords redacted) and any environment
evidence, so an unnamed remote database counts as production.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.datastores import classify_mongo, classify_redis, classify_redis_script
from opsgate.classify.paths import is_secret_path
from opsgate.classify.sql import classify_sql
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS", "classify_django_manage"]

_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE
_R, _W, _U = Effect.READ, Effect.WRITE, Effect.UNKNOWN
_Rule = tuple[str, Impact, Effect, str]
_READ: _Rule = ("database.read", _S, _R, "reads the database")
_MIGRATE: _Rule = ("database.migrate", _C, _W, "applies schema migrations")
_REVERT: _Rule = ("database.migrate_down", _D, _W, "reverts migrations, dropping schema and data")
_DROP: _Rule = ("database.drop", _D, _W, "drops the database")
_RESET: _Rule = ("database.reset", _D, _W, "drops and recreates the database")
_WRITE: _Rule = ("database.write", _C, _W, "writes to the database")
_UNSEEN: _Rule = ("database.unknown", _C, _U, "runs statements opsgate cannot see")

_URL_CREDS = re.compile(r"(?<=//)[^/@\s]*@")
_PASSWORD_OPT = re.compile(r"(--password=|-p(?=\S)|-a\s+|--pass\s+)\S+")
_ENV_VARS = (
    "RAILS_ENV",
    "RACK_ENV",
    "NODE_ENV",
    "APP_ENV",
    "FLASK_ENV",
    "ENVIRONMENT",
    "DJANGO_SETTINGS_MODULE",
)
_URL_VARS = (
    "DATABASE_URL",
    "PGHOST",
    "MYSQL_HOST",
    "REDIS_URL",
    "REDIS_HOST",
    "MONGO_URI",
    "MONGO_URL",
    "MONGODB_URI",
    "PGDATABASE",
)
_SQL_DIALECT = {
    "psql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite3": "sqlite",
    "sqlcmd": "tsql",
    "invoke-sqlcmd": "tsql",
    "clickhouse-client": "clickhouse",
    "clickhouse": "clickhouse",
    "cockroach": "postgres",
}


def redact(text: str) -> str:
    """``postgres://app:pw@db/app`` → ``postgres://***@db/app``."""
    return _URL_CREDS.sub("***@", text)


# --- connection: target and environment ---------------------------------------


def _locate(
    cmd: Command, ctx: Context, named: Iterable[str]
) -> tuple[str, Environment | None, str | None]:
    """Target (first host/URL/db named) and the most sensitive environment evidence."""
    candidates = [w for w in named if w]
    candidates += [cmd.env[v] for v in _URL_VARS if cmd.env.get(v)]
    target = redact(candidates[0]) if candidates else "database"
    env: Environment | None = None
    source: str | None = None
    labelled = [(v, cmd.env[v]) for v in _ENV_VARS if cmd.env.get(v)]
    for label, text in [*labelled, *((redact(c), c) for c in candidates)]:
        hit = ctx.environment_of(text)
        if hit is not None and (env is None or hit[0] > env):
            env, source = hit[0], f"{label}={text}" if label in _ENV_VARS else hit[1]
    return target, env, source


def _bind(
    findings: list[Finding], where: tuple[str, Environment | None, str | None]
) -> list[Finding]:
    target, env, source = where
    return [
        replace(
            f,
            target=f.target or target,
            environment=f.environment or env,
            env_source=f.env_source or source,
        )
        for f in findings
    ]


def _rule(rule: _Rule, evidence: str) -> Finding:
    category, impact, effect, reason = rule
    text = _PASSWORD_OPT.sub(lambda m: m.group(1) + "***", redact(evidence))
    return Finding(category, impact, effect, text[:200], reason)


# --- payloads: flags, files, stdin ---------------------------------------------

_Classify = Callable[[str, str], list[Finding]]  # (payload, evidence prefix) → findings


def _payloads(
    cmd: Command, ctx: Context, classify: _Classify, inline: Iterable[str], files: Iterable[str]
) -> list[Finding] | None:
    """Findings for every payload the client would run, or None when it has none."""
    found: list[Finding] = []
    seen = False
    for text in inline:
        seen = True
        found += classify(text, f"{cmd.name}: ")
    for path in files:
        seen = True
        found += _from_file(cmd, ctx, path, classify)
    if cmd.stdin is not None:
        seen = True
        found += _from_stdin(cmd, ctx, classify)
    return found if seen else None


def _from_file(cmd: Command, ctx: Context, path: str, classify: _Classify) -> list[Finding]:
    text = ctx.read_text(path, cmd.cwd) if not path.startswith("$") else None
    if text is None:
        return [
            _rule(("database.unknown", _C, _U, f"runs {path}, which opsgate cannot read"), cmd.text)
        ]
    return classify(text, f"{path}: ")


def _from_stdin(cmd: Command, ctx: Context, classify: _Classify) -> list[Finding]:
    stdin = cmd.stdin
    assert stdin is not None
    text = stdin.text
    if text is None and stdin.source.startswith("file:"):
        return _from_file(cmd, ctx, stdin.source[5:], classify)
    if text is None or stdin.untrusted:
        why = f"runs input from {stdin.source} that opsgate cannot see or trust"
        return [_rule(("database.unknown", _C, _U, why), cmd.text)]
    return classify(text, "stdin: ")


def _sql(dialect: str | None, ctx: Context) -> _Classify:
    def run(text: str, prefix: str) -> list[Finding]:
        return classify_sql(
            text,
            dialect=dialect,
            evidence_prefix=prefix,
            shell_escape=lambda s: ctx.classify_shell(s, via="sql client shell escape"),
        )

    return run


def _interactive(cmd: Command) -> list[Finding]:
    why = "opens an interactive session opsgate cannot follow"
    return [_rule(("database.unknown", _C, _U, why), cmd.text)]


# --- SQL clients --------------------------------------------------------------


def _sql_client(
    inline: tuple[str, ...],
    files: tuple[str, ...],
    hosts: tuple[str, ...],
    dbs: tuple[str, ...],
    valued: tuple[str, ...],
    listing: tuple[str, ...] = (),
) -> Handler:
    """A handler for a SQL client described by its flags."""

    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        positional = [a.value for a in cmd.positionals(valued)]
        if cmd.name == "cockroach" or (cmd.name == "clickhouse" and positional[:1] == ["client"]):
            positional = positional[1:]
        named = [*cmd.options(*hosts), *cmd.options(*dbs), *positional[:1]]
        where = _locate(cmd, ctx, named)
        found = _payloads(
            cmd,
            ctx,
            _sql(_SQL_DIALECT.get(cmd.name), ctx),
            cmd.options(*inline),
            cmd.options(*files),
        )
        if found is None:
            quiet = cmd.has(*listing, "--version", "-V", "--help", "-?")
            found = [_rule(_READ, cmd.text)] if quiet else _interactive(cmd)
        return _bind(found, where)

    return handle


# Scratch locations: a database file here is a throwaway, like any temp file.
_SCRATCH = ("/tmp/", "/var/tmp/")


def _sqlite(cmd: Command, ctx: Context) -> list[Finding]:
    valued = ("-cmd", "-init", "-separator", "-nullvalue", "-newline", "-mode", "-vfs")
    positional = [a.value for a in cmd.positionals(valued)]
    db = positional[0] if positional else ":memory:"
    inline = [*cmd.options("-cmd"), *positional[1:]]
    found = _payloads(cmd, ctx, _sql("sqlite", ctx), inline, cmd.options("-init"))
    if found is None:
        return _interactive(cmd)
    if cmd.has("-readonly"):  # the database refuses writes; shell escapes still run
        found = [
            replace(f, effect=_R, impact=_S)
            if f.category.startswith("database.") and f.effect is _W
            else f
            for f in found
        ]
    if is_secret_path(db) and any(f.effect is _R for f in found):
        # A credential store kept as SQLite (gcloud's credentials.db): rows are secrets.
        why = f"reads {db}, a credential store"
        found = [*found, _rule(("secrets.read", _C, Effect.SECRET, why), cmd.text)]
    if db == ":memory:" or db.startswith(_SCRATCH):
        return [
            replace(f, effect=Effect.LOCAL, impact=min(f.impact, _C))
            if f.effect is _W and f.category.startswith("database.")
            else f
            for f in found
        ]
    return _bind(found, (db, Environment.LOCAL, f"local database file {db}"))


def _invoke_sqlcmd(cmd: Command, ctx: Context) -> list[Finding]:
    """PowerShell ``Invoke-Sqlcmd``: parameters are case-insensitive."""
    lowered = Command(
        cmd.name,
        tuple(
            replace(a, value=a.value.lower()) if a.value.startswith("-") else a for a in cmd.args
        ),
        cmd.text,
        cmd.env,
        cmd.stdin,
        cmd.cwd,
    )
    named = [*lowered.options("-serverinstance"), *lowered.options("-database")]
    found = _payloads(
        lowered, ctx, _sql("tsql", ctx), lowered.options("-query"), lowered.options("-inputfile")
    )
    return _bind(found if found is not None else _interactive(cmd), _locate(cmd, ctx, named))


# --- Redis, MongoDB -----------------------------------------------------------

_REDIS_VALUED = (
    "-h",
    "-p",
    "-s",
    "-a",
    "-u",
    "-n",
    "-r",
    "-i",
    "-d",
    "--user",
    "--pass",
    "--askpass",
    "--sni",
    "--cacert",
    "--cacertdir",
    "--cert",
    "--key",
    "--tls-ciphers",
    "--tls-ciphersuites",
    "--eval",
    "--pattern",
    "--count",
    "--quoted-pattern",
    "--memkeys-samples",
    "--functions-rdb",
    "--rdb",
    "--cluster-yes",
    "-e",
    "--hostname",
)
_REDIS_READ_MODES = (
    "--bigkeys",
    "--memkeys",
    "--hotkeys",
    "--scan",
    "--stat",
    "--latency",
    "--latency-history",
    "--latency-dist",
    "--intrinsic-latency",
    "--rdb",
    "--functions-rdb",
    "--version",
    "--help",
    "--lru-test",
)


def _redis_cli(cmd: Command, ctx: Context) -> list[Finding]:
    where = _locate(cmd, ctx, [*cmd.options("-h", "-u", "--hostname")])
    words = [a.value for a in cmd.positionals(_REDIS_VALUED)]
    if cmd.has("--cluster"):
        sub = words[0] if words else ""
        rule = (
            _READ
            if sub in ("check", "info", "help")
            else ("redis.admin", _C, _W, "changes the cluster layout")
        )
        return _bind([_rule(rule, cmd.text)], where)
    script = cmd.option("--eval")
    if script is not None:
        text = ctx.read_text(script, cmd.cwd)
        found = classify_redis(["EVAL", text]) if text else _interactive(cmd)
        return _bind(found, where)
    if words:
        found = classify_redis(words)
        if cmd.has("-x") and not found:
            found = _interactive(cmd)
    else:
        found = _payloads(cmd, ctx, lambda t, _p: classify_redis_script(t), (), ()) or []
        if not found:
            read_mode = cmd.has(*_REDIS_READ_MODES) and not cmd.has("--pipe")
            found = (
                [_rule(("redis.read", _S, _R, "samples keys"), cmd.text)]
                if read_mode
                else (_interactive(cmd))
            )
    return _bind(found, where)


_MONGO_VALUED = (
    "--host",
    "--port",
    "-u",
    "--username",
    "-p",
    "--password",
    "--eval",
    "--file",
    "-f",
    "--authenticationDatabase",
    "--authenticationMechanism",
    "--tlsCAFile",
    "--tlsCertificateKeyFile",
    "--apiVersion",
)


def _mongosh(cmd: Command, ctx: Context) -> list[Finding]:
    positional = [a.value for a in cmd.positionals(_MONGO_VALUED)]
    scripts = [p for p in positional if p.endswith(".js")]
    conn = [p for p in positional if not p.endswith(".js")]
    where = _locate(cmd, ctx, [*cmd.options("--host"), *conn[:1]])
    found = _payloads(
        cmd,
        ctx,
        lambda t, _p: classify_mongo(t),
        cmd.options("--eval"),
        [*cmd.options("--file", "-f"), *scripts],
    )
    return _bind(found if found is not None else _interactive(cmd), where)


def _mongo_tool(cmd: Command, ctx: Context) -> list[Finding]:
    """mongodump/mongoexport read; mongorestore/mongoimport write (``--drop`` destroys)."""
    where = _locate(cmd, ctx, [*cmd.options("--uri", "--host", "-h")])
    if cmd.name in ("mongodump", "mongoexport"):
        rule = _READ
    elif cmd.has("--drop"):
        rule = ("mongo.drop", _D, _W, "drops each collection before restoring it")
    else:
        rule = ("mongo.write", _C, _W, "loads documents into the database")
    return _bind([_rule(rule, cmd.text)], where)


# --- PostgreSQL / MySQL utilities --------------------------------------------


def _fixed(rule: _Rule, hosts: tuple[str, ...] = ("-h", "--host")) -> Handler:
    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        return _bind([_rule(rule, cmd.text)], _locate(cmd, ctx, cmd.options(*hosts)))

    return handle


def _pg_restore(cmd: Command, ctx: Context) -> list[Finding]:
    where = _locate(cmd, ctx, [*cmd.options("-h", "--host"), *cmd.options("-d", "--dbname")])
    if not cmd.has("-d", "--dbname"):  # writes a script or a listing, not a database
        return _bind([_rule(_READ, cmd.text)], where)
    if cmd.has("-c", "--clean"):
        rule: _Rule = ("database.restore", _D, _W, "drops objects before restoring them")
    else:
        rule = ("database.restore", _C, _W, "restores a dump into the database")
    return _bind([_rule(rule, cmd.text)], where)


_MYSQLADMIN: dict[str, _Rule] = {
    **dict.fromkeys(
        ("status", "ping", "processlist", "variables", "version", "extended-status"), _READ
    ),
    "drop": _DROP,
    "create": ("database.ddl", _C, _W, "creates a database"),
}


def _mysqladmin(cmd: Command, ctx: Context) -> list[Finding]:
    where = _locate(cmd, ctx, cmd.options("-h", "--host"))
    words = [a.value for a in cmd.positionals(("-h", "--host", "-u", "--user", "-P", "--port"))]
    rules = [
        _MYSQLADMIN.get(w, ("database.admin", _C, _W, f"runs mysqladmin {w}"))
        for w in words
        if not w[:1].isdigit()
    ]
    return _bind([_rule(r, cmd.text) for r in rules] or [_rule(_READ, cmd.text)], where)


# --- migration tools and frameworks ------------------------------------------


def _task_tool(
    table: dict[str, _Rule],
    env_flags: tuple[str, ...] = ("--env", "-e"),
    url_flags: tuple[str, ...] = ("--url", "-url", "-database", "--database-url"),
    depth: int = 1,
    default: _Rule | None = None,
) -> Handler:
    """Tools driven by a task word (``db:migrate``, ``migrate reset``, ``upgrade``)."""

    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        words = [
            w for w in (a.value for a in cmd.positionals(env_flags + url_flags)) if "=" not in w
        ]
        urls = [w.split("=", 1)[1] for w in cmd.words if w.startswith(("-url=", "--url="))]
        named = [*cmd.options(*url_flags), *urls, *cmd.options(*env_flags)]
        named += [w.split("=", 1)[1] for w in cmd.words if re.match(r"[A-Z_]+_ENV=", w)]
        found = []
        for i in range(len(words)):
            key = " ".join(words[i : i + depth])
            rule = table.get(key) or table.get(words[i])
            if rule is not None:
                rule = _adjust(cmd, key, rule)
                found.append(_rule(rule, cmd.text))
        if not found and default is not None and words:
            found = [_rule(default, cmd.text)]
        return _bind(found, _locate(cmd, ctx, named)) if found else []

    return handle


def _adjust(cmd: Command, key: str, rule: _Rule) -> _Rule:
    """Flags that turn a write into a loss or a preview."""
    if key == "db push" and cmd.has("--accept-data-loss", "--force-reset"):
        return ("database.reset", _D, _W, "pushes a schema that drops data")
    if cmd.has("--sql", "--dry-run", "--dryRun") and rule[2] is _W:
        return ("database.read", _S, _R, "prints the SQL without running it")
    return rule


def _tasks(spec: dict[_Rule, str]) -> dict[str, _Rule]:
    """Names are space-separated, or comma-separated when they are two words."""
    return {
        name.strip(): rule
        for rule, names in spec.items()
        for name in (names.split(",") if "," in names else names.split())
        if name.strip()
    }


_RAILS = _tasks(
    {
        _READ: "db:version db:migrate:status db:abort_if_pending_migrations db:schema:dump "
        "db:structure:dump db:schema:cache:dump",
        _MIGRATE: "db:migrate db:migrate:up db:create db:seed db:setup db:prepare "
        "db:schema:cache:clear db:encryption:init",
        _REVERT: "db:rollback db:migrate:down db:migrate:redo",
        _DROP: "db:drop db:drop:all db:purge db:purge:all",
        _RESET: "db:reset db:schema:load db:structure:load db:truncate_all db:fixtures:load "
        "db:migrate:reset db:test:load_schema",
    }
)
_PRISMA = _tasks(
    {
        _READ: "migrate status, migrate diff, db pull",
        _MIGRATE: "migrate deploy, migrate dev, migrate resolve, db push, db seed",
        _RESET: "migrate reset,",
        _UNSEEN: "db execute,",
    }
)
_KNEX = _tasks(
    {
        _READ: "migrate:status migrate:list migrate:currentVersion",
        _MIGRATE: "migrate:latest migrate:up seed:run",
        _REVERT: "migrate:rollback migrate:down migrate:unlock",
    }
)
_SEQUELIZE = _tasks(
    {
        _READ: "db:migrate:status",
        _MIGRATE: "db:migrate db:seed db:seed:all db:create",
        _REVERT: "db:migrate:undo db:migrate:undo:all db:seed:undo db:seed:undo:all",
        _DROP: "db:drop",
    }
)
_TYPEORM = _tasks(
    {
        _READ: "schema:log migration:show",
        _MIGRATE: "migration:run cache:clear",
        _REVERT: "migration:revert schema:sync",
        _DROP: "schema:drop",
        _UNSEEN: "query",
    }
)
_ALEMBIC = _tasks(
    {
        _READ: "current history heads branches show check",
        _MIGRATE: "upgrade stamp",
        _REVERT: "downgrade",
    }
)
_FLYWAY = _tasks(
    {_READ: "info validate", _MIGRATE: "migrate repair baseline", _REVERT: "undo", _DROP: "clean"}
)
_LIQUIBASE = _tasks(
    {
        _READ: "status history diff validate update-sql updateSQL rollback-sql rollbackSQL "
        "diff-changelog diffChangeLog",
        _MIGRATE: "update update-count updateCount update-to-tag updateToTag changelog-sync "
        "changelogSync tag",
        _REVERT: "rollback rollback-count rollbackCount rollback-to-date rollbackToDate "
        "future-rollback-sql",
        _DROP: "drop-all dropAll",
    }
)
_GOOSE = _tasks(
    {
        _READ: "status version validate",
        _MIGRATE: "up up-by-one up-to fix",
        _REVERT: "down down-to redo reset",
    }
)
_MIGRATE_GO = _tasks({_READ: "version", _MIGRATE: "up goto force", _REVERT: "down", _DROP: "drop"})
_DBMATE = _tasks(
    {_READ: "status dump", _MIGRATE: "up migrate create", _REVERT: "down rollback", _DROP: "drop"}
)
_DIESEL = _tasks(
    {
        _READ: "migration list, print-schema",
        _MIGRATE: "migration run, database setup",
        _REVERT: "migration revert, migration redo",
        _RESET: "database reset,",
        _DROP: "database drop,",
    }
)


def _rails(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(("-e", "--environment"))]
    if words[:1] in (["dbconsole"], ["db"]):
        found = _payloads(cmd, ctx, _sql(None, ctx), (), ()) or _interactive(cmd)
        return _bind(found, _locate(cmd, ctx, cmd.options("-e", "--environment")))
    if words[:1] in (["runner"], ["console"], ["c"], ["r"]):
        why = "runs application code against the database"
        return _bind(
            [_rule(("database.unknown", _C, _U, why), cmd.text)],
            _locate(cmd, ctx, cmd.options("-e", "--environment")),
        )
    return _task_tool(_RAILS, env_flags=("-e", "--environment"))(cmd, ctx)


# --- Django -------------------------------------------------------------------

_DJANGO = _tasks(
    {
        _READ: "sqlflush sqlmigrate sqlsequencereset dumpdata inspectdb showmigrations",
        _MIGRATE: "migrate loaddata createsuperuser changepassword clearsessions createcachetable "
        "remove_stale_contenttypes",
        ("database.delete_all", _D, _W, "deletes every row of every table"): "flush reset_db",
        ("database.unknown", _C, _U, "runs Python against the database"): "shell shell_plus",
    }
)
_DJANGO_LOCAL = frozenset(
    (
        "test", "runserver", "check", "makemigrations", "collectstatic", "startapp",
        "startproject", "compilemessages", "makemessages", "squashmigrations", "help",
        "version",
    )
)  # fmt: skip


def classify_django_manage(cmd: Command, ctx: Context) -> list[Finding]:
    """``python manage.py SUB …`` / ``django-admin SUB …`` (also ``./manage.py``)."""
    words = list(cmd.words)
    start = next((i + 1 for i, w in enumerate(words) if w.endswith("manage.py")), None)
    if start is None:
        start = 0 if cmd.name in ("manage.py", "django-admin") else len(words)
    rest = [w for w in words[start:] if not w.startswith("-")]
    sub = rest[0] if rest else ""
    named = [*cmd.options("--settings"), *cmd.options("--database")]
    where = _locate(cmd, ctx, [])
    if named:
        where = (
            where[0],
            *(
                _locate(Command(cmd.name, (), "", {"DJANGO_SETTINGS_MODULE": named[0]}), ctx, [])[
                    1:
                ]
            ),
        )
    if sub == "dbshell":
        found = _payloads(cmd, ctx, _sql(None, ctx), (), ()) or _interactive(cmd)
        return _bind(found, where)
    rule = _DJANGO.get(sub)
    if sub == "migrate" and (cmd.has("--plan", "--check") or "--help" in words):
        rule = _READ
    elif sub == "migrate" and "zero" in rest[1:]:
        rule = _REVERT
    if rule is None:
        if sub in _DJANGO_LOCAL or not sub or where[1] is None or where[1] <= Environment.LOCAL:
            return []
        rule = ("database.unknown", _C, _U, f"custom command {sub} with {where[2]}")
    return _bind([_rule(rule, cmd.text)], where)


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
    "invoke-sqlcmd": _invoke_sqlcmd,
    "redis-cli": _redis_cli,
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
    **dict.fromkeys(("rails", "rake"), _rails),
    "prisma": _task_tool(_PRISMA, depth=2),
    "knex": _task_tool(_KNEX),
    **dict.fromkeys(("sequelize", "sequelize-cli"), _task_tool(_SEQUELIZE)),
    **dict.fromkeys(
        ("typeorm", "typeorm-ts-node-commonjs", "typeorm-ts-node-esm"), _task_tool(_TYPEORM)
    ),
    "alembic": _task_tool(_ALEMBIC, env_flags=("-n", "--name", "-x", "-c", "--config")),
    "flyway": _task_tool(_FLYWAY),
    "liquibase": _task_tool(_LIQUIBASE),
    "goose": _task_tool(_GOOSE),
    "migrate": _task_tool(_MIGRATE_GO, url_flags=("-database", "-path", "-source")),
    "dbmate": _task_tool(_DBMATE),
    "diesel": _task_tool(_DIESEL, depth=2),
    **dict.fromkeys(("manage.py", "django-admin"), classify_django_manage),
}
