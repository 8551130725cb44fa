"""kubectl and oc: verb tables, cluster evidence, exec into pods."""

from __future__ import annotations

import re
import shlex

from opsgate.classify._command import Command, Context
from opsgate.classify.families._verbs import Rule, RuleSet, words
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = [
    "KUBECTL_VALUED",
    "_UNKNOWN",
    "Rule",
    "_cluster_names",
    "_delete",
    "_finding",
    "_kubectl",
    "_local",
    "_names",
    "_read",
    "_secret",
    "_write",
]


_names = words
_RULES = RuleSet("kubernetes", write="write", destroy="delete")
_read, _local, _write = _RULES.read, _RULES.local, _RULES.write


def _repoint(reason: str) -> Rule:
    return Rule(Effect.WRITE, Impact.CAUTION, "kubernetes.config", reason)


_delete, _secret = _RULES.destroy, _RULES.secret
_UNKNOWN = _RULES.unknown("unrecognised subcommand")

_KUBECTL: dict[str, Rule] = {
    **{
        v: _read("reads cluster state")
        for v in _names(
            "get describe logs top explain api-resources api-versions version diff "
            "cluster-info wait kustomize events completion options help plugin"
        )
    },
    **{
        v: _write("changes objects in the cluster")
        for v in _names(
            "apply create patch edit label annotate scale autoscale set cordon uncordon "
            "taint expose run replace debug certificate"
        )
    },
    "delete": _delete("deletes objects from the cluster"),
    # Draining evicts every pod from a node; the pods are rescheduled, so it is a
    # disruptive but reversible change (uncordon undoes it).
    "drain": _write("evicts every pod from a node"),
    # A tunnel or proxy from this machine: reads through it, changes nothing itself.
    "port-forward": _local("opens a local tunnel into the cluster"),
    "proxy": _local("opens a local proxy to the API server"),
    "attach": Rule(
        Effect.UNKNOWN, Impact.CAUTION, "kubernetes.exec", "attaches to a running process"
    ),
    "view-secret": _secret("prints a decoded secret (kubectl plugin)"),
    # kubectl plugins that only switch local kubeconfig state.
    "ctx": _local("switches the local kube context"),
    "ns": _local("switches the local namespace"),
    "krew": _local("manages kubectl plugins locally"),
}

# Verbs whose meaning is in their second word.
_KUBECTL_SUB: dict[tuple[str, str], Rule] = {
    ("rollout", "history"): _read("reads rollout history"),
    ("rollout", "status"): _read("reads rollout status"),
    ("rollout", "restart"): _write("restarts every pod of a workload"),
    ("rollout", "undo"): _write("rolls a workload back to an earlier revision"),
    ("rollout", "pause"): _write("pauses a rollout"),
    ("rollout", "resume"): _write("resumes a rollout"),
    ("auth", "can-i"): _read("checks a permission"),
    ("auth", "whoami"): _read("shows the current identity"),
    ("auth", "reconcile"): _write("reconciles RBAC objects"),
    ("apply", "view-last-applied"): _read("reads the last applied configuration"),
    ("config", "view"): _read("shows kubeconfig with credentials redacted"),
    ("top", "node"): _read("reads metrics"),
    **{
        ("config", v): _read("reads local kubeconfig")
        for v in ("get-contexts", "current-context", "get-clusters", "get-users")
    },
    **{
        ("config", v): _local("changes local kubeconfig")
        for v in _names(
            "use-context use set-context unset delete-context delete-cluster delete-user"
        )
    },
    # What a context name points at: an approval (and its grant) for ``staging-eu``
    # is worth nothing once that name leads to the production cluster or identity.
    **{
        ("config", v): _repoint("changes which cluster or identity a kubeconfig name leads to")
        for v in _names("set set-cluster set-credentials rename-context")
    },
}

# Kinds whose objects a controller recreates or that only hold run history:
# deleting them disrupts but loses nothing that can't come back.
_EPHEMERAL_KINDS = frozenset(
    _names("pod pods po job jobs replicaset replicasets rs event events ev lease leases")
)
_SECRET_KINDS = frozenset({"secret", "secrets"})
# Output templates that reach a secret's values (.data / .stringData), the whole
# object, or recursive descent.
_REVEALS_DATA = re.compile(
    r"(?<![a-z])data|\.\.|@|\{\s*\.?\s*\}|\{\{\s*(json\s+)?\.\s*\}\}", re.IGNORECASE
)
_INTERACTIVE = frozenset(_names("bash sh zsh ash dash ksh fish"))

_KUBE_VALUED = _names(
    "-n --namespace --context --kubeconfig --cluster --user -s --server --token --as "
    "--as-group --as-uid --request-timeout --certificate-authority --client-key "
    "--client-certificate --tls-server-name --cache-dir -v -o --output -l --selector "
    "-f --filename -c --container --field-selector --template -k --kustomize --sort-by "
    "--type -p --patch --image --replicas --for --timeout --grace-period --from "
    "--show-kind --kube-context --namespace-selector --username --password"
)
# kubectl's options that take a value (cards read commands with them: approvals._clause).
KUBECTL_VALUED = _KUBE_VALUED


