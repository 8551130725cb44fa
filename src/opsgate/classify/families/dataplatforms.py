"""Data platforms outside ``databases``: warehouse and query-engine SQL clients
(bq, snowsql, trino/presto, spark-sql, beeline, usql, duckdb, sqlplus), Neo4j's
cypher-shell and InfluxDB.  Key-value stores and brokers are in ``brokers``.

SQL goes through ``opsgate.classify.sql`` with the client's dialect, from the
same places ``databases`` looks (flags, ``-f`` files, stdin).  Every finding
names the server, project or cluster, so an unnamed remote one counts as
production.
"""

from __future__ import annotations

import re
from dataclasses import replace

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families import _databases_conn as db
from opsgate.classify.families._dataplatforms_cypher import _cypher_shell, classify_cypher
from opsgate.classify.families._verbs import Rule, finding, flags, locate, read, table
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS", "classify_cypher"]

_R, _L, _W, _U, _X = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

_Where = tuple[str, Environment | None, str | None]


# --- SQL clients ------------------------------------------------------------------


def _sql_client(
    dialect: str | None,
    inline: tuple[str, ...],
    files: tuple[str, ...],
    hosts: tuple[str, ...],
    valued: tuple[str, ...],
    *,
    positional_sql: bool = False,
    default: str = "database",
) -> Handler:
    """A SQL client described by its flags; ``positional_sql`` takes the first
    positional word as the connection and the rest as statements (duckdb, usql)."""

    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        positional = [a.value for a in cmd.positionals(valued)]
        named = [*cmd.options(*hosts), *(positional[:1] if positional_sql else [])]
        texts = [*cmd.options(*inline), *(positional[1:] if positional_sql else [])]
        found = db._payloads(cmd, ctx, db._sql(dialect, ctx), texts, cmd.options(*files))
        if found is None:
            quiet = cmd.has("--version", "-V", "--help", "-h", "-v") and not named
            found = [db._rule(db._READ, cmd.text)] if quiet else db._interactive(cmd)
        where = db._locate(cmd, ctx, named)
        if not named:
            where = (default, *where[1:])
        return db._bind(found, where)

    return handle


def _duckdb(cmd: Command, ctx: Context) -> list[Finding]:
    """``duckdb [FILE] ["SQL"…]``: like sqlite3, a database file on this machine."""
    positional = [a.value for a in cmd.positionals(("-c", "-s", "-cmd", "-init", "-f"))]
    dbfile = positional[0] if positional else ":memory:"
    inline = [*cmd.options("-c", "-s", "-cmd"), *positional[1:]]
    found = db._payloads(cmd, ctx, db._sql("duckdb", ctx), inline, cmd.options("-f", "-init"))
    if found is None:
        return db._interactive(cmd)
    if dbfile == ":memory:" or dbfile.startswith(("/tmp/", "/var/tmp/")):
        return [replace(f, effect=_L) if f.effect is _W else f for f in found]
    return db._bind(found, (dbfile, Environment.LOCAL, f"local database file {dbfile}"))


_USQL_DIALECTS = {
    "pg": "postgres",
    "postgres": "postgres",
    "postgresql": "postgres",
    "my": "mysql",
    "mysql": "mysql",
    "sq": "sqlite",
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "ms": "tsql",
    "sqlserver": "tsql",
    "mssql": "tsql",
    "or": "oracle",
    "oracle": "oracle",
    "sf": "snowflake",
    "snowflake": "snowflake",
    "tr": "trino",
    "trino": "trino",
    "ch": "clickhouse",
    "clickhouse": "clickhouse",
}


def _usql(cmd: Command, ctx: Context) -> list[Finding]:
    valued = ("-c", "--command", "-f", "--file", "-o", "--out", "-v", "--set", "-P", "--pset")
    positional = [a.value for a in cmd.positionals(valued)]
    scheme = positional[0].split(":", 1)[0].lower() if positional else ""
    dialect = _USQL_DIALECTS.get(scheme.split("+", 1)[0])
    return _sql_client(
        dialect, ("-c", "--command"), ("-f", "--file"), (), valued, positional_sql=True
    )(cmd, ctx)


