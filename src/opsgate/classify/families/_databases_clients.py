"""Database clients: SQL shells, Redis, MongoDB, and the PostgreSQL/MySQL utilities."""

from __future__ import annotations

import posixpath
from dataclasses import replace

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.datastores import classify_mongo, classify_redis, classify_redis_script
from opsgate.classify.families._databases_conn import (
    _C,
    _D,
    _DROP,
    _R,
    _READ,
    _S,
    _W,
    _bind,
    _interactive,
    _locate,
    _payloads,
    _Rule,
    _rule,
    _sql,
)
from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = [
    "_fixed",
    "_invoke_sqlcmd",
    "_mongo_tool",
    "_mongosh",
    "_mysqladmin",
    "_pg_restore",
    "_redis_cli",
    "_sql_client",
    "_sqlite",
]

_SQL_DIALECT = {
    "psql": "postgres",
    "pgcli": "postgres",
    "mycli": "mysql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite3": "sqlite",
    "sqlcmd": "tsql",
    "invoke-sqlcmd": "tsql",
    "clickhouse-client": "clickhouse",
    "clickhouse": "clickhouse",
    "cockroach": "postgres",
}


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
        # The last of a repeated -h or -d first: it is the one the client connects to.
        named = [*cmd.options(*hosts)[::-1], *cmd.options(*dbs)[::-1], *positional[:1]]
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
    if db == ":memory:":
        return [_scratch(f) for f in found]
    # The file as the guard must see it: a relative name is read from the project, so
    # one run elsewhere is placed (``cd ~/.opsgate && sqlite3 audit.db …``).
    where = db
    if not db.startswith(("/", "~")) and cmd.cwd and cmd.cwd != ctx.project_dir:
        where = posixpath.join(cmd.cwd, db)
    if db.startswith(_SCRATCH):
        found = [_scratch(f) for f in found]
        return _bind(found, (where, Environment.LOCAL, f"scratch database file {db}"))
    named = cmd.positionals(valued)
    if named and named[0].static and _in_project(where, ctx):
        found = [_project_file(f) for f in found]
        return _bind(found, (where, Environment.LOCAL, f"the project's database file {db}"))
    return _bind(found, (where, Environment.LOCAL, f"local database file {db}"))


def _in_project(where: str, ctx: Context) -> bool:
    """Whether the database file is the project's own, where its link leads too
    (``dev.db -> ~/.local/share/app/db.sqlite`` is not)."""
    project = ctx.project_dir
    if not project or where.startswith("~") or ".." in where.split("/"):
        return False
    full = where if where.startswith("/") else posixpath.join(project, where)
    files = getattr(getattr(ctx, "session", None), "files", None)
    real = files.real(full) if files is not None else full
    inside = [p.startswith(project.rstrip("/") + "/") for p in (full, real)]
    return all(inside) and "/.git/" not in real


def _project_file(f: Finding) -> Finding:
    """A change to the project's own SQLite file that loses nothing (a table created,
    rows added, rows changed by a condition) is local work, like editing a file of the
    project; dropping, truncating or emptying still loses data and stays a write."""
    if f.effect is _W and f.category.startswith("database.") and f.impact < Impact.DESTRUCTIVE:
        return replace(f, effect=Effect.LOCAL)
    return f


def _scratch(f: Finding) -> Finding:
    """A change to a throwaway database is local, like any temp file's."""
    if f.effect is _W and f.category.startswith("database."):
        return replace(f, effect=Effect.LOCAL, impact=min(f.impact, _C))
    return f


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
