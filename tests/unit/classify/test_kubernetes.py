"""kubectl, oc, helm, kustomize, GitOps CLIs: verb tables, secrets, exec, environments."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families.kubernetes import HANDLERS
from opsgate.models import Effect, Environment, Impact

R, L, W, U, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET

CASES = [
    ("get-pods", "kubectl get pods -A", R),
    ("describe-secret", "kubectl describe secret api-keys -n shop", R),
    ("logs", "kubectl logs api-1 -c sidecar --previous", R),
    ("rollout-history", "kubectl rollout history deploy/api", R),
    ("config-view-redacted", "kubectl config view", R),
    ("configmap-yaml", "kubectl get configmap app -o yaml", R),
    ("secret-columns", "kubectl get secrets -o custom-columns=NAME:.metadata.name", R),
    ("secret-metadata-jsonpath", "kubectl get secret t -o jsonpath='{.metadata.name}'", R),
    ("secret-yaml", "kubectl get secret db -o yaml", S),
    ("secret-kind-slash", "kubectl get secret/db -o json", S),
    ("secret-data-jsonpath", "kubectl get secret db -o jsonpath='{.data.password}'", S),
    ("secret-go-template", "kubectl get secret r -o go-template='{{index .data \"k\"}}'", S),
    ("config-raw", "kubectl config view --raw", S),
    ("config-flatten", "kubectl config view --flatten", S),
    ("view-secret-plugin", "kubectl view-secret api-keys", S),
    ("oc-whoami-token", "oc whoami -t", S),
    ("use-context", "kubectl config use-context prod", L),
    ("port-forward", "kubectl port-forward svc/api 8080:80", L),
    ("cp-out", "kubectl cp api-1:/var/log/app.log ./app.log", L),
    ("apply", "kubectl apply -f k8s/", W),
    ("apply-dry-run", "kubectl apply -f k8s/ --dry-run=server", R),
    ("rollout-restart", "kubectl rollout restart deploy/api", W),
    ("scale", "kubectl scale deploy api --replicas=0", W),
    ("cp-into-pod", "kubectl cp ./fix.py api-1:/app/fix.py", W),
    ("drain", "kubectl drain node-3 --ignore-daemonsets", W),
    ("unknown-plugin", "kubectl frobnicate everything", U),
    ("interactive-attach", "kubectl attach -it api-1", U),
    ("helm-list", "helm list -A", R),
    ("helm-manifest", "helm get manifest web", R),
    ("helm-values-secret", "helm get values web --all", S),
    ("helm-repo-add", "helm repo add bitnami https://charts.bitnami.com/bitnami", L),
    ("helm-upgrade", "helm upgrade web ./chart", W),
    ("helm-upgrade-dry-run", "helm upgrade web ./chart --dry-run", R),
    ("kustomize-build", "kustomize build overlays/prod", R),
    ("kubectx-switch", "kubectx prod-eu", L),
    ("argocd-get", "argocd app get payments", R),
    ("flux-suspend", "flux suspend kustomization apps", W),
]


@pytest.mark.parametrize(("line", "effect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_effect(line: str, effect: Effect) -> None:
    cmd = make_command(line)
    findings = HANDLERS[cmd.name](cmd, MemoryContext())
    assert max(f.effect for f in findings) is effect


DESTRUCTIVE = [
    ("delete-ns", "kubectl delete ns payments", Impact.DESTRUCTIVE),
    ("delete-deploy-label", "kubectl delete deploy,svc -l app=x", Impact.DESTRUCTIVE),
    ("delete-pod-is-caution", "kubectl delete pod api-1 --force", Impact.CAUTION),
    ("replace-force", "kubectl replace --force -f job.yaml", Impact.DESTRUCTIVE),
    ("apply-prune", "kubectl apply -f k8s/ --prune -l app=x", Impact.DESTRUCTIVE),
    ("helm-uninstall", "helm uninstall redis -n cache", Impact.DESTRUCTIVE),
    ("argocd-sync-prune", "argocd app sync payments --prune", Impact.DESTRUCTIVE),
]


@pytest.mark.parametrize(
    ("line", "impact"), [c[1:] for c in DESTRUCTIVE], ids=[c[0] for c in DESTRUCTIVE]
)
def test_writes_and_impact(line: str, impact: Impact) -> None:
    cmd = make_command(line)
    (finding,) = HANDLERS[cmd.name](cmd, MemoryContext())
    assert finding.effect is Effect.WRITE
    assert finding.impact is impact
    assert finding.category.startswith("kubernetes.")


ENVIRONMENTS = [
    (
        "context-prod",
        "kubectl --context=prod-us-east-1 create job x -n jobs",
        {},
        Environment.PRODUCTION,
    ),
    ("context-dev", "kubectl --context dev-eu apply -f k8s/", {}, Environment.DEVELOPMENT),
    (
        "namespace-prod",
        "kubectl -n production set resources deploy/api",
        {},
        Environment.PRODUCTION,
    ),
    (
        "most-sensitive-wins",
        "kubectl --context dev -n production delete pod x",
        {},
        Environment.PRODUCTION,
    ),
    (
        "kubeconfig-var",
        "kubectl delete pods -l app=api",
        {"KUBECONFIG": "~/.kube/prod.yaml"},
        Environment.PRODUCTION,
    ),
    (
        "helm-kube-context",
        "helm --kube-context=stg-eu upgrade web ./chart",
        {},
        Environment.STAGING,
    ),
    ("no-evidence", "kubectl apply -f k8s/", {}, None),
]


@pytest.mark.parametrize(
    ("line", "env", "expected"), [c[1:] for c in ENVIRONMENTS], ids=[c[0] for c in ENVIRONMENTS]
)
def test_environment(line: str, env: dict[str, str], expected: Environment | None) -> None:
    cmd = make_command(line, env=env)
    (finding,) = HANDLERS[cmd.name](cmd, MemoryContext())
    assert finding.environment is expected
    assert finding.target  # an unknown cluster is still a named target


def test_exec_classifies_inner_command_as_remote() -> None:
    ctx = MemoryContext()
    cmd = make_command("kubectl exec -it redis-0 -n cache -- redis-cli FLUSHALL")
    HANDLERS["kubectl"](cmd, ctx)
    assert ctx.nested == [("redis-cli FLUSHALL", "kubectl exec", "redis-0")]


def test_exec_sh_c_is_passed_whole() -> None:
    ctx = MemoryContext()
    HANDLERS["kubectl"](make_command("kubectl exec api-0 -- sh -c 'rm -rf /data/*'"), ctx)
    assert ctx.nested == [("sh -c 'rm -rf /data/*'", "kubectl exec", "api-0")]


def test_exec_stdin_payload_becomes_heredoc() -> None:
    ctx = MemoryContext()
    cmd = make_command("kubectl exec -i pg-0 -- psql", stdin="DROP TABLE users;")
    HANDLERS["kubectl"](cmd, ctx)
    ((script, _, remote),) = ctx.nested
    assert "DROP TABLE users;" in script and remote == "pg-0"


@pytest.mark.parametrize(
    "line", ["kubectl exec -it api-0 -- bash", "kubectl exec -it api-0"], ids=["bash", "no-command"]
)
def test_interactive_exec_is_unknown(line: str) -> None:
    ctx = MemoryContext()
    findings = HANDLERS["kubectl"](make_command(line), ctx)
    assert any(f.effect is Effect.UNKNOWN for f in findings)
    assert ctx.nested == []
