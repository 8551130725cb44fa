"""Data pipeline orchestrators: Airflow, Prefect, Dagster, Kedro, Luigi, Spark and
the Databricks CLI (dbt is in ``databases``, ``spark-sql`` in ``dataplatforms``).

Each tool is a table ``"group verb" → Rule``.  What the verbs mean:

* reads (``airflow dags list``, ``prefect deployment inspect``, ``dagster job
  list``, ``databricks bundle validate``) pass;
* runs, triggers, clears, backfills, launches, deployments, pauses and schedule
  changes change the orchestrator's state or start work on its workers: a state
  change on infrastructure, whatever the environment; deletes, wipes and resets
  lose data;
* verbs that print stored credentials (``airflow connections get``, ``databricks
  auth token``) are secret reads;
* the project's own pipeline code run on this machine (``kedro run``, ``luigi``,
  ``airflow dags test``, ``dagster job execute``) is local work, unless a name says
  it is pointed at a real environment (``kedro run --env prod``);
* any other verb is ``unknown``.

The target is the orchestrator the CLI is configured for, named by the words that
carry evidence (a DAG or deployment name, ``--profile``, ``-t prod``, a scheduler
host); with none, it counts as production like any unnamed remote target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._pipelines_spark import SPARK_HANDLERS
from opsgate.classify.families._verbs import Rule, RuleSet, finding, flags, locate, table
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS"]

_P = RuleSet("pipeline", write="run", destroy="delete")
_READ = _P.read("reads the orchestrator's state")
_RUN = _P.write("changes the orchestrator's state or starts work on its workers")
_LOSS = _P.destroy("deletes runs, history or configuration from the orchestrator")
_SECRET = _P.secret("prints stored connections or credentials")
_LOCAL = _P.local("local configuration or a local development server")
_SERVICE = _P.unknown("starts a service that runs the scheduled work")
# The project's pipeline code, run on this machine: local unless a name says otherwise.
_CODE = Rule(Effect.LOCAL, Impact.SAFE, "pipeline.local_run",
             "runs the project's pipeline code on this machine")  # fmt: skip


_AIRFLOW = table(
    {
        _READ: "dags list, dags list-runs, dags list-jobs, dags list-import-errors, dags show,"
        "dags show-dependencies, dags state, dags next-execution, dags report, dags details,"
        "tasks list, tasks state, tasks states-for-dag-run, tasks render, tasks failed-deps,"
        "jobs check, pools list, pools get, pools export, roles list, roles export, users list,"
        "users export, variables list, providers, version, info, cheat-sheet, db check,"
        "db check-migrations, plugins, assets list, assets details, backfill list,"
        "connections test, dagrun list, dagrun get, config lint",
        _RUN: "dags trigger, dags backfill, dags pause, dags unpause, dags reserialize,"
        "tasks run, tasks clear, backfill create, assets materialize, db migrate, db upgrade,"
        "db init, pools set, pools import, variables set, variables import, connections add,"
        "connections import, users create, users add-role, users remove-role, users import,"
        "users reset-password, roles create, roles add-perms, roles del-perms, roles import,"
        "sync-perm, rotate-fernet-key, config update",
        _LOSS: "dags delete, db reset, db downgrade, db clean, db drop-archived, pools delete,"
        "variables delete, connections delete, users delete, roles delete",
        _SECRET: "connections get, connections list, connections export, config list,"
        "config get-value, variables get, variables export",
        _CODE: "dags test, tasks test",
        _SERVICE: "scheduler, standalone, triggerer, celery, dag-processor, kerberos, db shell",
        _LOCAL: "webserver, api-server",
    }
)
_AIRFLOW_VALUED = flags(
    "-c --conf -s --start-date -e --end-date -t --task-regex -S --subdir -o --output -r "
    "--run-id -l --logical-date --exec-date -d --dag-id --state --pool -j --job-type --limit "
    "--hostname --cfg-path --save --imgcat-dagrun --delay-on-limit --file-path -n --num-runs"
)

_PREFECT = table(
    {
        _READ: "version, deployment ls, deployment inspect, flow ls, flow-run ls,"
        "flow-run inspect, flow-run logs, task-run ls, task-run inspect, task-run logs,"
        "work-pool ls, work-pool inspect, work-pool preview, work-pool get-default-base-job-"
        "template, work-queue ls, work-queue inspect, work-queue preview, block ls,"
        "block inspect, block type, variable ls, variable inspect, variable get,"
        "concurrency-limit ls, concurrency-limit inspect, global-concurrency-limit ls,"
        "global-concurrency-limit inspect, automation ls, automation inspect, artifact ls,"
        "artifact inspect, events stream, config view, profile ls, profile inspect",
        _LOCAL: "server start, server stop, server database, config set, config unset,"
        "config validate, profile create, profile use, profile delete, profile rename,"
        "cloud login, cloud logout, cloud workspace, init, dashboard",
        _RUN: "deployment run, deploy, deployment build, deployment apply,"
        "deployment set-schedule, deployment pause-schedule, deployment resume-schedule,"
        "deployment clear-schedule, deployment schedule, flow serve, flow-run cancel,"
        "flow-run retry, flow-run execute, work-pool create, work-pool update, work-pool pause,"
        "work-pool resume, work-pool set-concurrency-limit, work-pool clear-concurrency-limit,"
        "work-pool provision-infrastructure, work-queue create, work-queue pause,"
        "work-queue resume, work-queue set-concurrency-limit,"
        "work-queue clear-concurrency-limit, block register, block create, variable set,"
        "concurrency-limit create, concurrency-limit reset, global-concurrency-limit create,"
        "global-concurrency-limit update, global-concurrency-limit enable,"
        "global-concurrency-limit disable, automation pause, automation resume,"
        "automation create, automation update, worker start, agent start, events emit,"
        "server services",
        _LOSS: "deployment delete, flow-run delete, work-pool delete, work-queue delete,"
        "block delete, variable unset, variable delete, concurrency-limit delete,"
        "global-concurrency-limit delete, automation delete, artifact delete, flow delete",
    }
)
_PREFECT_VALUED = flags(
    "-p --profile -n --name --pool -q --work-queue --param --params --limit -f --flow-name "
    "--start-in --start-at --tag --job-variable -jv --entrypoint --prefect-file --cron "
    "--interval --rrule --timezone --state -o --output --id --type --host --port"
)

_DAGSTER = table(
    {
        _READ: "job list, job print, asset list, run list, instance info, schedule list,"
        "schedule logs, schedule preview, schedule debug, sensor list, sensor preview,"
        "definitions validate, debug export, code-location list",
        _LOCAL: "dev, project, api, code-server",
        _CODE: "job execute, asset materialize",
        _RUN: "job launch, job backfill, schedule start, schedule stop, schedule restart,"
        "sensor start, sensor stop, sensor cursor, instance migrate, instance reindex,"
        "instance concurrency, run migrate-repository",
        _LOSS: "asset wipe, asset wipe-partitions-status-cache, run delete, run wipe,schedule wipe",
    }
)
_DAGSTER_VALUED = flags(
    "-m --module-name -f --python-file -w --workspace -l --location -j --job -r --repository "
    "-d --working-directory -a --attribute -c --config --tags --select --partition "
    "--partition-range --from --to --run-id --limit --package-name --grpc-host --grpc-port "
    "-p --port -h --host --log-level"
)

# Where each orchestrator is: options and environment variables that name it.
_AIRFLOW_WHERE = (("-S", "--subdir", "-d", "--dag-id"),
                  ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN",
                   "AIRFLOW_HOME"), "airflow (the configured metadata database)")  # fmt: skip
_PREFECT_WHERE = (("-p", "--profile", "-n", "--name", "--pool", "-q", "--work-queue"),
                  ("PREFECT_API_URL", "PREFECT_PROFILE"),
                  "prefect (the configured API)")  # fmt: skip
_DAGSTER_WHERE = (("-m", "--module-name", "-f", "--python-file", "-w", "--workspace", "-l",
                   "--location", "-j", "--job", "-r", "--repository"), ("DAGSTER_HOME",),
                  "dagster instance (DAGSTER_HOME)")  # fmt: skip


def orchestrator(
    rules: dict[str, Rule],
    valued: Iterable[str],
    where: tuple[tuple[str, ...], tuple[str, ...], str],
    *,
    adjust: Callable[[list[str], Rule], Rule] | None = None,
) -> Handler:
    """``TOOL GROUP VERB NAME …`` judged by its first two words; the third (a DAG,
    deployment or job name) and the options in ``where`` name the target."""
    takes = tuple(valued)
    options, variables, default = where

    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        words = [a.value for a in cmd.positionals(takes)]
        rule = rules.get(" ".join(words[:2])) or (rules.get(words[0]) if words else None)
        if rule is None:
            rule = _P.unknown(f"unrecognised {cmd.name} command") if words else _READ
        if adjust is not None:
            rule = adjust(words, rule)
        names = [*words[2:3], *cmd.options(*options), *(cmd.env.get(v) for v in variables)]
        place = locate(ctx, names, default)
        return [finding(pointed(rule, place[1]), " ".join([cmd.name, *words[:2]]), place)]

    return handle


def pointed(rule: Rule, env: Environment | None) -> Rule:
    """The project's pipeline code pointed at a real environment changes it."""
    if rule is _CODE and env is not None and env > Environment.LOCAL:
        return _P.write(f"runs the project's pipeline code against the {env.label} environment")
    return rule


