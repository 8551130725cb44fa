"""Cloud CLIs: aws, gcloud, gsutil, az, doctl, oci, eksctl.

Services are not enumerated: an operation is judged by its verb (``describe-*``
reads, ``delete-*`` destroys, ``create-*`` writes), with a short table of the
operations that print credentials or secret values.  A verb the tables don't
know is ``unknown``.  Every finding names the account (profile, project,
subscription) so that an unknown one is treated as production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS"]


def _names(text: str) -> list[str]:
    """Table rows written as one space-separated string."""
    return text.split()


class Rule(NamedTuple):
    effect: Effect
    impact: Impact
    category: str
    reason: str


_READ = Rule(Effect.READ, Impact.SAFE, "cloud.read", "reads cloud resources")
_LOCAL = Rule(Effect.LOCAL, Impact.SAFE, "cloud.local", "changes local CLI configuration")
_WRITE = Rule(Effect.WRITE, Impact.CAUTION, "cloud.write", "changes cloud resources")
_DELETE = Rule(Effect.WRITE, Impact.DESTRUCTIVE, "cloud.delete", "deletes cloud resources or data")
_SECRET = Rule(Effect.SECRET, Impact.CAUTION, "secrets.read", "prints credentials or secret values")
_ENV_SECRET = Rule(
    Effect.SECRET, Impact.CAUTION, "secrets.read", "prints environment variable values"
)
_UNKNOWN = Rule(Effect.UNKNOWN, Impact.CAUTION, "cloud.unknown", "unrecognised cloud operation")
_REMOTE = Rule(Effect.UNKNOWN, Impact.CAUTION, "cloud.remote_exec", "opens a remote session")

# Verb prefixes, matched as ``verb`` or ``verb-…`` (``describe-instances``).
# Order matters: the first table that matches wins.
_VERBS: tuple[tuple[frozenset[str], Rule], ...] = (
    (
        frozenset(
            _names(
                "describe list get head wait ls show lookup search scan query filter batch-get "
                "transact-get simulate validate estimate preview check test-dns read tail "
                "get-iam-policy explain diff select-object-content download exists version info "
                "log logs print-settings history count summarize"
            )
        ),
        _READ,
    ),
    (
        frozenset(
            _names(
                "delete terminate remove purge deregister destroy rm rb batch-delete empty wipe "
                "drop abandon"
            )
        ),
        _DELETE,
    ),
    (
        frozenset(
            _names(
                "create put update modify start stop reboot restart run attach detach "
                "associate disassociate tag untag invoke enable disable set add register "
                "import copy cp restore replace authorize revoke send publish change "
                "reset cancel apply promote failover rotate upload execute accept reject "
                "allocate release assign unassign request resize deploy submit increase "
                "decrease complete abort respond confirm initiate subscribe unsubscribe "
                "move mv merge recover revert swap signal continue retry suspend resume "
                "batch-write batch-put batch-update transact-write scale patch rollback "
                "upgrade regenerate renew grant approve lock unlock deallocate redeploy "
                "reimage export clone sync rsync mb up reload acknowledge call mount "
                "unmount setmeta acl iam label versioning lifecycle defacl notification "
                "web cors retention kms rewrite compose cordon drain"
            )
        ),
        _WRITE,
    ),
)
_LOCAL_VERBS = frozenset(_names("login logout init configure activate use switch"))


def _verb_rule(verb: str) -> Rule | None:
    for words, rule in _VERBS:
        if verb in words or any(verb.startswith(w + "-") for w in words):
            return rule
    return None


def _evidence(ctx: Context, names: Iterable[str | None]) -> tuple[Environment, str] | None:
    best: tuple[Environment, str] | None = None
    for name in names:
        found = ctx.environment_of(name) if name else None
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def _finding(
    ctx: Context,
    rule: Rule,
    evidence: str,
    target: str,
    names: Iterable[str | None],
    reason: str | None = None,
) -> Finding:
    env = _evidence(ctx, names)
    return Finding(
        category=rule.category,
        impact=rule.impact,
        effect=rule.effect,
        evidence=evidence,
        reason=reason or rule.reason,
        target=target,
        environment=env[0] if env else None,
        env_source=env[1] if env else None,
    )


def _resource_names(cmd: Command) -> list[str]:
    """Resource names that carry environment evidence: bucket URLs, ARNs, and the
    values of options naming a resource (``--bucket``, ``--function-name`` …)."""
    words = cmd.words
    out = [w for w in words if w.startswith(("s3://", "gs://", "arn:", "az://"))]
    for i, word in enumerate(words[:-1]):
        flag = word.split("=", 1)[0]
        if flag.startswith("--") and flag.endswith(
            (
                "-name",
                "name",
                "bucket",
                "cluster",
                "service",
                "-arn",
                "-url",
                "-identifier",
                "group",
                "vault-name",
            )
        ):
            out.append(word.split("=", 1)[1] if "=" in word else words[i + 1])
    return out


# aws: operations that disclose secrets or credentials.
_AWS_SECRET_OPS = frozenset(
    _names(
        "get-secret-value batch-get-secret-value decrypt generate-data-key "
        "generate-data-key-pair assume-role assume-role-with-saml assume-role-with-web-identity "
        "get-session-token get-federation-token create-access-key get-login-password "
        "get-authorization-token get-token generate-db-auth-token get-password-data "
        "get-instance-access-details create-login-profile create-service-specific-credential "
        "export-credentials get-credentials-for-identity get-role-credentials get-open-id-token "
        "generate-presigned-url presign"
    )
)
# Reads whose default output includes a function's or container's environment
# values (where API keys and database passwords live), unless --query selects
# something narrower.
_AWS_ENV_OPS = frozenset(
    _names(
        "lambda:get-function-configuration lambda:get-function ecs:describe-task-definition "
        "batch:describe-job-definitions apprunner:describe-service amplify:get-app "
        "amplify:get-branch amplify:list-branches elasticbeanstalk:describe-configuration-settings "
        "codebuild:batch-get-projects lightsail:get-container-services "
        "sagemaker:describe-training-job"
    )
)
_WHOLE_OBJECTS = frozenset(
    _names(
        "configuration taskdefinition containerdefinitions function service app branch branches "
        "jobdefinitions projects configurationsettings optionsettings containerservices"
    )
)


def _reveals_env(query: str | None) -> bool:
    """True unless a --query/--format projection visibly leaves environment values out."""
    if not query:
        return True
    if re.search(r"env|secret|@|\*", query, re.IGNORECASE):
        return True
    last = re.sub(r"[\[\]\d]", "", query.rsplit(".", 1)[-1]).lower()
    return last in _WHOLE_OBJECTS


# Operations with a write-like prefix that only read.
_AWS_READ_OPS = frozenset(_names("start-query get-query-results decode-authorization-message"))
_AWS_VALUED = _names(
    "--profile --region --output --query --endpoint-url --color --ca-bundle "
    "--cli-read-timeout --cli-connect-timeout --cli-binary-format"
)


def _aws(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_AWS_VALUED)]
    service = words[0] if words else ""
    op = words[1] if len(words) > 1 else ""
    profile = (
        cmd.option("--profile") or cmd.env.get("AWS_PROFILE") or cmd.env.get("AWS_DEFAULT_PROFILE")
    )
    target = f"aws profile {profile}" if profile else "aws (default profile)"
    names = [profile, *_resource_names(cmd)]
    evidence = f"aws {service} {op}".strip()
    rule = _aws_rule(cmd, service, op, words[2:])
    if rule is _SECRET and _verb_rule(op) is _WRITE:
        # Creates a credential and prints it: both a write and a disclosure.
        return [
            _finding(ctx, _WRITE, evidence, target, names),
            _finding(ctx, rule, evidence, target, names),
        ]
    return [_finding(ctx, rule, evidence, target, names)]


def _aws_rule(cmd: Command, service: str, op: str, rest: list[str]) -> Rule:
    if service == "s3":
        return _s3_rule(cmd, op, rest, "s3://")
    if service == "configure":
        key = rest[0] if rest else ""
        if op in ("get", "export-credentials") and (
            "secret" in key or "token" in key or op != "get"
        ):
            return _SECRET
        return _READ if op in ("get", "list", "list-profiles") else _LOCAL
    if op in _AWS_SECRET_OPS:
        return _SECRET
    if f"{service}:{op}" in _AWS_ENV_OPS and _reveals_env(cmd.option("--query")):
        return _ENV_SECRET
    if op in ("get-parameter", "get-parameters", "get-parameters-by-path", "get-parameter-history"):
        return _SECRET if cmd.has("--with-decryption") else _READ
    if op in ("start-session", "execute-command") and not cmd.option("--command"):
        return _REMOTE
    if op in _AWS_READ_OPS or op == "help" or not op:
        return _READ
    rule = _verb_rule(op)
    if rule is None:
        return _UNKNOWN
    if rule.effect is Effect.WRITE and cmd.has("--dry-run"):
        return Rule(Effect.READ, Impact.SAFE, "cloud.read", "--dry-run only checks permissions")
    return rule


def _s3_rule(cmd: Command, op: str, rest: list[str], scheme: str) -> Rule:
    """High-level object commands: judged by which side is the bucket."""
    paths = [w for w in rest if not w.startswith("-")]
    src = paths[0] if paths else ""
    dst = paths[-1] if len(paths) > 1 else ""
    if cmd.has("--dryrun", "--dry-run", "-n") and op in ("cp", "mv", "sync", "rm", "rsync"):
        return _READ
    if op in ("ls", "du", "cat", "stat", "hash", "version"):
        return _READ
    if op in ("rm", "rb"):
        return _DELETE
    if op == "mb":
        return _WRITE
    if op in ("presign", "signurl"):
        return _SECRET
    if op in ("cp", "mv", "sync", "rsync"):
        deletes = cmd.has("--delete", "-d", "--delete-unmatched-destination-objects")
        if dst.startswith(scheme):
            return _DELETE if deletes else _WRITE
        if op == "mv" and src.startswith(scheme):
            return Rule(
                Effect.WRITE, Impact.DESTRUCTIVE, "cloud.delete", "moves objects out of the bucket"
            )
        # A download into the workspace: the bucket is only read.
        return Rule(Effect.LOCAL, Impact.SAFE, "cloud.download", "downloads objects")
    return _verb_rule(op) or _UNKNOWN


# gcloud/az/doctl/oci: a path of groups, then a verb.  These groups' verbs only
# touch local CLI configuration.
_LOCAL_GROUPS = frozenset(_names("config auth components extension bicep"))
_GCLOUD_SECRET = frozenset(
    _names(
        "access print-access-token print-identity-token print-refresh-token generate-login-token"
    )
)
_TOP_LEVEL = frozenset(_names("init version info help feedback cheat-sheet survey topic"))


def _path_verb(words: list[str]) -> tuple[str, str]:
    """(group path, verb): the first word after the first group that the verb
    tables know.  The group itself may look like a verb (``gcloud run``)."""
    if words and words[0] in ("alpha", "beta", "preview"):
        words = words[1:]
    for i, word in enumerate(words[1:], start=1):
        if (
            word in _GCLOUD_SECRET
            or word in ("ssh", "scp", "connect", "invoke")
            or _verb_rule(word)
            or word in _LOCAL_VERBS
        ):
            return " ".join(words[:i]), word
    return " ".join(words), ""


def _generic_rule(cmd: Command, group: str, verb: str) -> Rule:
    top = group.split(" ", 1)[0]
    if verb in _GCLOUD_SECRET:
        return _SECRET
    if top in _LOCAL_GROUPS and verb not in ("list", "show", "describe", "get-access-token"):
        return _LOCAL
    if verb in ("get-credentials", "kubeconfig", "configure-docker") or verb in _LOCAL_VERBS:
        return _LOCAL
    if top in ("storage",) or group in ("storage",):
        return _s3_rule(cmd, verb, [a.value for a in cmd.positionals()][2:], "gs://")
    if not verb:
        return _READ if top in _TOP_LEVEL or not top else _UNKNOWN
    return _verb_rule(verb) or _UNKNOWN


def _remote_shell(
    cmd: Command, ctx: Context, verb: str, host: str, found: Finding
) -> list[Finding] | None:
    """``gcloud compute ssh VM --command CMD``, ``az vm run-command invoke --scripts``."""
    if verb not in ("ssh", "invoke", "connect", "execute-command"):
        return None
    script = cmd.option("--command") or " ".join(cmd.options("--scripts"))
    if not script:
        return [_as(found, _REMOTE)]
    return [found, *ctx.classify_shell(script, via=f"{cmd.name} {verb}", remote=host)]


def _as(found: Finding, rule: Rule) -> Finding:
    return Finding(
        rule.category,
        rule.impact,
        rule.effect,
        found.evidence,
        rule.reason,
        found.target,
        found.environment,
        found.env_source,
    )


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
    """Cloud Functions print their environment by default; Cloud Run and App Engine
    only when the format asks for the whole object or its env."""
    fmt = cmd.option("--format")
    if group in ("functions", "beta functions", "alpha functions"):
        return fmt is None or _reveals_env(fmt) or fmt.split("(")[0] in ("json", "yaml")
    if group in ("run services", "run jobs", "run revisions", "app versions"):
        return fmt is not None and (
            bool(re.search(r"env", fmt, re.IGNORECASE))
            or fmt.split("(")[0] in ("json", "yaml", "export")
        )
    return False


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


def _verb_first(label: str, env_vars: tuple[str, ...], valued: list[str]) -> Handler:
    """doctl, oci, eksctl: groups then a verb, judged by the shared verb tables."""

    def handler(cmd: Command, ctx: Context) -> list[Finding]:
        words = [a.value for a in cmd.positionals(valued)]
        group, verb = _path_verb([label, *words]) if label == "eksctl" else _path_verb(words)
        account = cmd.option("--context", "--profile") or next(
            (cmd.env[v] for v in env_vars if v in cmd.env), None
        )
        target = f"{label} {account}" if account else f"{label} (default account)"
        rule = _generic_rule(cmd, group, verb)
        if verb == "ssh":
            rule = _REMOTE
        names = [account, cmd.option("--cluster", "--name"), *_resource_names(cmd)]
        return [_finding(ctx, rule, f"{cmd.name} {group} {verb}".strip(), target, names)]

    return handler


HANDLERS: dict[str, Handler] = {
    "aws": _aws,
    "gcloud": _gcloud,
    "gsutil": _gsutil,
    "az": _az,
    "doctl": _verb_first(
        "doctl",
        ("DIGITALOCEAN_CONTEXT",),
        _names("--context -o --output --format -t --access-token"),
    ),
    "oci": _verb_first(
        "oci", ("OCI_CLI_PROFILE",), _names("--profile --region --config-file --output --query")
    ),
    "eksctl": _verb_first(
        "eksctl", ("AWS_PROFILE",), _names("--profile --region --cluster --name -f --config-file")
    ),
}