def _environment(
    cmd: Command, ctx: Context, names: list[str]
) -> tuple[str, Environment | None, str | None]:
    """Target label and the most sensitive environment the evidence names."""
    best: tuple[Environment, str] | None = None
    for name in names:
        found = ctx.environment_of(name)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    label = ", ".join(names) if names else "kubernetes (current context)"
    return label, (best[0] if best else None), (best[1] if best else None)


def _cluster_names(cmd: Command, context_flags: tuple[str, ...], ns_env: str) -> list[str]:
    names: list[str] = []
    for value in (
        cmd.option(*context_flags),
        cmd.env.get("KUBE_CONTEXT"),
        cmd.option("--cluster"),
        cmd.option("--server", "-s") if cmd.name != "helm" else None,
        cmd.option("--kubeconfig"),
        cmd.env.get("KUBECONFIG"),
        cmd.option("-n", "--namespace"),
        cmd.env.get(ns_env),
    ):
        if value:
            names.append(value)
    return names


def _finding(cmd: Command, ctx: Context, rule: Rule, evidence: str, names: list[str]) -> Finding:
    target, env, source = _environment(cmd, ctx, names)
    return Finding(
        category=rule.category,
        impact=rule.impact,
        effect=rule.effect,
        evidence=evidence,
        reason=rule.reason,
        target=target,
        environment=env,
        env_source=source,
    )


def _dry_run(cmd: Command) -> bool:
    value = cmd.option("--dry-run")
    return cmd.has("--dry-run") and value not in ("none", "false")


def _template(cmd: Command) -> str:
    """The template of ``-o jsonpath=…``, ``go-template=…``, ``custom-columns=…``."""
    return (cmd.option("-o", "--output") or "").partition("=")[2]


# A template field that selects a container's environment (``.env``, ``.env[*].value``).
_ENV_FIELD = re.compile(r"\.env\b", re.IGNORECASE)


def _output_reveals(cmd: Command) -> bool:
    out = cmd.option("-o", "--output") or ""
    if out in ("yaml", "json") or out.startswith("jsonpath-as-json"):
        return True
    template = cmd.option("--template") or _template(cmd)
    return bool(template) and bool(_REVEALS_DATA.search(template))


def _kubectl_rule(cmd: Command, words: list[str]) -> Rule:
    verb = words[0]
    second = words[1] if len(words) > 1 else ""
    rule = _KUBECTL_SUB.get((verb, second)) or _KUBECTL.get(verb, _UNKNOWN)
    if verb in ("rollout", "auth", "config") and (verb, second) not in _KUBECTL_SUB:
        rule = _UNKNOWN if verb != "rollout" else _write("changes a rollout")
    kinds = {k.split("/")[0].split(".")[0] for k in second.split(",")} if second else set()
    if verb == "get" and kinds & _SECRET_KINDS and _output_reveals(cmd):
        return _secret("prints secret values")
    if verb == "get" and _ENV_FIELD.search(cmd.option("--template") or _template(cmd)):
        return _secret("prints containers' environment values (the template picks them out)")
    if verb == "get" and "secrets" in (cmd.option("--raw") or ""):
        return _secret("reads secrets through the raw API")
    if (verb, second) == ("config", "set-context") and cmd.option("--cluster", "--user"):
        return _repoint("points a kubeconfig context at another cluster or identity")
    if (verb, second) == ("config", "view") and cmd.has("--raw", "--flatten"):
        return _secret("prints kubeconfig tokens and client keys")
    if verb in ("whoami",) and cmd.has("-t", "--show-token"):
        return _secret("prints the session token")
    if rule.effect is Effect.WRITE and _dry_run(cmd):
        return _read("dry run: nothing is changed")
    if verb == "delete" and kinds and kinds <= _EPHEMERAL_KINDS:
        return _write("deletes pods or jobs (recreated by their controllers)")
    if verb == "replace" and cmd.has("--force"):
        return _delete("--force deletes and recreates the object")
    if verb == "apply" and cmd.has("--prune"):
        return _delete("--prune deletes live objects missing from the manifests")
    if verb == "cp":
        return _cp_rule(words)
    return rule


def _cp_rule(words: list[str]) -> Rule:
    # ``kubectl cp SRC DST``: ``[ns/]pod:/path`` names a pod side.
    pod_side = re.compile(r"^[\w.-]+(/[\w.-]+)?:")
    if len(words) >= 3 and pod_side.match(words[2]) and len(words[2].split(":")[0]) > 1:
        return _write("writes files into a running container")
    if len(words) >= 2 and _copies_secret(words[1]):
        return _secret("copies a credentials file out of a pod")
    return _local("copies files out of a pod")


def _copies_secret(source: str) -> bool:
    """``pod:/app/.env``: the container side of a copy names a credentials file."""
    from opsgate.classify.paths import is_secret_path

    _, sep, path = source.partition(":")
    return bool(sep) and bool(path) and is_secret_path(path)


