"""aws: services, operations, S3, and what prints credentials."""

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
    _finding,
    _names,
    _resource_names,
    _s3_rule,
    _verb_rule,
)
from opsgate.models import Effect, Finding, Impact

__all__ = ["_aws"]

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
# Reads whose default output includes a function's or app's environment values, on
# platforms where those variables are the place secrets are kept (Lambda, Elastic
# Beanstalk, Amplify, Lightsail): a secret read unless --query selects something
# narrower.
_AWS_ENV_OPS = frozenset(
    _names(
        "lambda:get-function-configuration lambda:get-function "
        "amplify:get-app amplify:get-branch amplify:list-branches "
        "elasticbeanstalk:describe-configuration-settings lightsail:get-container-services "
        "sagemaker:describe-training-job"
    )
)
# Workload definitions on platforms with their own secret references (an ECS or Batch
# container's ``secrets``, CodeBuild's SECRETS_MANAGER variables, App Runner's
# runtime secrets): the whole definition
# is a read, as ``kubectl get deploy -o yaml``; a --query that picks out the
# environment asks for the values.
_AWS_SPEC_OPS = frozenset(
    _names(
        "ecs:describe-task-definition batch:describe-job-definitions codebuild:batch-get-projects "
        "apprunner:describe-service"
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


# Profile keys that decide which account, identity or endpoint a profile name leads to
# (or run a program for its credentials): an approval for ``--profile staging`` is
# worth nothing once the name leads elsewhere.
_PROFILE_TARGETS = frozenset({"role_arn", "source_profile", "credential_source",
                              "credential_process", "web_identity_token_file", "sso_start_url",
                              "sso_account_id", "sso_role_name", "sso_session", "endpoint_url",
                              "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                              "ca_bundle"})  # fmt: skip
_REPOINT = Rule(Effect.WRITE, Impact.CAUTION, "cloud.config",
                "changes which account, identity or endpoint an AWS profile leads to")  # fmt: skip


def _aws_rule(cmd: Command, service: str, op: str, rest: list[str]) -> Rule:
    if rest[-1:] == ["help"]:
        # ``aws s3 rm help``: the CLI's help is a positional word after the operation.
        return _READ
    if service == "s3":
        return _s3_rule(cmd, op, rest, "s3://")
    if service == "configure":
        key = rest[0] if rest else ""
        if op in ("get", "export-credentials") and (
            "secret" in key or "token" in key or op != "get"
        ):
            return _SECRET
        if op == "set" and key.rsplit(".", 1)[-1].lower() in _PROFILE_TARGETS:
            return _REPOINT
        return _READ if op in ("get", "list", "list-profiles") else _LOCAL
    if op in _AWS_SECRET_OPS:
        return _SECRET
    if f"{service}:{op}" in _AWS_ENV_OPS and _reveals_env(cmd.option("--query")):
        return _ENV_SECRET
    if f"{service}:{op}" in _AWS_SPEC_OPS and re.search(r"env", cmd.option("--query") or "", re.I):
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
