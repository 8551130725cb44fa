"""A card carries the rollback plan opsgate knows for the action (issue 15.2): the
previous tip for a force push, re-creating a deleted Kubernetes object from its
manifest, ``helm rollback``, the dump the same command takes first — and none for
what cannot be undone (``DROP`` without a backup, ``rm -rf``, a namespace and its
volumes), so that only those cards say "This cannot be undone"."""

from __future__ import annotations

import dataclasses

import pytest

from opsgate.approvals._undo import known_rollback
from opsgate.approvals.model import Card, CardState
from opsgate.environments import Inventory, InventoryTarget
from opsgate.guard import evaluate
from opsgate.models import Action, Environment, Impact
from opsgate.policy.model import Policy

_POLICY = dataclasses.replace(
    Policy(),
    inventory=Inventory(
        (InventoryTarget("web-staging-1", "server", Environment.STAGING, "full",
                         ("web-staging-1",)),)
    ),
)  # fmt: skip


def _plan(command: str, *, branch: str = "feat/login") -> str:
    action = Action(
        "", "Bash", {"command": command}, cwd="/srv/app", project_dir="/srv/app",
        agent="claude-code", context=(("git.branch@/srv/app", branch),),
    )  # fmt: skip
    return known_rollback(evaluate(action, _POLICY), action)


@pytest.mark.parametrize(
    ("command", "wanted"),
    [
        ("git push --force origin main",
         ("git ls-remote origin refs/heads/main", "--force-with-lease origin",
          "<that commit>:refs/heads/main")),
        # No refspec: the branch checked out where the hook ran.
        ("git push -f", ("refs/heads/feat/login",)),
        ("git push --force-with-lease origin +HEAD:release", ("refs/heads/release",)),
        ("git push origin :feature/old", ("origin/feature/old:refs/heads/feature/old",)),
        ("git push origin --delete feature/old",
         ("origin/feature/old:refs/heads/feature/old",)),
        ("git reset --hard HEAD~3", ("HEAD@{1}", "Uncommitted changes")),
        ("git branch -D feature/x", ("git branch feature/x <that commit>",)),
        ("git stash drop", ("git stash apply",)),
        ("kubectl --context staging delete deploy web -n shop",
         ("kubectl --context staging -n shop get deploy/web -o yaml > saved.yaml",
          "apply -f saved.yaml")),
        ("kubectl --context staging set image deploy/web web=web:2",
         ("kubectl --context staging rollout undo deploy/web",)),
        ("kubectl --context staging rollout restart deploy/web", ("Nothing to roll back",)),
        ("kubectl --context staging scale deploy web --replicas=0",
         ("jsonpath='{.spec.replicas}'", "scale deploy web --replicas=N")),
        ("helm upgrade web ./chart -n shop --kube-context staging",
         ("helm rollback web --kube-context staging -n shop",)),
        # kubectl reads the last of a repeated flag; so does the plan.
        ("kubectl --context staging --context prod-eu delete deploy web -n shop",
         ("kubectl --context prod-eu -n shop get deploy/web",)),
        ("KUBECONFIG=/tmp/prod.kubeconfig kubectl delete deploy web -nshop",
         ("KUBECONFIG=/tmp/prod.kubeconfig kubectl -n shop get deploy/web",)),
        ("kubectl --kubeconfig /tmp/p.kubeconfig --context staging delete deploy web",
         ("kubectl --kubeconfig /tmp/p.kubeconfig --context staging get deploy/web",)),
        # Two deletions: a plan for each.
        ("kubectl --context staging delete deploy web && "
         "kubectl --context staging delete deploy api",
         ("get deploy/web", "get deploy/api")),
        ("helm install web ./chart", ("helm uninstall web",)),
        ("sudo systemctl stop nginx", ("systemctl start nginx",)),
        ("sudo systemctl disable --now nginx", ("systemctl enable --now nginx",)),
        ("ssh web-staging-1 'sudo systemctl stop nginx'",
         ("On web-staging-1:", "systemctl start nginx")),
        ("ssh web-staging-1 sudo systemctl restart nginx",
         ("Nothing to roll back: nginx runs again",)),
        ("docker compose down", ("docker compose up -d",)),
        ("alembic upgrade head", ("alembic downgrade -1",)),
        ("vault kv put secret/app flag=1", ("vault kv rollback", "secret/app")),
    ],
)  # fmt: skip
def test_a_known_rollback_is_on_the_card(command: str, wanted: tuple[str, ...]) -> None:
    plan = _plan(command)
    for part in wanted:
        assert part in plan, plan