def _prefect_adjust(words: list[str], rule: Rule) -> Rule:
    """Three-word verbs: ``deployment schedule ls``, ``server database reset``."""
    if words[:2] == ["deployment", "schedule"] and words[2:3] == ["ls"]:
        return _READ
    if words[:2] == ["server", "database"] and words[2:3] == ["reset"]:
        return _P.destroy("resets the Prefect server's database")
    return rule


def _airflow_adjust(words: list[str], rule: Rule) -> Rule:
    """``airflow celery flower`` only shows the workers; ``celery stop`` stops them."""
    if words[:2] == ["celery", "flower"]:
        return _LOCAL
    if words[:2] == ["celery", "stop"]:
        return _RUN
    return rule


def _kedro(cmd: Command, ctx: Context) -> list[Finding]:
    """``kedro run --env prod``: the project's pipelines with that environment's
    catalog; the conventional local environments run on this machine."""
    env = cmd.option("-e", "--env") or cmd.env.get("KEDRO_ENV")
    named = [] if env is None or env in _KEDRO_LOCAL_ENVS else [env]
    words = [a.value for a in cmd.positionals(_KEDRO_VALUED)]
    rule = _KEDRO.get(" ".join(words[:2])) or (_KEDRO.get(words[0]) if words else _READ)
    rule = rule or _P.unknown("unrecognised kedro command (a plugin opsgate does not model)")
    place = locate(ctx, named, "kedro project")
    return [finding(pointed(rule, place[1]), " ".join(["kedro", *words[:2]]), place)]