def _sqlplus(cmd: Command, ctx: Context) -> list[Finding]:
    """``sqlplus user/pw@db [@script]``; statements from the script or stdin."""
    positional = [a.value for a in cmd.positionals()]
    conn = [p for p in positional if not p.startswith("@") and p != "/nolog"]
    scripts = [p[1:] for p in positional if p.startswith("@")]
    found = db._payloads(cmd, ctx, db._sql("oracle", ctx), (), scripts)
    if found is None:
        found = [db._rule(db._READ, cmd.text)] if cmd.has("-V", "-v") else db._interactive(cmd)
    named = [c.rsplit("@", 1)[1] if "@" in c else c for c in conn[:1]]
    found = [replace(f, evidence=_ORACLE_LOGIN.sub(r"\1/***@", f.evidence)) for f in found]
    return db._bind(found, db._locate(cmd, ctx, named))


_ORACLE_LOGIN = re.compile(r"(\w+)/[^@\s]+@")


# --- bq ---------------------------------------------------------------------------

_BQ_VALUED = flags(
    "--project_id --dataset_id --location --format --api --parameter --destination_table "
    "--max_rows -n --job_id --schema --source_format --time_partitioning_field --label "
    "--destination_kms_key --service_account_credential_file --apilog"
)
_BQ = table(
    {
        read("reads BigQuery metadata or rows", "database.read"): "ls show head wait version "
        "help get-iam-policy",
        Rule(_L, _S, "database.local", "configures the local CLI"): "init",
        Rule(_W, _C, "database.write", "creates or changes BigQuery objects"): "mk update "
        "insert cp load cancel set-iam-policy add-iam-policy-binding undelete partition "
        "extract",
        Rule(_W, _D, "database.drop", "deletes BigQuery tables or datasets"): "rm "
        "remove-iam-policy-binding truncate",
        Rule(_U, _C, "database.unknown", "opens an interactive session"): "shell",
    }
)


def _bq(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_BQ_VALUED)]
    verb = words[0] if words else ""
    objects = [w for w in words[1:] if ":" in w or "." in w]
    project = cmd.option("--project_id") or next(
        (o.split(":", 1)[0] for o in objects if ":" in o), None
    )
    label = f"bigquery project {project}" if project else "bigquery (default project)"
    where = locate(ctx, [project, cmd.option("--dataset_id"), *objects], label)
    where = (label, *where[1:])
    if verb == "query":
        found = db._payloads(
            cmd, ctx, db._sql("bigquery", ctx), [" ".join(words[1:])] if words[1:] else [], ()
        )
        return db._bind(found if found is not None else db._interactive(cmd), where)
    rule = _BQ.get(verb) or Rule(_U, _C, "database.unknown", "unrecognised bq command")
    if verb == "load" and cmd.has("--replace"):
        rule = Rule(_W, _D, "database.write", "replaces a table's rows with the loaded data")
    if verb == "cp" and cmd.has("-f", "--force"):
        rule = Rule(_W, _D, "database.write", "overwrites the destination table")
    return [finding(rule, " ".join(["bq", *words[:2]]), where)]


# --- InfluxDB ---------------------------------------------------------------------

_INFLUX = table(
    {
        read("reads InfluxDB", "database.read"): "ping, version, bucket list, bucket ls,"
        "org list, org ls, task list, task log, user list, dashboards, backup, export, query,"
        "config list, config ls, v1 dbrp, telegrafs, remote list, replication list",
        Rule(_W, _C, "database.write", "writes to InfluxDB"): "write, bucket create,"
        "bucket update, org create, task create, task update, task run, user create, apply,"
        "restore, setup, user password, v1 auth, remote create, replication create,"
        "bucket-schema",
        Rule(_W, _D, "database.delete", "deletes InfluxDB data"): "delete, bucket delete,"
        "org delete, task delete, user delete, stacks remove, remote delete,"
        "replication delete",
        Rule(_X, _C, "secrets.read", "prints API tokens"): "auth list, auth ls, auth create",
        Rule(_L, _S, "database.local", "changes local CLI configuration"): "config create,"
        "config set, config rm, config delete, config update, completion",
        Rule(_U, _C, "database.unknown", "opens an interactive session"): "v1 shell,",
    }
)
_INFLUX_VALUED = flags(
    "--host -host --org -o --bucket -b --token -t -c --active-config -f --file "
    "--org-id --bucket-id -database -execute --start --stop --predicate -precision "
    "-format"
)


