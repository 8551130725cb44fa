"""Migration tools and frameworks: Rails, Prisma, Knex, Alembic, Flyway, Django …"""

from __future__ import annotations

import re

from opsgate.classify._command import Command, Context, Handler, Stdin
from opsgate.classify._interp import analyse_script
from opsgate.classify.families._databases_conn import (
    _C,
    _D,
    _DROP,
    _MIGRATE,
    _R,
    _READ,
    _RESET,
    _REVERT,
    _S,
    _U,
    _UNSEEN,
    _W,
    _bind,
    _interactive,
    _locate,
    _payloads,
    _Rule,
    _rule,
    _sql,
)
from opsgate.classify.families._shells_run import _shell_fn
from opsgate.models import Environment, Finding

__all__ = [
    "_ALEMBIC",
    "_ATLAS",
    "_DBMATE",
    "_DB_MIGRATE",
    "_DIESEL",
    "_DRIZZLE",
    "_FLYWAY",
    "_GOOSE",
    "_GRAPHILE_MIGRATE",
    "_HASURA",
    "_KNEX",
    "_LIQUIBASE",
    "_MIGRATE_GO",
    "_MIKRO_ORM",
    "_NODE_PG_MIGRATE",
    "_PGROLL",
    "_PRISMA",
    "_SEQUELIZE",
    "_SKEEMA",
    "_SQITCH",
    "_SQLX",
    "_TERN",
    "_TYPEORM",
    "_rails",
    "_task_tool",
    "classify_django_manage",
    "liquibase",
]


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
        if not found:
            return []
        from opsgate.classify._run_dbconfig import place_local
        from opsgate.classify._run_dblocal import local_database

        local = local_database(cmd, ctx)  # the project's SQLite file, by its config
        if local is not None:
            return place_local(found, local)
        return _bind(found, _locate(cmd, ctx, named))

    return handle


# Flags that let a schema push drop what the new schema lacks, by (tool, task).
_LOSS_FLAGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("prisma", "db push"): ("--accept-data-loss", "--force-reset"),
    ("drizzle-kit", "push"): ("--force",),  # accepts every data-loss statement unasked
    ("skeema", "push"): ("--allow-unsafe",),
    ("hasura", "migrate apply"): ("--down",),
}


def _adjust(cmd: Command, key: str, rule: _Rule) -> _Rule:
    """Flags that turn a write into a loss or a preview."""
    loss = _LOSS_FLAGS.get((cmd.name, key))
    if loss and cmd.has(*loss) and rule[2] is _W:
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


# Liquibase's ``*-sql`` verbs print the SQL their namesake would run and change nothing
# (``update-sql``, ``rollback-count-sql``, ``future-rollback-sql`` …).
_LIQUIBASE = _tasks(
    {
        _READ: "status history diff validate update-sql updateSQL rollback-sql rollbackSQL "
        "update-count-sql updateCountSQL update-to-tag-sql updateToTagSQL rollback-count-sql "
        "rollbackCountSQL rollback-to-date-sql rollbackToDateSQL changelog-sync-sql "
        "changelogSyncSQL changelog-sync-to-tag-sql changelogSyncToTagSQL future-rollback-sql "
        "futureRollbackSQL future-rollback-count-sql futureRollbackCountSQL "
        "future-rollback-from-tag-sql futureRollbackFromTagSQL update-testing-rollback-sql "
        "diff-changelog diffChangeLog generate-changelog generateChangeLog snapshot "
        "snapshot-reference db-doc dbDoc list-locks listLocks calculate-checksum "
        "calculateChecksum tag-exists tagExists unexpected-changesets unexpectedChangeSets "
        "checks",
        _MIGRATE: "update update-count updateCount update-to-tag updateToTag changelog-sync "
        "changelogSync changelog-sync-to-tag changelogSyncToTag tag release-locks "
        "releaseLocks clear-checksums clearCheckSums mark-next-changeset-ran "
        "markNextChangeSetRan update-testing-rollback updateTestingRollback",
        _REVERT: "rollback rollback-count rollbackCount rollback-to-date rollbackToDate "
        "rollback-one-changeset rollback-one-update",
        _DROP: "drop-all dropAll",
    }
)


def liquibase(cmd: Command, ctx: Context) -> list[Finding]:
    """Liquibase's verbs, and ``execute-sql``: the statements it is given, judged as SQL
    (``--sql``, ``--sql-file``); none given, statements opsgate cannot see."""
    found = _task_tool(_LIQUIBASE)(cmd, ctx)
    if not {"execute-sql", "executeSql"} & set(cmd.words):
        return found
    urls = cmd.options("--url", "-url") or [
        w.split("=", 1)[1] for w in cmd.words if w.startswith("-url=")
    ]
    sql = _payloads(cmd, ctx, _sql(None, ctx), cmd.options("--sql"), cmd.options("--sql-file"))
    return found + _bind(sql or [_rule(_UNSEEN, cmd.text)], _locate(cmd, ctx, urls))


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


# The newer migration tools (each tool's command reference).  Tasks that only write
# migration files into the project (generate, create, new) are left out: they are
# ordinary workspace writes.
_DRIZZLE = _tasks({_READ: "check export pull introspect", _MIGRATE: "migrate push"})

_ATLAS = _tasks(
    {
        _READ: "schema inspect, schema diff, migrate status, migrate lint, migrate validate",
        _MIGRATE: "schema apply, migrate apply",
        _REVERT: "migrate down,",
        ("database.drop", _D, _W, "drops every object in the schema"): "schema clean,",
    }
)

