"""Data pipeline orchestrators (the ``pipelines`` family) and the task files of
round a23: ``deno.json(c)`` and Earthfiles, read by their own parsers.

Each family case pins the worst effect and impact of one command and, where it
matters, the environment its names carry."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify._run_deno import _tasks_of
from opsgate.classify._run_earthly import _parse
from opsgate.classify._run_files import Loaded
from opsgate.classify.families import handlers
from opsgate.classify.families._pipelines_spark import _split
from opsgate.models import Effect, Environment, Finding, Impact

R, L, W, U, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
SAFE, C, D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE


def run(line: str, env: dict[str, str] | None = None) -> list[Finding]:
    cmd = make_command(line, env=env)
    return handlers()[cmd.name](cmd, MemoryContext())


@pytest.mark.parametrize(
    ("line", "effect", "impact"),
    [
        ("airflow dags list -o table", R, SAFE),
        ("airflow tasks list etl --tree", R, SAFE),
        ("airflow dags trigger etl --conf '{}'", W, C),
        ("airflow dags trigger --conf '{}' etl", W, C),
        ("airflow tasks clear etl -s 2024-06-01 --yes", W, C),
        ("airflow dags delete etl --yes", W, D),
        ("airflow db reset -y", W, D),
        ("airflow connections get warehouse", S, C),
        ("airflow config list", S, C),
        ("airflow scheduler", U, C),
        ("airflow dags frobnicate etl", U, C),
        ("airflow celery flower", L, SAFE),
        ("prefect deployment ls", R, SAFE),
        ("prefect deployment schedule ls etl/prod", R, SAFE),
        ("prefect deployment run etl/prod", W, C),
        ("prefect server database reset -y", W, D),
        ("prefect server start", L, SAFE),
        ("dagster job list -m defs", R, SAFE),
        ("dagster job launch -j nightly -m defs", W, C),
        ("dagster asset wipe --all", W, D),
        ("dagster dev -m defs", L, SAFE),
        ("dagster job execute -j nightly -m defs", L, SAFE),
        ("kedro run", L, SAFE),
        ("kedro run --env local", L, SAFE),
        ("kedro run --env prod", W, C),
        ("kedro docker build", U, C),
        ("luigi --module tasks Count --local-scheduler", L, SAFE),
        ("databricks jobs list", R, SAFE),
        ("databricks clusters get 0612-abc", R, SAFE),
        ("databricks jobs run-now 12", W, C),
        ("databricks clusters permanent-delete 0612-abc", W, D),
        ("databricks bundle destroy -t dev", W, D),
        ("databricks auth token", S, C),
        ("databricks secrets get-secret scope key", S, C),
        ("databricks frobs zap", U, C),
        ("spark-submit --master yarn --queue prod jobs/x.py", W, C),
        ("spark-submit --conf spark.master=k8s://https://k8s:6443 x.py", W, C),
        ("spark-submit --master yarn --kill driver-1", W, C),
        ("spark-submit --master yarn --status driver-1", R, SAFE),
        ("spark-submit jobs/x.py", U, C),
        ("pyspark", U, C),
    ],
)
def test_orchestrator_verbs(line: str, effect: Effect, impact: Impact) -> None:
    found = run(line)
    assert found
    assert max(f.effect for f in found) is effect
    assert max(f.impact for f in found) is impact


def test_environment_from_names() -> None:
    (found,) = run("prefect deployment run 'etl-orders/prod'")
    assert found.environment is Environment.PRODUCTION
    (found,) = run("kedro run", env={"KEDRO_ENV": "staging"})
    assert (found.effect, found.environment) == (W, Environment.STAGING)
    (found,) = run("databricks bundle deploy -t prod")
    assert found.environment is Environment.PRODUCTION
    (found,) = run("airflow dags list")  # a read names no environment it changes
    assert found.effect is R


def test_spark_application_and_its_arguments() -> None:
    cmd = make_command("spark-submit --master local[2] --conf a=b --verbose app.py --table t")
    assert _split(cmd) == ("app.py", ["--table", "t"])
    assert _split(make_command("spark-submit --version")) == (None, [])


def test_deno_jsonc_comments_and_trailing_commas() -> None:
    text = (
        '{\n  // a comment with "quotes"\n  "tasks": {\n'
        '    "fetch": "curl https://example.com/x.json", /* block */\n'
        '    "build": {"command": "deno compile main.ts", "dependencies": ["fetch"],},\n'
        "  },\n}\n"
    )
    tasks = _tasks_of(text)
    assert tasks is not None
    assert tasks["fetch"] == "curl https://example.com/x.json"
    assert tasks["build"] == {"command": "deno compile main.ts", "dependencies": ["fetch"]}
    assert _tasks_of("{ not json") is None


def test_earthfile_targets_with_base_and_continuations() -> None:
    text = (
        "VERSION 0.8\nFROM alpine\n# a comment\n\nbuild:\n    RUN echo a && \\\n"
        "        echo b\n    SAVE ARTIFACT out AS LOCAL out\n\ndeploy:\n"
        "    RUN --push kubectl apply -f k8s\n"
    )
    ef = _parse(Loaded("/p/Earthfile", "Earthfile", "text", text))
    assert [t for _line, t in ef.base] == ["VERSION 0.8", "FROM alpine"]
    assert ef.targets["build"][0] == (6, "RUN echo a && echo b")
    assert ef.targets["deploy"] == [(11, "RUN --push kubectl apply -f k8s")]
