"""A card reads in five seconds (issue 15.2): a change over SSH is titled by what it
does and where ("Restart nginx on web-staging-1 (staging), over SSH"), its target
and the name to type are the inventory's name for the host (or the host), never
``host:path``; everything else keeps its description."""

from __future__ import annotations

import dataclasses

import pytest

from opsgate.approvals._describe import describe, target_of
from opsgate.environments import Inventory, InventoryTarget
from opsgate.guard import evaluate
from opsgate.models import Action, Environment
from opsgate.policy.model import Policy

_INVENTORY = Inventory(
    (
        InventoryTarget("web-staging-1", "server", Environment.STAGING, "full",
                        ("web-staging-1", "10.0.0.5")),
        InventoryTarget("orders-db", "database", Environment.PRODUCTION, "full", ("orders-db",)),
    )
)  # fmt: skip
_POLICY = dataclasses.replace(
    Policy(),
    inventory=_INVENTORY,
    settings=dataclasses.replace(Policy().settings, production_protection=False),
)


@pytest.mark.parametrize(
    ("command", "title", "target", "confirm"),
    [
        ("ssh web-staging-1 sudo systemctl restart nginx",
         "Restart nginx on web-staging-1 (staging), over SSH", "web-staging-1", None),
        # By address: still the inventory's name.
        ("ssh deploy@10.0.0.5 'sudo systemctl reload haproxy'",
         "Reload haproxy on web-staging-1 (staging), over SSH", "web-staging-1", None),
        ("ssh web-staging-1 rm -rf /var/www/app",
         "Deletes /var/www/app (a system path) on web-staging-1 (staging), over SSH",
         "web-staging-1:/var/www/app", "web-staging-1"),
        # Not in the inventory: the host is the name to type.
        ("ssh ops@box-7 'rm -rf /srv/data'",
         "Deletes /srv/data (a system path) on box-7 (production), over SSH",
         "box-7:/srv/data", "box-7"),
        # Not over SSH: unchanged.
        ("psql -h orders-db -c 'DROP TABLE orders'",
         "Drops table orders on orders-db (production), with psql", "orders-db", "orders-db"),
        ("rm -rf /etc/nginx",
         "Deletes /etc/nginx (a system path) (local), with rm", "/etc/nginx", "/etc/nginx"),
    ],
)  # fmt: skip
def test_titles_targets_and_names_to_type(
    command: str, title: str, target: str, confirm: str | None
) -> None:
    action = Action("", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")
    decision = evaluate(action, _POLICY)
    assert (describe(decision, action), target_of(decision, action), decision.confirm) == (
        title,
        target,
        confirm,
    )


@pytest.mark.parametrize(
    ("command", "title"),
    [
        ("kubectl --context staging delete deploy web -n shop",
         "Delete deploy/web in namespace shop on staging (staging)"),
        ("kubectl --context staging delete ns payments",
         "Delete namespace payments and everything in it on staging (staging)"),
        ("kubectl --context staging rollout restart deploy/web",
         "Restart every pod of deploy/web on staging (staging)"),
        ("kubectl --context staging scale deploy web --replicas=0",
         "Scale deploy/web to 0 replicas on staging (staging)"),
        ("kubectl --context staging set image deploy/web web=web:2",
         "Change the image of deploy/web on staging (staging)"),
        ("helm upgrade web ./chart -n shop --kube-context staging",
         "Upgrade the Helm release web in namespace shop on staging (staging)"),
        ("git push --force origin main", "Force-push main to origin, overwriting its history"),
        # No refspec: the branch checked out where the hook ran.
        ("git push -f", "Force-push feat/login to origin, overwriting its history"),
        # Only the change is titled: the test run before it is ordinary work.
        ("npm test && kubectl --context staging delete pod web-0",
         "Delete pod/web-0 on staging (staging)"),
    ],
)  # fmt: skip
def test_family_titles_read_in_five_seconds(command: str, title: str) -> None:
    action = Action(
        "", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w",
        context=(("git.branch@/srv/w", "feat/login"),),
    )  # fmt: skip
    assert describe(evaluate(action, _POLICY), action).startswith(title)
