"""Application platforms and frameworks' database tasks: AWS SAM, supabase,
``php artisan``, ``mix`` (Ecto), ``dotnet ef``; and the Linux security switches
(setenforce, AppArmor, auditctl, setsebool).  Kubernetes-adjacent tools are in
``kubetools``; data platforms in ``dataplatforms`` and ``brokers``.

Every change to a cloud stack or a database is a write in every environment
(SPEC §3): the target names the stack or database, so one with no environment
evidence counts as production.  ``--env=production``, ``MIX_ENV=prod``,
``APP_ENV``/``ASPNETCORE_ENVIRONMENT`` and connection strings are evidence.
Turning off SELinux, AppArmor or auditing is a write on the host.
"""

from __future__ import annotations

import re
from dataclasses import replace

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._verbs import (
    Rule,
    finding,
    flags,
    locate,
    read,
    table,
    tool,
)
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS", "classify_artisan", "classify_dotnet_ef"]

_R, _L, _W, _U = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN
_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

_UNKNOWN = Rule(_U, _C, "platform.unknown", "unrecognised subcommand")

# --- AWS SAM, supabase ------------------------------------------------------------

_SAM = table(
    {
        read("reads the deployed stack", "cloud.read"): "logs list traces validate",
        Rule(_L, _S, "cloud.local", "builds or runs functions on this machine"): "build init "
        "local docs",
        Rule(_W, _C, "cloud.write", "deploys the serverless stack"): "deploy sync package "
        "publish remote pipeline",
        Rule(_W, _D, "cloud.delete", "deletes the whole CloudFormation stack"): "delete",
    }
)
_SAM_VALUED = flags(
    "--stack-name --profile --region --config-env --config-file -t --template-file "
    "--template --s3-bucket --parameter-overrides"
)


def _sam_where(cmd: Command, ctx: Context) -> tuple[str, Environment | None, str | None]:
    profile = cmd.option("--profile") or cmd.env.get("AWS_PROFILE")
    stack = cmd.option("--stack-name")
    label = f"aws profile {profile}" if profile else "aws (default profile)"
    label += f", stack {stack}" if stack else ""
    _, env, source = locate(ctx, [profile, stack, cmd.option("--config-env")], label)
    return label, env, source


_SB_LOCAL = Rule(_L, _S, "database.local", "works on the local supabase stack")
_SB_READ = read("reads the project", "database.read")
_SB_WRITE = Rule(_W, _C, "database.migrate", "changes the supabase project")
_SB_DELETE = Rule(_W, _D, "database.reset", "deletes supabase data or resources")
_SUPABASE = table(
    {
        _SB_LOCAL: "start stop init link unlink login logout status gen bootstrap completion "
        "services test",
        _SB_READ: "db diff,db dump,db lint,db pull,migration list,inspect db,projects list,"
        "functions list,secrets list,branches list,storage ls,orgs list,backups list,"
        "functions download,migration new,migration fetch,db start",
        _SB_WRITE: "db push,migration up,migration repair,migration squash,functions deploy,"
        "secrets set,secrets unset,projects create,branches create,branches update,"
        "storage cp,storage mv,config push,sso add,domains create,postgres-config update,"
        "network-restrictions update,ssl-enforcement update,backups restore,seed buckets",
        _SB_DELETE: "db reset,projects delete,branches delete,storage rm,functions delete,"
        "migration down",
    }
)
# Subcommands whose default target is the local stack (``--linked``/``--db-url`` move them).
_SB_LOCAL_DEFAULT = frozenset({"db reset", "migration up", "migration down", "db lint", "test"})


def _supabase(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(("--db-url", "--project-ref", "--workdir", "-s"))]
    key = " ".join(words[:2])
    rule = _SUPABASE.get(key) or _SUPABASE.get(words[0] if words else "") or _UNKNOWN
    url = cmd.option("--db-url")
    ref = cmd.option("--project-ref") or cmd.env.get("SUPABASE_PROJECT_ID")
    remote = bool(url or ref or cmd.has("--linked"))
    evidence = " ".join(["supabase", *words[:2]])
    if rule.effect is _W and (cmd.has("--local") or (key in _SB_LOCAL_DEFAULT and not remote)):
        local = Rule(_L, min(rule.impact, _C), rule.category, f"{rule.reason} (local stack)")
        return [finding(local, evidence, ("supabase (local)", Environment.LOCAL, "--local"))]
    if rule.effect is _W and cmd.has("--dry-run"):
        rule = read("dry run: nothing is changed", "database.read")
    names = [_redact(url) if url else None, ref]
    label = names[0] or (f"supabase project {ref}" if ref else "supabase (linked project)")
    _, env, source = locate(ctx, [n for n in names if n], label)
    return [finding(rule, evidence, (label, env, source))]


