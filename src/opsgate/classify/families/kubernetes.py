"""Kubernetes clients: kubectl (and OpenShift's ``oc``), helm, kustomize, kubectx,
kubens, and the GitOps CLIs argocd and flux.

Every verb maps to a row of a table.  A write to a cluster is a write in every
environment (SPEC §3); the environment only says how loudly to ask.  The cluster
is named by ``--context``/``--kube-context``, ``-n``, ``--kubeconfig`` and the
``KUBECONFIG``/``KUBE_CONTEXT`` variables; with none of them the target is the
current context, which the aggregator treats as production.
"""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._kubernetes_kubectl import (
    _UNKNOWN,
    Rule,
    _cluster_names,
    _delete,
    _finding,
    _kubectl,
    _local,
    _names,
    _read,
    _secret,
    _write,
)
from opsgate.models import Effect, Finding, Impact

__all__ = ["HANDLERS"]


# helm: the release store is in the cluster, so install/upgrade/rollback write to it.
_HELM: dict[str, Rule] = {
    **{
        v: _read("reads releases or charts")
        for v in _names(
            "list ls status history hist template lint show inspect search env version verify diff"
        )
    },
    **{
        v: _local("works on charts and repositories on this machine")
        for v in _names("repo dependency dep pull fetch package create plugin registry completion")
    },
    **{
        v: _write("changes a release in the cluster")
        for v in _names("install upgrade rollback test")
    },
    **{
        v: _delete("uninstalls a release and its resources")
        for v in _names("uninstall delete del un")
    },
    "push": Rule(Effect.WRITE, Impact.CAUTION, "registry.publish", "publishes a chart"),
}
_HELM_SUB: dict[tuple[str, str], Rule] = {
    ("get", "manifest"): _read("reads a release's rendered manifest"),
    ("get", "notes"): _read("reads release notes"),
    ("get", "hooks"): _read("reads release hooks"),
    ("get", "metadata"): _read("reads release metadata"),
    # Chart passwords are usually passed as values (``--set auth.password=…``) and
    # helm keeps them in clear; the values of a release are treated as secret.
    ("get", "values"): _secret("prints a release's values, where chart passwords live"),
    ("get", "all"): _secret("prints a release's values, where chart passwords live"),
    ("repo", "list"): _read("lists chart repositories"),
    ("plugin", "list"): _read("lists plugins"),
    ("secrets", "decrypt"): _secret("decrypts a secrets file"),
    ("secrets", "dec"): _secret("decrypts a secrets file"),
    ("secrets", "view"): _secret("prints a decrypted secrets file"),
}
_HELM_VALUED = _names(
    "-n --namespace --kube-context --kubeconfig --kube-apiserver --kube-token --kube-as-user "
    "--kube-as-group --kube-ca-file --registry-config --repository-config --repository-cache "
    "-f --values --set --set-string --set-file --version --repo -o --output --revision "
    "--timeout --post-renderer --description"
)


def _helm(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_HELM_VALUED)]
    names = _cluster_names(cmd, ("--kube-context",), "HELM_NAMESPACE")
    if cmd.env.get("HELM_KUBECONTEXT"):
        names.insert(0, cmd.env["HELM_KUBECONTEXT"])
    verb = words[0] if words else ""
    second = words[1] if len(words) > 1 else ""
    rule = _HELM_SUB.get((verb, second)) or _HELM.get(verb, _UNKNOWN)
    if verb == "get" and (verb, second) not in _HELM_SUB:
        rule = _UNKNOWN
    if rule.effect is Effect.WRITE and verb in ("install", "upgrade") and cmd.has("--dry-run"):
        rule = _read("dry run: renders without changing the release")
    if verb == "diff":  # the helm-diff plugin only shows what an upgrade would change
        rule = _read("shows what would change")
    if rule.effect in (Effect.WRITE, Effect.UNKNOWN):  # a card binds what it installs
        from opsgate.classify.families._kubernetes_manifests import bind_helm

        bind_helm(cmd, ctx, words)
    return [_finding(cmd, ctx, rule, " ".join(["helm", *words[:2]]), names)]


def _kustomize(cmd: Command, ctx: Context) -> list[Finding]:
    # kustomize only renders or edits files in the project; applying is kubectl's job.
    words = cmd.subcommand(depth=1)
    rule = (
        _read("renders manifests locally")
        if words[:1] in ((), ("build",))
        else _local("edits kustomization files in the project")
    )
    found = [_finding(cmd, ctx, rule, f"kustomize {' '.join(words)}".strip(), ["kustomize"])]
    if words[:1] in ((), ("build",)):
        from opsgate.classify._run_kubetools import kustomize_findings

        target = cmd.positionals(_KUSTOMIZE_VALUED)[1:2] if words else ()
        found += kustomize_findings(cmd, ctx, target[0].value if target else None)
    return found


_KUSTOMIZE_VALUED = _names("-o --output --helm-command --load-restrictor --mount --env -e "
                           "--network-name --reorder")  # fmt: skip


def _switcher(cmd: Command, ctx: Context) -> list[Finding]:
    # kubectx/kubens only change the local kubeconfig's current context/namespace.
    rule = _local("switches the local kube context") if cmd.args else _read("lists contexts")
    return [_finding(cmd, ctx, rule, cmd.name, [a.value for a in cmd.positionals()])]


# GitOps CLIs: their objects live in the cluster, so everything but reading writes.
_GITOPS_READ = frozenset(
    _names(
        "get list ls diff history manifests resources logs wait version check tree stats "
        "events trace export tail"
    )
)
_GITOPS_LOCAL = frozenset(_names("login logout context completion relogin"))
_GITOPS_DELETE = frozenset(_names("delete rm uninstall"))


def _gitops(cmd: Command, ctx: Context) -> list[Finding]:
    words = [
        a.value
        for a in cmd.positionals(("-n", "--namespace", "--server", "--context", "-o", "--output"))
    ]
    verbs = words[:2]
    if any(v in _GITOPS_DELETE for v in verbs):
        rule = _delete("deletes GitOps applications and their resources")
    elif verbs and verbs[0] == "account" and "generate-token" in words:
        rule = _secret("prints a new API token")
    elif any(v in _GITOPS_READ for v in verbs) or not verbs:
        rule = _read("reads GitOps state")
    elif any(v in _GITOPS_LOCAL for v in verbs):
        rule = _local("changes local CLI configuration")
    elif cmd.has("--prune"):
        rule = _delete("--prune deletes live resources missing from git")
    else:
        rule = _write("changes GitOps applications or reconciliation")
    names = _cluster_names(cmd, ("--kube-context", "--context"), "ARGOCD_NAMESPACE")
    return [_finding(cmd, ctx, rule, " ".join([cmd.name, *verbs]), names or [cmd.name])]


def _stern(cmd: Command, ctx: Context) -> list[Finding]:
    names = _cluster_names(cmd, ("--context",), "KUBE_NAMESPACE")
    return [_finding(cmd, ctx, _read("tails pod logs"), "stern", names)]


HANDLERS: dict[str, Handler] = {
    "kubectl": _kubectl,
    "oc": _kubectl,
    "helm": _helm,
    "kustomize": _kustomize,
    "kubectx": _switcher,
    "kubens": _switcher,
    "argocd": _gitops,
    "flux": _gitops,
    "stern": _stern,
}
