"""gcloud, gsutil and az."""

from __future__ import annotations

import re

from opsgate.classify._command import Command, Context
from opsgate.classify.families._cloud_common import (
    _ENV_SECRET,
    _LOCAL,
    _READ,
    _REMOTE,
    _SECRET,
    _UNKNOWN,
    _WRITE,
    Rule,
    _as,
    _finding,
    _generic_rule,
    _names,
    _path_verb,
    _remote_shell,
    _resource_names,
    _s3_rule,
    _verb_rule,
)
from opsgate.models import Effect, Finding, Impact

__all__ = ["_az", "_gcloud", "_gsutil"]

_GCLOUD_VALUED = _names(
    "--project --account --configuration --region --zone --format --filter --limit --verbosity "
    "--impersonate-service-account --billing-project --flags-file --page-size --sort-by "
    "--image --instance --secret --iam-account --member --role --command --service --location"
)


def _gcloud(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_GCLOUD_VALUED)]
    group, verb = _path_verb(words)
    project = (
        cmd.option("--project")
        or cmd.env.get("CLOUDSDK_CORE_PROJECT")
        or cmd.env.get("GOOGLE_CLOUD_PROJECT")
    )
    config = cmd.option("--configuration") or cmd.env.get("CLOUDSDK_ACTIVE_CONFIG_NAME")
    target = f"gcp project {project}" if project else "gcloud (current project)"
    rest = words[len(group.split()) + 1 :] if verb else []
    names = [project, config, *_resource_names(cmd), *rest[:1]]
    rule = _generic_rule(cmd, group, verb)
    if verb == "describe" and _gcloud_env(cmd, group):
        rule = _ENV_SECRET
    found = _finding(ctx, rule, f"gcloud {group} {verb}".strip(), target, names)
    if group == "sql" and verb == "connect":
        return [_as(found, _REMOTE)]
    if verb in ("ssh", "execute-command") or (verb == "scp"):
        host = rest[0] if rest else "instance"
        seen = _finding(ctx, _READ, f"gcloud {group} {verb}", target, names)
        if verb == "scp":
            into = bool(rest) and ":" in rest[-1]
            return [
                _as(
                    seen,
                    _WRITE
                    if into
                    else Rule(
                        Effect.LOCAL, Impact.SAFE, "cloud.download", "copies files from an instance"
                    ),
                )
            ]
        return _remote_shell(cmd, ctx, "ssh", host, seen) or [found]
    return [found]


def _gcloud_env(cmd: Command, group: str) -> bool:
    """Cloud Run, Cloud Functions and App Engine keep secrets in Secret Manager and their
    workloads reference them: describing a workload, whole, in any format, is a read of
    its definition (as ``kubectl get deploy -o yaml``).  A ``--format`` projection that
    picks out the environment (``value(spec.template.spec.containers[0].env)``,
    ``yaml(spec.template)``) asks for the values themselves: a secret read."""
    if group.removeprefix("beta ").removeprefix("alpha ") not in _WORKLOADS:
        return False
    fmt = cmd.option("--format")
    m = re.fullmatch(r"\s*[\w-]+\s*\((.*)\)\s*", fmt or "", re.DOTALL)
    return m is not None and any(_picks_env(field) for field in m.group(1).split(","))


_WORKLOADS = frozenset(("functions", "run services", "run jobs", "run revisions", "app versions"))
# Keys of a Cloud Run / Functions / App Engine resource that hold its environment: a
# projection field ending at one of them prints the values.
_ENV_HOLDERS = frozenset(
    ("spec", "template", "containers", "serviceconfig", "buildconfig", "container")
)


def _picks_env(field: str) -> bool:
    """``spec.template.spec.containers[0].env``, ``serviceConfig`` (whole), not
    ``spec.template.spec.containers[0].image``."""
    last = re.sub(r"\[[^\]]*\]", "", field.strip()).rsplit(".", 1)[-1].lower()
    return "env" in field.lower() or last in _ENV_HOLDERS


def _gsutil(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_names("-o -h -u -p"))]
    op = words[0] if words else ""
    rule = _s3_rule(cmd, op, words[1:], "gs://")
    if op in ("acl", "iam", "defacl", "lifecycle", "versioning", "label", "cors", "retention"):
        rule = _READ if (words[1:2] == ["get"]) else _WRITE
    names = [*_resource_names(cmd), cmd.env.get("CLOUDSDK_CORE_PROJECT")]
    return [_finding(ctx, rule, f"gsutil {op}", "gcs", names)]


# az: an ``az`` command is ``GROUP… VERB --flags``; these verb paths print secrets.
_AZ_SECRET_PATHS = (
    ("keyvault secret", ("show", "download")),
    ("keyvault key", ("download",)),
    ("account", ("get-access-token",)),
    ("appsettings", ("list",)),
    ("keys", ("list", "renew", "show")),
    ("credential", ("show", "list", "reset")),
    ("secret", ("show",)),
    ("connection-string", ("list",)),
)
_AZ_SECRET_VERBS = frozenset(
    _names(
        "list-keys show-connection-string get-access-token list-publishing-credentials "
        "list-publishing-profiles list-credentials list-connection-strings list-secrets"
    )
)
_AZ_GLOBAL = _names("--subscription -o --output --query")


def _az(cmd: Command, ctx: Context) -> list[Finding]:
    path: list[str] = []
    skip = False
    for word in cmd.words:
        if skip:
            skip = False
        elif word in _AZ_GLOBAL:
            skip = True
        elif word.startswith("-"):
            if path:
                break
        else:
            path.append(word)
    group, verb = " ".join(path[:-1]), (path[-1] if path else "")
    sub = cmd.option("--subscription") or cmd.env.get("AZURE_SUBSCRIPTION_ID")
    rg = cmd.option("-g", "--resource-group")
    target = f"azure subscription {sub}" if sub else "azure (current subscription)"
    target += f", resource group {rg}" if rg else ""
    names = [sub, rg, cmd.option("-n", "--name"), *_resource_names(cmd)]
    rule = (
        _generic_rule(cmd, group, verb)
        if path[:1] != ["storage"]
        else (_verb_rule(verb) or _UNKNOWN)
    )
    if verb in _AZ_SECRET_VERBS or any(
        p in group and verb in verbs for p, verbs in _AZ_SECRET_PATHS
    ):
        rule = _SECRET
    if group in ("account", "config", "cloud") and verb in ("set", "clear", "use"):
        rule = _LOCAL
    found = _finding(ctx, rule, f"az {group} {verb}".strip(), target, names)
    if group.endswith("run-command") and verb == "invoke":
        return _remote_shell(cmd, ctx, "invoke", cmd.option("-n", "--name") or "vm", found) or [
            found
        ]
    return [found]
