"""Kubernetes-adjacent CLIs: helmfile, skaffold, velero, tilt, k9s, kubecolor,
Argo Workflows, and the local-cluster tools kind, minikube and k3d.

A deploy, sync, restore or delete changes the cluster: a write in every
environment (SPEC §3), with the cluster named by its context flag, else the
current context (which counts as production).  ``-e prod`` / ``-p prod`` are
environment evidence.  A throwaway local cluster (kind, minikube, k3d) is the
developer's own workspace: creating or deleting it is ``LOCAL`` — deleting is
``caution`` (like removing the local compose stack), never infrastructure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify._run_kubetools import helmfile_findings, skaffold_findings, tilt_findings
from opsgate.classify.families._verbs import (
    Rule,
    Where,
    finding,
    flags,
    locate,
    read,
    table,
    tool,
)
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS"]

_R, _L, _W, _U = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN
_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE

_K_READ = read("reads cluster state", "kubernetes.read")
_K_LOCAL = Rule(_L, _S, "kubernetes.local", "renders or builds on this machine")
_K_WRITE = Rule(_W, _C, "kubernetes.write", "deploys to the cluster")
_K_DELETE = Rule(_W, _D, "kubernetes.delete", "deletes deployed releases and their resources")
_K_UNKNOWN = Rule(_U, _C, "kubernetes.unknown", "unrecognised subcommand")


def _cluster(*context_flags: str, env_flags: tuple[str, ...] = ()) -> Where:
    def where(cmd: Command, ctx: Context) -> tuple[str, Environment | None, str | None]:
        names = [
            cmd.option(*context_flags),
            cmd.env.get("KUBE_CONTEXT"),
            cmd.option("--kubeconfig"),
            cmd.env.get("KUBECONFIG"),
            cmd.option("-n", "--namespace"),
        ]
        context = cmd.option(*context_flags) if context_flags else None
        if context and _LOCAL_CONTEXT.match(context):
            return context, Environment.LOCAL, f"{context}: a cluster on the developer's machine"
        label, env, source = locate(ctx, [*names, *(cmd.option(f) for f in env_flags)], "")
        return label or "kubernetes (current context)", env, source

    return where


# Context names the local cluster tools give (kind, minikube, Docker Desktop, k3d…).
_LOCAL_CONTEXT = re.compile(
    r"^(kind-.+|minikube|docker-desktop|docker-for-desktop|k3d-.+|colima(-.+)?|orbstack|"
    r"microk8s|rancher-desktop|kind)$"
)


def _tilt_where(cmd: Command, ctx: Context) -> tuple[str, Environment | None, str | None]:
    """Tilt deploys only to a local cluster unless its Tiltfile allows others
    (``allow_k8s_contexts``): without that, ``tilt up`` stays on this machine."""
    if cmd.option("--context") is None:
        tiltfile = ctx.read_text(cmd.option("-f", "--file") or "Tiltfile", cmd.cwd)
        if tiltfile is not None and "allow_k8s_contexts" not in tiltfile:
            return "tilt (local cluster)", Environment.LOCAL, "Tiltfile allows local clusters only"
    return _cluster("--context")(cmd, ctx)


# --- Kubernetes-adjacent --------------------------------------------------------

_HELMFILE = table(
    {
        _K_READ: "diff lint template list status build show-dag version write-values",
        _K_LOCAL: "deps repos fetch cache init completion",
        _K_WRITE: "apply sync deploy test",
        _K_DELETE: "destroy delete",
    }
)
_SKAFFOLD = table(
    {
        _K_READ: "render diagnose inspect version schema survey verify config",
        _K_LOCAL: "build init fix completion credits lint filter test",
        _K_WRITE: "run deploy dev apply debug",
        _K_DELETE: "delete",
    }
)
_VELERO_WRITE = Rule(_W, _C, "kubernetes.backup", "creates or restores cluster backups")
_VELERO_DELETE = Rule(_W, _D, "kubernetes.backup_delete", "deletes backups or restores")
_VELERO = table(
    {
        _K_READ: "get describe logs version completion",
        _K_LOCAL: "download",
        _VELERO_WRITE: "create install add set edit patch",
        _VELERO_DELETE: "delete uninstall remove",
    }
)
_VELERO_NOUNS = frozenset(
    flags("backup restore schedule backup-location snapshot-location plugin repo client")
)
_TILT = table(
    {
        _K_READ: "get describe logs doctor version dump api-resources explain",
        _K_LOCAL: "trigger enable disable args edit wait completion snapshot",
        _K_WRITE: "up ci down apply create patch delete",
    }
)
_LOCAL_CLUSTER = Rule(_L, _S, "kubernetes.local_cluster", "manages a throwaway local cluster")
# Deleting the developer's own kind/minikube cluster loses only what was deployed
# into it for development; it is the workspace, not infrastructure.
_LOCAL_CLUSTER_DELETE = Rule(
    _L, _C, "kubernetes.local_cluster", "deletes a throwaway local cluster (the developer's own)"
)
_KIND = table(
    {
        read("reads local clusters", "kubernetes.read"): "get version",
        _LOCAL_CLUSTER: "create build load export completion",
        _LOCAL_CLUSTER_DELETE: "delete",
    }
)
_MINIKUBE = table(
    {
        read("reads the local cluster", "kubernetes.read"): "status ip profile logs version "
        "update-check service addons image",
        _LOCAL_CLUSTER: "start stop pause unpause addons mount tunnel dashboard config "
        "cache image node cp update-context docker-env podman-env ssh-key completion",
        _LOCAL_CLUSTER_DELETE: "delete",
    }
)
_K3D = table(
    {
        read("reads local clusters", "kubernetes.read"): "version",
        _LOCAL_CLUSTER: "cluster,node,image,registry,kubeconfig,config",
        _LOCAL_CLUSTER_DELETE: "cluster delete,node delete,registry delete",
    }
)
_K3D.update({k: _LOCAL_CLUSTER for k in ("cluster", "node", "image", "registry", "kubeconfig")})
_K3D.update({f"{g} list": _K_READ for g in ("cluster", "node", "registry")})


def _k_adjust(cmd: Command, words: list[str], rule: Rule) -> Rule:
    if cmd.name == "tilt" and words[:1] == ["down"] and not cmd.has("--delete-namespaces"):
        return Rule(_W, _C, "kubernetes.write", "removes the Tiltfile's resources from the cluster")
    if cmd.name == "tilt" and words[:1] == ["down"]:
        return Rule(_W, _D, "kubernetes.delete", "deletes the Tiltfile's namespaces")
    if cmd.name == "skaffold" and words[:1] == ["build"] and cmd.option("--push") == "true":
        return Rule(_W, _C, "registry.publish", "builds and pushes images")
    if cmd.name == "velero" and words[:2] == ["client", "config"]:
        return Rule(_L, _S, "kubernetes.local", "changes local CLI configuration")
    if cmd.name == "velero" and len(words) > 1 and words[0] in _VELERO_NOUNS:
        # ``velero NOUN VERB``: the verb decides (``backup delete``, ``restore create``).
        return _VELERO.get(words[1], _K_UNKNOWN)
    if cmd.name == "helmfile" and rule is _K_WRITE and cmd.has("--dry-run"):
        return read("dry run: nothing is changed", "kubernetes.read")
    return rule


_HELMFILE_VALUED = flags(
    "-e --environment -f --file --kube-context -n --namespace -l --selector "
    "--state-values-set --state-values-file"
)
_SKAFFOLD_VALUED = flags(
    "-p --profile -f --filename --kube-context -n --namespace -m --module "
    "--default-repo -d -t --tag -o --output"
)
_VELERO_VALUED = flags(
    "--kubecontext -n --namespace --from-backup --schedule -o --include-namespaces "
    "--exclude-namespaces -l --selector"
)


def _velero_where(cmd: Command, ctx: Context) -> tuple[str, Environment | None, str | None]:
    label, env, source = _cluster("--kubecontext")(cmd, ctx)
    words = [a.value for a in cmd.positionals(_VELERO_VALUED)]
    names = [*words[2:3], cmd.option("--from-backup"), cmd.option("--include-namespaces")]
    best = locate(ctx, [n for n in names if n], "")
    if best[1] is not None and (env is None or best[1] > env):
        env, source = best[1], best[2]
    return label, env, source


def _local_cluster(cmd: Command, ctx: Context) -> tuple[str, Environment | None, str | None]:
    name = cmd.option("--name", "-p", "--profile") or cmd.name
    return name, Environment.LOCAL, f"{cmd.name}: a cluster on the developer's machine"


def _kubecolor(cmd: Command, ctx: Context) -> list[Finding]:
    """kubecolor is kubectl with colours: the same arguments, the same rules."""
    from opsgate.classify.families import handler_for

    kubectl = handler_for("kubectl")
    if kubectl is None:
        return [finding(_K_UNKNOWN, cmd.text, ("kubernetes (current context)", None, None))]
    return kubectl(replace(cmd, name="kubectl"), ctx)


def _argo(cmd: Command, ctx: Context) -> list[Finding]:
    """Argo Workflows: read/lint locally, everything else goes through the GitOps rules."""
    from opsgate.classify.families import handler_for

    words = cmd.subcommand(("-n", "--namespace", "-o", "--output", "--context"), depth=2)
    if words[:1] in (("lint",), ("completion",), ("version",), ("server",)):
        return [finding(_K_LOCAL, f"argo {words[0]}", ("argo", None, None))]
    gitops = handler_for("argocd")
    if gitops is None:
        return [finding(_K_UNKNOWN, cmd.text, ("kubernetes (current context)", None, None))]
    return gitops(cmd, ctx)


def _k9s(cmd: Command, ctx: Context) -> list[Finding]:
    where = _cluster("--context")(cmd, ctx)
    words = cmd.subcommand(("--context", "-n", "--namespace", "-c", "--command"))
    if words[:1] in (("info",), ("version",), ("help",), ("completion",)):
        return [finding(_K_READ, f"k9s {words[0]}", where)]
    if cmd.has("--readonly"):
        return [finding(read("browses the cluster read-only", "kubernetes.read"), "k9s", where)]
    rule = Rule(_U, _C, "kubernetes.interactive", "opens an interactive cluster UI")
    return [finding(rule, "k9s", where, "an interactive UI that can edit and delete anything")]


def _and_runs(handler: Handler, valued: tuple[str, ...], runs: _Runs) -> Handler:
    """``handler``'s findings and those of the commands the tool's project files make it
    run on this machine (``_run_kubetools``)."""

    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        words = [a.value for a in cmd.positionals(valued)]
        return handler(cmd, ctx) + runs(cmd, ctx, words)

    return handle


_Runs = Callable[[Command, Context, list[str]], list[Finding]]

_TILT_VALUED = ("--context", "-n", "--namespace", "-f", "--file", "--port")

HANDLERS: dict[str, Handler] = {
    "helmfile": _and_runs(
        tool(
            _HELMFILE,
            _cluster("--kube-context", env_flags=("-e", "--environment")),
            valued=_HELMFILE_VALUED,
            default=_K_UNKNOWN,
            empty=_K_READ,
            adjust=_k_adjust,
        ),
        _HELMFILE_VALUED,
        helmfile_findings,
    ),
    "skaffold": _and_runs(
        tool(
            _SKAFFOLD,
            _cluster("--kube-context", env_flags=("-p", "--profile")),
            valued=_SKAFFOLD_VALUED,
            default=_K_UNKNOWN,
            adjust=_k_adjust,
        ),
        _SKAFFOLD_VALUED,
        skaffold_findings,
    ),
    "velero": tool(
        _VELERO,
        _velero_where,
        valued=_VELERO_VALUED,
        default=_K_UNKNOWN,
        adjust=_k_adjust,
    ),
    "tilt": _and_runs(
        tool(_TILT, _tilt_where, valued=_TILT_VALUED, default=_K_UNKNOWN, adjust=_k_adjust),
        _TILT_VALUED,
        tilt_findings,
    ),
    "kind": tool(_KIND, _local_cluster, valued=("--name", "--image", "--config")),
    "minikube": tool(_MINIKUBE, _local_cluster, valued=("-p", "--profile", "--driver")),
    "k3d": tool(_K3D, _local_cluster, valued=("--config", "-c")),
    "kubecolor": _kubecolor,
    "argo": _argo,
    "k9s": _k9s,
}
