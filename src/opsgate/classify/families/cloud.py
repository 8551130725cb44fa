"""Cloud CLIs: aws, gcloud, gsutil, az, doctl, oci, eksctl.

Services are not enumerated: an operation is judged by its verb (``describe-*``
reads, ``delete-*`` destroys, ``create-*`` writes), with a short table of the
operations that print credentials or secret values.  A verb the tables don't
know is ``unknown``.  Every finding names the account (profile, project,
subscription) so that an unknown one is treated as production.
"""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._cloud_aws import _aws
from opsgate.classify.families._cloud_common import (
    _REMOTE,
    _finding,
    _generic_rule,
    _names,
    _path_verb,
    _resource_names,
)
from opsgate.classify.families._cloud_gcp_azure import _az, _gcloud, _gsutil
from opsgate.models import Finding

__all__ = ["HANDLERS"]


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
