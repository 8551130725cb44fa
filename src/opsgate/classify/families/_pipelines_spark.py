"""Spark's launchers: ``spark-submit`` and the interactive shells.

``spark-submit --master 'local[*]' jobs/x.py`` runs the application in this process
tree, so it is judged like ``python3 jobs/x.py`` (or ``java -cp app.jar Main``,
``Rscript x.R``): by the file.  Any other master (``yarn``, ``k8s://…``,
``spark://…``, ``mesos://…``) runs it on a cluster: a state change on infrastructure,
in the environment its names carry (the master, ``--queue prod``, the namespace).
With no master on the command line, the one ``spark-defaults.conf`` names decides,
and opsgate does not read that file: ``unknown``.
"""

from __future__ import annotations

import shlex

from opsgate.classify._command import Command, Context, Handler, first_operand
from opsgate.classify.families._verbs import RuleSet, finding, flags, locate
from opsgate.models import Finding

__all__ = ["SPARK_HANDLERS"]

_S = RuleSet("pipeline", write="run", destroy="delete")
_VALUED = frozenset(
    flags(
        "--master --deploy-mode --class --name --jars --packages --exclude-packages "
        "--repositories --py-files --files --archives --conf -c --properties-file "
        "--driver-memory --driver-java-options --driver-library-path --driver-class-path "
        "--executor-memory --proxy-user --driver-cores --total-executor-cores "
        "--executor-cores --num-executors --queue --principal --keytab --kill --status"
    )
)
# ``--conf`` keys that name where the application runs.
_WHERE_KEYS = ("spark.master", "spark.kubernetes.namespace", "spark.yarn.queue",
               "spark.kubernetes.context", "spark.submit.deployMode")  # fmt: skip
_INFO = frozenset({"--version", "--help", "-h"})
# Languages of an application file run locally, by suffix.
_RUNNERS = {".py": "python3", ".r": "Rscript", ".R": "Rscript"}


def _split(cmd: Command) -> tuple[str | None, list[str]]:
    """The application (the first word that is no option or option value) and its
    arguments, which are the application's, not spark-submit's."""
    return first_operand(cmd.words, _VALUED)


def _conf(cmd: Command) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in cmd.options("--conf", "-c"):
        key, _, setting = value.partition("=")
        out[key.strip()] = setting.strip()
    return out


def _spark_submit(cmd: Command, ctx: Context) -> list[Finding]:
    if _INFO & set(cmd.words):
        return []
    conf = _conf(cmd)
    master = cmd.option("--master") or conf.get("spark.master")
    names = [master, cmd.option("--queue"), cmd.option("--name"),
             *(conf.get(k) for k in _WHERE_KEYS)]  # fmt: skip
    if cmd.option("--status") is not None:
        place = locate(ctx, names, master or "spark cluster")
        return [finding(_S.read("asks the cluster for a driver's status"), cmd.text, place)]
    if master is None:
        reason = (
            "spark-submit names no --master: spark-defaults.conf, which opsgate does not "
            "read, decides where the application runs"
        )
        return [finding(_S.unknown(reason), cmd.text, locate(ctx, names, "spark (default master)"))]
    if not master.startswith("local"):
        verb = "kills a driver on" if cmd.option("--kill") else "submits an application to"
        rule = _S.write(f"{verb} the Spark cluster at {master[:80]}")
        return [finding(rule, cmd.text, locate(ctx, names, master))]
    return _local_application(cmd, ctx)


def _local_application(cmd: Command, ctx: Context) -> list[Finding]:
    """A local master: the application runs here, judged by its file."""
    app, args = _split(cmd)
    if app is None:
        return []
    if "://" in app:
        reason = f"spark-submit runs {app[:80]}, code opsgate cannot read from here"
        return [finding(_S.unknown(reason), cmd.text, ("spark (local)", None, None))]
    suffix = "." + app.rsplit(".", 1)[-1] if "." in app else ""
    if suffix == ".jar":
        main = cmd.option("--class")
        line = ["java", "-cp", app, main, *args] if main else ["java", "-jar", app, *args]
    else:
        line = [_RUNNERS.get(suffix, "python3"), app, *args]
    return ctx.classify_shell(shlex.join(line), via="spark-submit", cwd=cmd.cwd)


def _spark_shell(cmd: Command, ctx: Context) -> list[Finding]:
    """``pyspark``, ``spark-shell``, ``sparkR``: an interpreter reading its terminal,
    like a bare ``python3``: what it will run is unseen."""
    if _INFO & set(cmd.words):
        return []
    reason = f"{cmd.name} starts an interactive Spark shell"
    master = cmd.option("--master") or "spark (default master)"
    return [finding(_S.unknown(reason), cmd.text, locate(ctx, [master], master))]


SPARK_HANDLERS: dict[str, Handler] = {
    "spark-submit": _spark_submit,
    "pyspark": _spark_shell,
    "spark-shell": _spark_shell,
    "sparkR": _spark_shell,
}
