"""The Databricks CLI (``databricks GROUP VERB``, the new CLI and the legacy one).

Its groups follow one naming scheme, so verbs are judged by kind (``list-*``,
``get-*`` read; ``create``/``update``/``run-now``/``deploy`` change the workspace;
``delete``/``rm``/``destroy`` lose data), with a few groups whose verbs differ
(``bundle``, ``fs``, ``auth``, ``secrets``, ``api``).  The target is the workspace
of ``--profile``/``-p``, the bundle target ``-t``, or ``DATABRICKS_HOST``.
"""

from __future__ import annotations

from opsgate.classify._command import Command, Context
from opsgate.classify.families._verbs import Rule, RuleSet, finding, flags, locate, table
from opsgate.models import Finding

__all__ = ["databricks"]

_D = RuleSet("pipeline", write="run", destroy="delete")
_READ = _D.read("reads the Databricks workspace")
_WRITE = _D.write("changes the Databricks workspace or starts work on it")
_LOSS = _D.destroy("deletes from the Databricks workspace")
_SECRET = _D.secret("prints a Databricks token or secret")
_LOCAL = _D.local("local CLI configuration or project files")

# Groups whose verbs do not follow the scheme (or that are a verb themselves).
_SPECIAL = table(
    {
        _READ: "bundle validate, bundle summary, bundle schema, bundle open, fs ls, fs cat,"
        "api get, auth profiles, auth describe, current-user me, version, help,"
        "workspace export, workspace export-dir",
        _LOCAL: "bundle init, bundle generate, auth login, configure, completion,"
        "labs install, labs list",
        _WRITE: "bundle deploy, bundle run, bundle sync, bundle deployment, fs cp, fs mkdir,"
        "fs mkdirs, fs mv, api post, api put, api patch, sync, workspace import,"
        "workspace import-dir, workspace mkdirs",
        _LOSS: "bundle destroy, fs rm, api delete, workspace delete, workspace rm",
        _SECRET: "auth token, auth env, secrets get-secret, secrets get",
    }
)
_READ_VERBS = frozenset({"ls", "cat", "show", "status", "summary", "validate", "me", "logs",
                         "history", "search", "export", "events", "spark-versions"})  # fmt: skip
_READ_PREFIXES = ("list", "get", "describe", "export", "read")
_LOSS_VERBS = frozenset({"delete", "rm", "destroy", "permanent-delete", "purge", "drop",
                         "delete-run", "delete-job", "delete-scope", "delete-secret",
                         "delete-acl"})  # fmt: skip
_WRITE_PREFIXES = ("create", "update", "edit", "set", "put", "start", "restart", "stop",
                   "run", "submit", "cancel", "repair", "resize", "deploy", "import", "install",
                   "uninstall", "pin", "unpin", "sync", "mkdir", "cp", "mv", "upload", "reset",
                   "change", "patch", "trigger", "enable", "disable", "apply", "rotate",
                   "transfer", "move", "replace", "approve", "migrate", "assign",
                   "unassign")  # fmt: skip
_VALUED = flags("-p --profile -t --target -o --output --json --json-file --job-id --run-id "
                "--cluster-id --var --log-level --log-file")  # fmt: skip


def _rule(words: list[str]) -> Rule:
    if not words:
        return _READ
    special = _SPECIAL.get(" ".join(words[:2])) or _SPECIAL.get(words[0])
    if special is not None:
        return special
    verb = words[1] if len(words) > 1 else ""
    if verb in _LOSS_VERBS or verb.startswith("delete"):
        return _LOSS
    if verb in _READ_VERBS or verb.startswith(_READ_PREFIXES):
        return _READ
    if verb.startswith(_WRITE_PREFIXES):
        return _WRITE
    return _D.unknown("unrecognised databricks command")


def databricks(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_VALUED)]
    names = [*cmd.options("-p", "--profile", "-t", "--target"),
             cmd.env.get("DATABRICKS_HOST"), cmd.env.get("DATABRICKS_CONFIG_PROFILE")]  # fmt: skip
    place = locate(ctx, names, "databricks workspace (configured profile)")
    return [finding(_rule(words), " ".join(["databricks", *words[:2]]), place)]