@pytest.mark.parametrize(
    "command",
    [
        "psql -h db.staging.internal app -c 'DROP TABLE orders'",
        "psql -h db.staging.internal app -c 'TRUNCATE orders'",
        "redis-cli -h cache.staging.internal flushall",
        "rm -rf ~/projects/old",
        "git clean -fdx",
        "terraform destroy -auto-approve",
        # A namespace or a volume takes its data with it: re-applying manifests does not.
        "kubectl --context staging delete namespace payments",
        "kubectl --context staging delete pvc data-0",
        "docker compose down -v",
        # A dump taken after the drop restores nothing.
        "psql -h db.staging.internal app -c 'DROP TABLE t' && pg_dump app -f /tmp/after.dump",
        # One change with a plan and one without: no complete rollback is known.
        "kubectl --context staging rollout restart deploy/web && "
        "psql -h db.staging.internal app -c 'DROP TABLE t'",
        "git push --force origin 'HEAD",  # unbalanced quote: nothing guessed
        # A dump the agent takes is not a backup opsgate can vouch for (to /dev/null,
        # schema only, another database, run only if …): opsgate's own operations take
        # their backups themselves.
        "pg_dump -Fc app -f /tmp/app.dump && psql app -c 'DROP TABLE old_orders'",
        # What a selection, a kustomization or a manifest not seen holds is unknown.
        "kubectl --context staging delete deploy -l app=web",
        "kubectl --context staging delete deploy --all",
        "kubectl --context staging delete -k overlays/prod",
        "kubectl --context staging delete -f k8s/web.yaml",
        # A patch or an apply may change what a rollout undo does not restore (replicas).
        'kubectl --context staging patch deploy web -p \'{"spec":{"replicas":0}}\'',
        "kubectl --context staging set image deploy -l app=web web=img:2",
        # Another machine's service, a second hop, several branches.
        "systemctl -H web-prod-1 stop nginx",
        "ssh web-staging-1 ssh web-prod-1 sudo systemctl stop nginx",
        "git push -f origin main dev",
        " && ".join(f"git push -f origin branch-number-{i}" for i in range(12)),
    ],
)
def test_no_rollback_is_invented(command: str) -> None:
    assert _plan(command) == ""


def _card(impact: Impact, *, rollback: str = "", undo: str = "") -> Card:
    return Card(
        id="c_0", state=CardState.PENDING, created_at=0.0, expires_at=1.0, description="d",
        target="t", environment=Environment.STAGING, impact=impact, action_kind="shell.exec",
        action={}, action_hash="h", requested_by="t_1", requested_by_name="agent",
        rollback=rollback, undo=undo,
    )  # fmt: skip


def test_cannot_be_undone_unless_opsgate_knows_a_plan() -> None:
    assert _card(Impact.DESTRUCTIVE).irreversible
    assert not _card(Impact.DESTRUCTIVE, undo="helm rollback web").irreversible
    # The agent's words are shown, but never lift the warning ("none" would).
    assert _card(Impact.DESTRUCTIVE, rollback="restore from last night's dump").irreversible
    assert _card(Impact.DESTRUCTIVE, rollback="none").irreversible
    assert not _card(Impact.CAUTION).irreversible


def test_a_hostile_command_cannot_make_the_plan_unbounded() -> None:
    names = " ".join(f"w{i}" for i in range(5000))
    assert _plan(f"kubectl --context staging delete deploy {names}") == ""
    long = "x" * 100_000
    assert len(_plan(f"kubectl --context staging delete deploy {long}")) <= 1500


def test_a_manifest_opsgate_saw_is_re_applied_unless_it_holds_data() -> None:
    from opsgate.models import FileRead

    def plan(text: str) -> str:
        action = Action(
            "", "Bash", {"command": "kubectl --context staging delete -f k8s/web.yaml"},
            cwd="/srv/app", project_dir="/srv/app",
            files=(FileRead("/srv/app/k8s/web.yaml", "0" * 64, text),),
        )  # fmt: skip
        return known_rollback(evaluate(action, _POLICY), action)

    deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
    assert "kubectl --context staging apply -f k8s/web.yaml" in plan(deployment)
    assert plan("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n") == ""
    assert plan(deployment + "---\nkind: PersistentVolumeClaim\n") == ""