def _influx(cmd: Command, ctx: Context) -> list[Finding]:
    host = cmd.option("--host", "-host") or cmd.env.get("INFLUX_HOST")
    where = db._locate(cmd, ctx, [host or "", cmd.option("-c", "--active-config") or ""])
    if where[0] == "database":
        where = ("influxdb (configured host)", *where[1:])
    if cmd.has("-execute", "-import"):  # 1.x: InfluxQL, close enough to SQL for its verbs
        if cmd.has("-import"):
            return db._bind([db._rule(db._WRITE, cmd.text)], where)
        return db._bind(db._sql(None, ctx)(cmd.option("-execute") or "", "influx: "), where)
    words = [a.value for a in cmd.positionals(_INFLUX_VALUED)]
    if not words:
        return db._bind(db._interactive(cmd), where)
    rule = _INFLUX.get(" ".join(words[:2])) or _INFLUX.get(words[0])
    if rule is None:
        rule = Rule(_U, _C, "database.unknown", "unrecognised influx command")
    if words[0] == "query" and re.search(r"\|>\s*to\s*\(", " ".join(words[1:])):
        rule = Rule(_W, _C, "database.write", "a Flux query that writes with to()")
    if words[0] == "restore" and cmd.has("--full"):
        rule = Rule(_W, _D, "database.restore", "replaces all data with the backup")
    return [finding(rule, " ".join(["influx", *words[:2]]), where)]


HANDLERS: dict[str, Handler] = {
    "bq": _bq,
    "snowsql": _sql_client(
        "snowflake",
        ("-q", "--query"),
        ("-f", "--filename"),
        ("-a", "--accountname", "-c", "--connection", "-d", "--dbname"),
        (
            "-q",
            "--query",
            "-f",
            "--filename",
            "-a",
            "--accountname",
            "-c",
            "--connection",
            "-d",
            "--dbname",
            "-u",
            "--username",
            "-s",
            "--schemaname",
            "-w",
            "--warehouse",
            "-r",
            "--rolename",
            "-o",
            "--option",
        ),
        default="snowflake (default connection)",
    ),
    **dict.fromkeys(
        ("trino", "presto", "presto-cli", "trino-cli"),
        _sql_client(
            "trino",
            ("--execute", "-e"),
            ("-f", "--file"),
            ("--server", "--catalog"),
            (
                "--execute",
                "-e",
                "-f",
                "--file",
                "--server",
                "--catalog",
                "--schema",
                "--user",
                "--output-format",
                "--session",
                "--source",
                "--password",
            ),
            default="trino (configured server)",
        ),
    ),
    "spark-sql": _sql_client(
        "spark",
        ("-e",),
        ("-f", "-i"),
        ("--master", "--database"),
        (
            "-e",
            "-f",
            "-i",
            "--master",
            "--database",
            "--conf",
            "--hiveconf",
            "--name",
            "--deploy-mode",
            "--driver-memory",
            "--executor-memory",
        ),
        default="spark (metastore)",
    ),
    "beeline": _sql_client(
        "hive",
        ("-e",),
        ("-f", "-i"),
        ("-u",),
        ("-e", "-f", "-i", "-u", "-n", "-p", "-d"),
        default="hive (configured server)",
    ),
    "usql": _usql,
    "duckdb": _duckdb,
    "sqlplus": _sqlplus,
    "cypher-shell": _cypher_shell,
    "influx": _influx,
}