# Kedro's conventional configuration environments that stay on this machine.
_KEDRO_LOCAL_ENVS = frozenset({"local", "base", "test", "tests", "ci"})
_KEDRO = table(
    {
        _READ: "info, catalog list, catalog describe-datasets, catalog list-patterns,"
        "catalog resolve, catalog rank, registry list, registry describe, starter list",
        _LOCAL: "new, starter, pipeline, micropkg, package, build-docs, jupyter, ipython,"
        "lint, test, viz, catalog create",
        _CODE: "run,",
    }
)
_KEDRO_VALUED = flags(
    "-e --env -p --pipeline -n --nodes --node --runner --tags -t --from-nodes --to-nodes "
    "--from-inputs --to-outputs --load-versions --config --conf-source --params --namespace"
)


def _luigi(cmd: Command, ctx: Context) -> list[Finding]:
    """``luigi --module M Task``: the project's tasks, run by this process; pointed at a
    real environment by the scheduler or task parameters it names."""
    if cmd.has("--help", "--help-all", "--version"):
        return []
    names = [*cmd.options("--scheduler-host", "--scheduler-url", "--module"),
             *(a.value for a in cmd.positionals(_LUIGI_VALUED))]  # fmt: skip
    names += [v for k, v in zip(cmd.words, cmd.words[1:], strict=False) if k.startswith("--")]
    place = locate(ctx, names, "luigi tasks")
    return [finding(pointed(_CODE, place[1]), cmd.text, place)]


_LUIGI_VALUED = flags("--module --scheduler-host --scheduler-port --scheduler-url --workers "
                      "--log-level --logging-conf-file")  # fmt: skip


def _databricks(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify.families._pipelines_databricks import databricks

    return databricks(cmd, ctx)


HANDLERS: dict[str, Handler] = {
    "airflow": orchestrator(_AIRFLOW, _AIRFLOW_VALUED, _AIRFLOW_WHERE, adjust=_airflow_adjust),
    "airflowctl": orchestrator(_AIRFLOW, _AIRFLOW_VALUED, _AIRFLOW_WHERE),
    "prefect": orchestrator(_PREFECT, _PREFECT_VALUED, _PREFECT_WHERE, adjust=_prefect_adjust),
    "dagster": orchestrator(_DAGSTER, _DAGSTER_VALUED, _DAGSTER_WHERE),
    "kedro": _kedro,
    "luigi": _luigi,
    "databricks": _databricks,
    **SPARK_HANDLERS,
}