_SQLX = _tasks(
    {
        _READ: "migrate info,",
        _MIGRATE: "migrate run, database setup, database create",
        _REVERT: "migrate revert,",
        _RESET: "database reset,",
        _DROP: "database drop,",
    }
)

_SQITCH = _tasks(
    {
        _READ: "status log verify plan show",
        _MIGRATE: "deploy",
        _REVERT: "revert rebase checkout",
    }
)

_HASURA = _tasks(
    {
        _READ: "migrate status, metadata diff, metadata export, metadata inconsistency",
        _MIGRATE: "migrate apply, metadata apply, metadata reload, seed apply",
        _RESET: "metadata clear, metadata reset",
    }
)

_MIKRO_ORM = _tasks(
    {
        _READ: "migration:list migration:pending migration:check debug",
        _MIGRATE: "migration:up schema:create schema:update seeder:run database:create",
        _REVERT: "migration:down",
        _RESET: "migration:fresh schema:fresh",
        _DROP: "schema:drop",
        _UNSEEN: "database:import",
    }
)

_NODE_PG_MIGRATE = _tasks({_MIGRATE: "up", _REVERT: "down redo"})

_DB_MIGRATE = _tasks({_MIGRATE: "up db:create", _REVERT: "down", _RESET: "reset", _DROP: "db:drop"})

_GRAPHILE_MIGRATE = _tasks(
    {_READ: "status", _MIGRATE: "migrate watch commit", _REVERT: "uncommit", _RESET: "reset"}
)

_SKEEMA = _tasks({_READ: "diff lint pull format", _MIGRATE: "push"})

_PGROLL = _tasks({_READ: "status", _MIGRATE: "start complete migrate", _REVERT: "rollback"})

_TERN = _tasks({_READ: "status", _MIGRATE: "migrate"})


def _rails(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(("-e", "--environment"))]
    if words[:1] in (["dbconsole"], ["db"]):
        found = _payloads(cmd, ctx, _sql(None, ctx), (), ()) or _interactive(cmd)
        return _bind(found, _locate(cmd, ctx, cmd.options("-e", "--environment")))
    sandboxed = words[:1] in (["console"], ["c"]) and cmd.has("--sandbox", "-s")
    if sandboxed and cmd.stdin is not None and cmd.stdin.text is not None:
        return _bind(_sandbox(cmd, ctx, cmd.stdin), _locate(cmd, ctx, cmd.options("-e")))
    if words[:1] in (["runner"], ["console"], ["c"], ["r"]):
        from opsgate.classify._run_evals import rails_runner_code

        why = "runs application code against the database"
        return rails_runner_code(cmd, ctx, words) + _bind(
            [_rule(("database.unknown", _C, _U, why), cmd.text)],
            _locate(cmd, ctx, cmd.options("-e", "--environment")),
        )
    return _task_tool(_RAILS, env_flags=("-e", "--environment"))(cmd, ctx)


# What a console sandbox's transaction does not undo: raw SQL on the connection (MySQL
# DDL commits implicitly), other connections, caches and queues, mail, files, network.
_SANDBOX_ESCAPES = re.compile(
    r"\b(execute|exec_query|exec_update|exec_delete|connection|establish_connection|"
    r"connected_to|commit|Migration|drop_table|Redis|cache|flushall|flushdb|deliver\w*|"
    r"perform_\w+|Sidekiq|File|FileUtils|Dir|IO|Net|HTTP\w*|Faraday|Aws|Stripe|"
    r"Kernel|system|exec|spawn|fork|`)"
)


def _sandbox(cmd: Command, ctx: Context, stdin: Stdin) -> list[Finding]:
    """``rails console --sandbox`` with its input in view: every database change is
    rolled back on exit, so the session reads; what the Ruby itself does (``system``,
    ``File.delete``, printing ``ENV``) is judged like ``ruby -e``."""
    if stdin.untrusted:
        return [_rule(("database.unknown", _C, _U, "runs fetched or decoded Ruby"), cmd.text)]
    if _SANDBOX_ESCAPES.search(stdin.text or ""):
        why = "Ruby that reaches past the sandbox's transaction (SQL, caches, jobs, files)"
        return [_rule(("database.unknown", _C, _U, why), cmd.text)]
    why = "a sandboxed console: database changes are rolled back on exit"
    found = analyse_script("ruby", stdin.text or "", ctx, _shell_fn(ctx, "rails console"),
                           printed=True)  # fmt: skip
    return [_rule(("database.read", _S, _R, why), cmd.text), *found]


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
    if rule is None and sub and sub not in _DJANGO_LOCAL:
        from opsgate.classify._run_dbconfig import django_command_file

        found = django_command_file(cmd, ctx, sub)  # the project's own command: its code
        if where[1] is None or where[1] <= Environment.LOCAL:
            return found
        rule = ("database.unknown", _C, _U, f"custom command {sub} with {where[2]}")
        return found + _bind([_rule(rule, cmd.text)], where)
    if rule is None:
        return []
    found = [_rule(rule, cmd.text)]
    if where[1] is None and not named:
        from opsgate.classify._run_dbconfig import django_local, place_local

        local = django_local(cmd, ctx)  # the settings name only a SQLite file here
        if local is not None:
            return place_local(found, local[0]) + local[1]
    return _bind(found, where)