# --- framework database tasks ---------------------------------------------------

_DB_READ = read("reads the database", "database.read")
_DB_LOCAL = Rule(_L, _S, "database.local", "works on the project only")
_MIGRATE = Rule(_W, _C, "database.migrate", "applies schema migrations")
_REVERT = Rule(_W, _D, "database.migrate_down", "reverts migrations, dropping schema and data")
_RESET = Rule(_W, _D, "database.reset", "drops every table and rebuilds the database")
_DROP = Rule(_W, _D, "database.drop", "drops the database")
_CODE = Rule(_U, _C, "database.unknown", "runs application code against the database")

_ARTISAN = table(
    {
        _DB_READ: "migrate:status db:show db:table db:monitor model:show schedule:list about "
        "route:list list help env event:list queue:monitor queue:failed",
        _MIGRATE: "migrate migrate:install db:seed queue:retry queue:forget",
        _REVERT: "migrate:rollback",
        _RESET: "migrate:fresh migrate:reset migrate:refresh db:wipe queue:flush queue:clear",
        _CODE: "tinker db schedule:run schedule:test",
    }
)
_MIX = table(
    {
        _DB_READ: "ecto.migrations",
        _MIGRATE: "ecto.migrate ecto.create ecto.setup ecto.load",
        _REVERT: "ecto.rollback",
        _RESET: "ecto.reset",
        _DROP: "ecto.drop",
        Rule(_W, _C, "registry.publish", "publishes a package to hex.pm"): "hex.publish",
    }
)
_APP_ENV_VARS = ("APP_ENV", "MIX_ENV", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT")


def _app_where(
    cmd: Command, ctx: Context, label: str, names: list[str | None]
) -> tuple[str, Environment | None, str | None]:
    labelled = [f"{v}={cmd.env[v]}" for v in _APP_ENV_VARS if cmd.env.get(v)]
    _, env, source = locate(ctx, [*labelled, *names], label)
    return label, env, source


def _task(
    cmd: Command, ctx: Context, words: list[str], rules: dict[str, Rule], label: str
) -> list[Finding]:
    env_flag = cmd.option("--env")
    db = cmd.option("--database")
    where = _app_where(cmd, ctx, f"{label} database" + (f" {db}" if db else ""), [env_flag, db])
    sub = words[0] if words else ""
    rule = rules.get(sub)
    if rule is None and sub in _BUILD_TASKS:
        return []  # building a production release is local work: nothing is deployed
    if rule is None:
        # Project work (tests, generators, caches) is local; a custom command run
        # with production evidence is application code against production.
        if where[1] is None or where[1] <= Environment.DEVELOPMENT:
            return []
        rule = Rule(_U, _C, "database.unknown", f"custom command {sub} with {where[2]}")
    if rule.effect is _W and cmd.has("--pretend"):
        rule = read("prints the SQL without running it", "database.read")
    return [finding(rule, f"{cmd.name} {sub}".strip(), where)]


# Tasks that build or check artefacts in the project, whatever the environment flag says.
_BUILD_TASKS = frozenset(
    {"release", "compile", "deps.get", "deps.compile", "assets.deploy", "phx.digest", "test",
     "format", "credo", "dialyzer", "docs", "escript.build", "optimize", "config:cache",
     "route:cache", "view:cache", "event:cache", "optimize:clear", "about", "list", "help"}
)  # fmt: skip


def classify_artisan(cmd: Command, ctx: Context) -> list[Finding]:
    """``php artisan TASK …`` (``cmd.name`` php) or ``./artisan TASK …``."""
    words = [a.value for a in cmd.positionals(("--env", "--database", "--path", "--class"))]
    if cmd.name != "artisan":  # ``php [-d k=v] artisan TASK``: the task follows the script
        at = next((i for i, w in enumerate(words) if w.rsplit("/", 1)[-1] == "artisan"), None)
        words = words[at + 1 :] if at is not None else []
    from opsgate.classify._run_evals import artisan_reveals

    found = artisan_reveals(cmd, ctx, words)  # ``config:show database``, ``tinker --execute``
    return found + _task(replace(cmd, name="artisan"), ctx, words, _ARTISAN, "laravel")


def _mix(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_evals import mix_eval

    words = [a.value for a in cmd.positionals(("-r", "--repo", "--to", "-n", "--step"))]
    return mix_eval(cmd, ctx) + _task(cmd, ctx, words, _MIX, "ecto")


_EF = table(
    {
        _DB_READ: "migrations list,dbcontext info,dbcontext list,"
        "migrations has-pending-model-changes",
        _DB_LOCAL: "migrations add,migrations script,migrations bundle,dbcontext scaffold,"
        "dbcontext optimize,dbcontext script,migrations remove",
        _MIGRATE: "database update,",
        _DROP: "database drop,",
    }
)
_CONN_SECRET = re.compile(r"((?:password|pwd)\s*=)[^;]*", re.IGNORECASE)
_CONN_HOST = re.compile(r"(?:server|data source|host|addr|address)\s*=\s*([^;]+)", re.I)
_EF_VALUED = flags(
    "--connection --project -p --startup-project -s --context -c --configuration "
    "--framework --runtime -o --output-dir -n"
)


def _redact(text: str) -> str:
    return re.sub(r"(?<=//)[^/@\s]*@", "***@", _CONN_SECRET.sub(r"\1***", text))


def classify_dotnet_ef(cmd: Command, ctx: Context) -> list[Finding]:
    """``dotnet ef database update|drop``, ``dotnet ef migrations …`` (also ``dotnet-ef``)."""
    words = [a.value for a in cmd.positionals(_EF_VALUED)]
    if cmd.name == "dotnet":
        words = words[1:] if words[:1] == ["ef"] else []
    key = " ".join(words[:2])
    rule = _EF.get(key)
    if rule is None:
        return []
    if key == "database update" and words[2:3] == ["0"]:
        rule = _REVERT
    if key == "migrations remove" and cmd.has("--force", "-f"):
        rule = _REVERT
    conn = cmd.option("--connection")
    host = _CONN_HOST.search(conn) if conn else None
    label = _redact(conn) if conn else "database (from the project's configuration)"
    names = [host.group(1).strip() if host else None, cmd.option("--context", "-c")]
    where = _app_where(cmd, ctx, label, names)
    return [finding(rule, _redact(" ".join(["dotnet ef", *words[:3]])), where)]


# --- Linux security switches ------------------------------------------------------

_WEAKEN = Rule(_W, _C, "security.weaken", "turns off a host security control")
_SECURITY = Rule(_W, _C, "security.change", "changes a host security control")


def _setenforce(cmd: Command, ctx: Context) -> list[Finding]:
    mode = (cmd.words[:1] or ("",))[0].lower()
    rule = _WEAKEN if mode in ("0", "permissive") else _SECURITY
    reason = "switches SELinux to permissive" if rule is _WEAKEN else None
    return [finding(rule, cmd.text, _host(ctx), reason)]


def _host(ctx: Context) -> tuple[str, Environment | None, str | None]:
    return locate(ctx, [ctx.remote], "this machine (system configuration)")


def _apparmor(cmd: Command, ctx: Context) -> list[Finding]:
    rule = {"aa-status": None, "apparmor_status": None, "aa-enforce": _SECURITY}.get(
        cmd.name, _WEAKEN
    )
    if rule is None:
        return [finding(read("reads AppArmor status", "security.read"), cmd.name, _host(ctx))]
    return [finding(rule, cmd.text, _host(ctx))]


def _auditctl(cmd: Command, ctx: Context) -> list[Finding]:
    if cmd.has("-D", "-d", "-W") or cmd.option("-e") == "0":
        rule = Rule(_W, _C, "security.weaken", "removes audit rules or disables auditing")
    elif cmd.has("-a", "-A", "-w", "-e", "-f", "-b", "-r", "-R", "--backlog_wait_time"):
        rule = _SECURITY
    else:
        rule = read("reads audit rules and status", "security.read")
    return [finding(rule, cmd.text, _host(ctx))]


def _setsebool(cmd: Command, ctx: Context) -> list[Finding]:
    return [finding(_SECURITY, cmd.text, _host(ctx))]


def _read_only(reason: str) -> Handler:
    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        return [finding(read(reason, "security.read"), cmd.name, _host(ctx))]

    return handle


HANDLERS: dict[str, Handler] = {
    "sam": tool(
        _SAM,
        _sam_where,
        valued=_SAM_VALUED,
        default=Rule(_U, _C, "cloud.unknown", "unrecognised sam subcommand"),
        empty=read("shows help", "cloud.read"),
    ),
    "supabase": _supabase,
    "artisan": classify_artisan,
    "mix": _mix,
    "dotnet-ef": classify_dotnet_ef,
    "setenforce": _setenforce,
    **dict.fromkeys(
        ("aa-disable", "aa-complain", "aa-teardown", "aa-enforce", "aa-status", "apparmor_status"),
        _apparmor,
    ),
    "auditctl": _auditctl,
    "setsebool": _setsebool,
    **dict.fromkeys(("getenforce", "sestatus"), _read_only("reads SELinux status")),
}