# Verbs of ``oc`` beyond kubectl's.
_OC: dict[str, Rule] = {
    "login": _local("logs in; writes local kubeconfig"),
    "logout": _local("logs out"),
    "project": _local("switches the current project"),
    "projects": _read("lists projects"),
    "status": _read("reads project status"),
    "whoami": _read("shows the current identity"),
    "new-app": _write("creates an application in the cluster"),
    "new-project": _write("creates a project"),
    "start-build": _write("starts a build in the cluster"),
    "adm": _write("cluster administration"),
    "rsh": Rule(Effect.UNKNOWN, Impact.CAUTION, "kubernetes.exec", "opens a shell in a pod"),
}


def _kubectl(cmd: Command, ctx: Context) -> list[Finding]:
    words = [a.value for a in cmd.positionals(_KUBE_VALUED)]
    names = _cluster_names(cmd, ("--context",), "KUBE_NAMESPACE")
    if not words:
        return [_finding(cmd, ctx, _UNKNOWN, cmd.text, names)]
    if words[0] == "exec":
        return _exec(cmd, ctx, names)
    rule = _kubectl_rule(cmd, words)
    if cmd.name == "oc" and rule is _UNKNOWN:
        rule = _OC.get(words[0], _UNKNOWN)
    if rule is _UNKNOWN and words[0] not in _KUBECTL:
        from opsgate.classify.families._kubernetes_plugins import plugin_findings

        plugin = plugin_findings(cmd, ctx)  # ``kubectl NAME``: the ``kubectl-NAME`` file
        if plugin is not None:
            return plugin
    if rule.effect in (Effect.WRITE, Effect.UNKNOWN):  # a card binds the manifests
        from opsgate.classify.families._kubernetes_manifests import manifest_names

        names = [*names, *(n for n in manifest_names(cmd, ctx) if n not in names)]
    found = _finding(cmd, ctx, rule, " ".join(["kubectl", *words[:2]]), names)
    if words[0] in ("proxy", "port-forward"):
        from opsgate.classify.families._network_tunnels import note_tunnel

        note_tunnel(cmd, ctx, words[0], words, found)  # later requests to its port
    if words[0] == "kustomize":  # its exec functions (``--enable-exec``)
        from opsgate.classify._run_kubetools import kustomize_findings

        return [found, *kustomize_findings(cmd, ctx, words[1] if len(words) > 1 else None)]
    return [found]


def _exec(cmd: Command, ctx: Context, names: list[str]) -> list[Finding]:
    """``kubectl exec POD -- CMD``: classify CMD as a script run in the pod."""
    inner = [a.value for a in cmd.after("--")]
    before = [a.value for a in cmd.positionals(_KUBE_VALUED) if a.value not in inner]
    pod = before[1] if len(before) > 1 else "pod"
    if not inner:  # deprecated form: ``kubectl exec POD CMD …``
        inner = before[2:]
    where = [*names, pod]
    seen = _finding(
        cmd,
        ctx,
        Rule(Effect.READ, Impact.SAFE, "kubernetes.exec", "runs a command in a pod"),
        "kubectl exec",
        where,
    )
    return [seen, *_nested(cmd, ctx, inner, via="kubectl exec", remote=pod, seen=seen)]


def _nested(
    cmd: Command,
    ctx: Context,
    inner: list[str],
    *,
    via: str,
    remote: str,
    seen: Finding,
    stdin_open: bool | None = None,
) -> list[Finding]:
    """Findings for a command run inside a pod (or another tool's remote task:
    ``nomad alloc exec``): the shell classifier judges it as a remote script.  A bare
    shell, or stdin produced at run time, can't be seen.  ``stdin_open``: whether the
    tool hands its stdin on (kubectl: only with ``-i``)."""
    unknown = Rule(Effect.UNKNOWN, Impact.CAUTION, seen.category, "")
    if not inner or (len(inner) == 1 and inner[0].rsplit("/", 1)[-1] in _INTERACTIVE):
        return [_like(seen, unknown, "opens an interactive shell; what runs in it can't be seen")]
    script = shlex.join(inner)
    stdin = cmd.stdin
    if stdin_open is None:
        stdin_open = cmd.has("-i", "--stdin")
    if stdin is not None and stdin_open:
        if stdin.text is None:
            return [_like(seen, unknown, "feeds data produced at run time into the pod")]
        script = f"{script} <<'OPSGATE_STDIN_EOF'\n{stdin.text}\nOPSGATE_STDIN_EOF"
    return ctx.classify_shell(script, via=via, remote=remote)


def _like(seen: Finding, rule: Rule, reason: str) -> Finding:
    return Finding(
        category=rule.category,
        impact=rule.impact,
        effect=rule.effect,
        evidence=seen.evidence,
        reason=reason,
        target=seen.target,
        environment=seen.environment,
        env_source=seen.env_source,
    )
