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


@pytest.mark.parametrize(
    ("command", "title"),
    [
        ("docker volume rm pgdata", "Delete the Docker volume pgdata and the data in it"),
        ("podman volume rm a b", "Delete the Podman volumes a, b and the data in them"),
        ("docker -H ssh://web-prod-1 volume rm pgdata",
         "Delete the Docker volume pgdata and the data in it on ssh://web-prod-1"),
        # ``rm -f`` forces; it takes no value (the container is still named).
        ("docker rm -f api", "Remove the Docker container api"),
        ("docker system prune -af --volumes",
         "Prune Docker's stopped containers, unused images, networks and every unused volume"),
        ("docker compose -f prod.yml -p shop down -v",
         "Stop the compose stack shop and delete its volumes"),
        ("terraform destroy -auto-approve",
         "Destroy every resource of the Terraform configuration"),
        ("terraform -chdir=infra/prod destroy -target=aws_db_instance.orders",
         "Destroy aws_db_instance.orders of the Terraform configuration in infra/prod"),
        ("terraform state rm aws_s3_bucket.logs",
         "Remove aws_s3_bucket.logs from the Terraform state"),
        ("npm publish --tag next", "Publish this package to registry.npmjs.org with the tag next"),
        ("npm unpublish left-pad@1.0.0", "Unpublish left-pad@1.0.0 from registry.npmjs.org"),
    ],
)  # fmt: skip
def test_engine_terraform_and_registry_titles_name_the_object(command: str, title: str) -> None:
    action = Action("", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")
    assert describe(evaluate(action, _POLICY), action).startswith(title)


@pytest.mark.parametrize(
    ("command", "title"),
    [
        ("aws s3 rm s3://acme-backups --recursive",
         "Delete everything under s3://acme-backups, with the default AWS profile (production)"),
        ("aws s3 rm s3://acme-backups/old.tar", "Delete s3://acme-backups/old.tar, with the"),
        ("aws s3api delete-object --bucket acme --key db.dump --region eu-west-1",
         "Delete db.dump from the bucket acme in eu-west-1 (production)"),
        ("aws s3 sync ./site s3://acme-www --delete",
         "Sync ./site to s3://acme-www, deleting what ./site lacks"),
        ("aws dynamodb delete-table --table-name=orders --profile prod",
         "Delete the DynamoDB table orders, with AWS profile prod"),
        ("gsutil rm -r gs://acme-logs", "Delete gs://acme-logs"),
        ("gcloud compute instances delete web-1 web-2 --zone us-central1-a --quiet",
         "Delete the Compute Engine instance web-1, web-2"),
        ("az sql db delete -g rg -s sql-prod -n orders --yes",
         "Delete the SQL database orders on sql-prod in resource group rg"),
        ("psql -h orders-db -c 'DROP TABLE orders' shop",
         "Drop table orders in database shop on orders-db (production)"),
        ("mysql -h orders-db -e 'TRUNCATE TABLE carts' -D shop",
         "Empty carts in database shop on orders-db"),
        ("dropdb app", "Drop the database app (production)"),
        ("ssh web-staging-1 ssh box-7 sudo systemctl stop nginx",
         "Stop nginx on box-7 (staging), over SSH via web-staging-1"),
    ],
)  # fmt: skip
def test_cloud_sql_and_hop_titles_name_the_object(command: str, title: str) -> None:
    action = Action("", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")
    assert describe(evaluate(action, _POLICY), action).startswith(title)


@pytest.mark.parametrize(
    "command",
    [
        "aws s3 rm --no-such-flag s3://a s3://b",  # an unknown option before a word
        "aws s3 rm",  # nothing named
        "aws rds delete-db-instance",  # no identifier
        "az vm delete --yes",
    ],
)
def test_a_cloud_command_not_read_for_sure_keeps_the_general_title(command: str) -> None:
    action = Action("", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")
    said = describe(evaluate(action, _POLICY), action)
    assert not said.startswith(("Delete ", "Terminate ", "Stop ")), said


@pytest.mark.parametrize(
    ("command", "confirm"),
    [
        ("dropdb app", "app"),
        ("dropdb -d shop", "shop"),
        ("redis-cli FLUSHALL", "localhost:6379"),
        ("redis-cli -u redis://:pw-CANARY@cache-9:6390 FLUSHDB", "cache-9:6390"),
        ("git reset --hard HEAD~3", "w"),
        ("git -C /srv/repos/shop clean -fdx", "shop"),
        ("DATABASE_URL=postgres://orders-db/orders bash -c 'psql $DATABASE_URL -c "
         "\"DROP TABLE users\"'", "orders-db"),
        ("URL=postgres://u:pw-CANARY@db-9/x; psql $URL -c 'DROP TABLE t'", "db-9/x"),
        ("ssh web-staging-1 ssh box-7 rm -rf /srv/data", "box-7"),
        ("aws s3 rm s3://acme-backups/2024 --recursive", "s3://acme-backups"),
        ("gsutil rm -r gs://acme-logs/x", "gs://acme-logs"),
        ("aws --profile prod rds delete-db-instance --db-instance-identifier orders", "orders"),
        ("az group delete -n rg-prod --yes", "rg-prod"),
        ("git push --force origin main", "w"),
        ("git branch -D release", "w"),
    ],
)  # fmt: skip
def test_the_name_to_type_is_never_a_label(command: str, confirm: str) -> None:
    action = Action("", "Bash", {"command": command}, cwd="/srv/w", project_dir="/srv/w")
    decision = evaluate(action, _POLICY)
    assert decision.confirm == confirm


def test_a_git_name_without_a_directory_is_the_branch_the_hook_reported() -> None:
    action = Action("", "Bash", {"command": "git reset --hard HEAD~3"},
                    context=(("git.branch@/srv/w", "feat/login"),))  # fmt: skip
    assert evaluate(action, _POLICY).confirm == "feat/login"
