"""Black-box attack on issue 15.2 (what an approval card carries): the title, the
rollback plan, "This cannot be undone." and the name to type, as an approver reads
them, for commands an agent controls.  Findings: attack15_findings.md beside this
file.

Every test here is an attack that gets through today, marked
``xfail(strict=True)`` with the finding as its reason: the suite stays green, and the
test starts failing the day the card tells the truth (remove the mark then).  They
use the real app over a real SQLite store (the fixtures of test_server_api.py); the
Gemini case runs the real hook process against a real ``opsgate serve``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent_payloads import gemini
from test_hook_agents import blocked
from test_server_api import ApiClient, Org, client, control, home, org
from test_server_socket import Served, login, owner_password, setup_org
from test_web_console import log_in

from servers import OPSGATE

__all__ = ["client", "control", "home", "org"]  # fixtures, used by name

Card = dict[str, Any]
Check = Callable[[Card], bool]

INVENTORY = {
    "web-staging-1": {"kind": "server", "environment": "staging", "match": ["web-staging-1"]},
    "web-prod-1": {"kind": "server", "environment": "production", "match": ["web-prod-1"]},
    "orders-db": {"kind": "database", "environment": "production", "match": ["db-prod-1"]},
}


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


def _prepare(client: ApiClient, org: Org) -> None:
    """Production Protection off (so production cards exist to read) and the
    inventory above."""
    off = client.patch(
        "/api/v1/settings", json={"production_protection": False}, headers=org.headers("owner")
    )
    assert off.status_code == 200, off.text
    for name, body in INVENTORY.items():
        r = client.put(f"/api/v1/inventory/{name}", json=body, headers=org.headers("owner"))
        assert r.status_code == 200, r.text


def _propose(client: ApiClient, org: Org, command: str, **extra: Any) -> Card:
    body = {"tool": "Bash", "input": {"command": command}, **extra}
    r = client.post("/api/v1/propose", json=body, headers=org.headers("agent"))
    assert r.status_code == 200, r.text
    card = r.json()["card"]
    assert card is not None, r.json()["decision"]
    shown = client.get(f"/api/v1/cards/{card['id']}", headers=org.headers("viewer"))
    assert shown.status_code == 200, shown.text
    out: Card = shown.json()
    return out


def _page(client: ApiClient, card_id: str) -> str:
    log_in(client, "ada", "correct horse battery staple")  # type: ignore[arg-type]
    return re.sub(r"\s+", " ", client.get(f"/cards/{card_id}").text)


# --- Critical -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "named"),
    [
        pytest.param(
            "kubectl --context staging delete deploy web -n shop"
            " && kubectl --context prod-eu delete deploy web -n shop",
            "prod-eu",
            id="kubectl-staging-then-prod",
        ),
        pytest.param(
            "ssh web-staging-1 sudo rm -rf /srv/cache && ssh web-prod-1 sudo rm -rf /srv/data",
            "web-prod-1",
            id="ssh-staging-then-prod",
        ),
        pytest.param(
            "psql -h db-staging -c 'DROP TABLE tmp' app"
            " && psql -h db-prod-1 -c 'DROP TABLE users' app",
            "orders-db",
            id="psql-staging-then-prod",
        ),
    ],
)
def test_a_chain_name_to_type_is_the_production_target(
    client: ApiClient, org: Org, command: str, named: str
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert card["environment"] == "production"
    assert named in card["confirm"], card


@pytest.mark.parametrize(
    ("command", "truthful"),
    [
        pytest.param(
            "kubectl --context staging --context prod-eu delete deploy web -n shop",
            lambda c: c["environment"] == "production",
            id="kubectl-context-twice",
        ),
        pytest.param(
            "kubectl --context=staging --context=prod-eu delete deploy web -n shop",
            lambda c: c["environment"] == "production",
            id="kubectl-context-equals-twice",
        ),
        pytest.param(
            "helm upgrade web ./chart --kube-context staging --kube-context prod-eu -n shop",
            lambda c: c["environment"] == "production",
            id="helm-kube-context-twice",
        ),
        pytest.param(
            "ssh -o HostName=web-prod-1 web-staging-1 sudo systemctl stop nginx",
            lambda c: c["environment"] == "production",
            id="ssh-o-hostname",
        ),
        pytest.param(
            "kubectl --context staging delete deploy web -n shop -n other",
            lambda c: "other" in c["target"] and "shop" not in c["confirm"],
            id="kubectl-namespace-twice",
        ),
        pytest.param(
            "psql -h db-staging -c 'DROP TABLE users' orders -h db-prod-1",
            lambda c: "db-staging" not in c["description"] and "db-staging" not in c["target"],
            id="psql-host-twice",
        ),
    ],
)
def test_a_repeated_flag_card_names_what_the_tool_uses(
    client: ApiClient, org: Org, command: str, truthful: Check
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert truthful(card), card


# --- High -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            "pg_dump -Fc app > /dev/null && psql -c 'DROP TABLE users' app", id="dev-null"
        ),
        pytest.param(
            "pg_dump -Fc app -f /dev/null && psql -c 'DROP TABLE users' app", id="dash-f-dev-null"
        ),
        pytest.param(
            "pg_dump otherdb > /tmp/x.dump && psql -c 'DROP TABLE users' app", id="other-db"
        ),
        pytest.param(
            "pg_dump -h replica app > /tmp/x.dump && psql -h primary -c 'DROP TABLE users' app",
            id="other-host",
        ),
        pytest.param(
            "pg_dump --schema-only app > /tmp/x.dump && psql -c 'DROP TABLE users' app",
            id="schema-only",
        ),
        pytest.param(
            "pg_dump --exclude-table=users app > /tmp/x.dump && psql -c 'DROP TABLE users' app",
            id="table-excluded",
        ),
        pytest.param(
            "pg_dump -t orders app > /tmp/x.dump && psql -c 'DROP TABLE users' app",
            id="other-table",
        ),
        pytest.param(
            "pg_dump app > /tmp/x.dump || psql -c 'DROP TABLE users' app", id="drop-if-dump-fails"
        ),
        pytest.param(
            "true || pg_dump app > /tmp/x.dump; psql -c 'DROP TABLE users' app",
            id="dump-never-runs",
        ),
        pytest.param(
            "pg_dump app > /tmp/x.dump && psql -c 'DROP TABLE users' app && rm /tmp/x.dump",
            id="dump-deleted-after",
        ),
        pytest.param(
            "mysqldump --no-data app > /tmp/x.sql && mysql -e 'DROP TABLE users' app",
            id="mysqldump-no-data",
        ),
        pytest.param(
            "pg_dump app > /tmp/x.dump && ssh db-1 psql -c 'DROP TABLE users' app",
            id="dump-here-drop-over-ssh",
        ),
    ],
)
def test_a_dump_that_does_not_keep_the_data_is_no_rollback(
    client: ApiClient, org: Org, command: str
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert card["impact"] == "destructive"
    assert card["irreversible"] is True, card["undo"]


def test_an_agent_rollback_is_marked_as_given_with_the_request(client: ApiClient, org: Org) -> None:
    _prepare(client, org)
    said = "Restored automatically by opsgate from the nightly backup."
    card = _propose(client, org, "psql -c 'DROP TABLE users' app", rollback=said)
    page = _page(client, card["id"])
    assert said in page
    assert "Given with the request" in page


@pytest.mark.parametrize("said", ["none", ".", "there is no rollback; this cannot be undone"])
def test_agent_text_does_not_lift_cannot_be_undone(client: ApiClient, org: Org, said: str) -> None:
    _prepare(client, org)
    card = _propose(client, org, "psql -c 'DROP TABLE users' app", rollback=said)
    assert card["irreversible"] is True
    assert "This cannot be undone." in _page(client, card["id"])


@pytest.mark.parametrize(
    ("command", "extra", "needle"),
    [
        pytest.param(
            "kubectl --kubeconfig /tmp/prod.kubeconfig delete deploy web -n shop",
            {},
            "/tmp/prod.kubeconfig",
            id="kubeconfig-flag",
        ),
        pytest.param(
            "KUBECONFIG=/tmp/prod.kubeconfig kubectl delete deploy web -n shop",
            {},
            "/tmp/prod.kubeconfig",
            id="kubeconfig-env",
        ),
        pytest.param(
            "kubectl --context staging --server https://prod-api:6443 delete deploy web -n shop",
            {},
            "prod-api",
            id="server-flag",
        ),
        pytest.param(
            "kubectl --context staging delete deploy web -nshop", {}, "shop", id="attached-n"
        ),
        pytest.param(
            "kubectl delete deploy web -n shop",
            {"context": {"kube.context": "staging"}},
            "staging",
            id="resolved-context",
        ),
        pytest.param(
            "helm upgrade web ./chart -n shop --kube-context staging --kubeconfig /tmp/prod",
            {},
            "/tmp/prod",
            id="helm-kubeconfig",
        ),
    ],
)
def test_a_kubernetes_plan_targets_the_cluster_the_command_uses(
    client: ApiClient, org: Org, command: str, extra: dict[str, Any], needle: str
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command, **extra)
    assert card["undo"], "a plan is expected here, for the right cluster"
    assert needle in card["undo"], card["undo"]


@pytest.mark.parametrize(
    ("command", "covered"),
    [
        pytest.param(
            "kubectl --context staging delete deploy web -n shop"
            " && kubectl --context staging delete deploy api -n billing",
            "deploy/api",
            id="second-kubectl-delete",
        ),
        pytest.param("git push -f origin main dev", "refs/heads/dev", id="second-branch"),
        pytest.param(
            " && ".join(f"git push -f origin branch-number-{i}" for i in range(12)),
            "branch-number-11",
            id="plan-cut-at-1500",
        ),
    ],
)
def test_a_plan_that_covers_part_of_the_action_is_not_a_rollback(
    client: ApiClient, org: Org, command: str, covered: str
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert card["irreversible"] is True or covered in card["undo"], card["undo"]


def test_deleting_a_namespace_from_its_manifest_cannot_be_undone(
    client: ApiClient, org: Org
) -> None:
    _prepare(client, org)
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
    files = [{"path": "/w/ns.yaml", "sha256": hashlib.sha256(text.encode()).hexdigest(),
              "text": text}]  # fmt: skip
    named = _propose(client, org, "kubectl --context staging delete namespace shop")
    assert named["irreversible"] is True
    card = _propose(
        client, org, "kubectl --context staging delete -f ns.yaml", cwd="/w", files=files
    )
    assert card["irreversible"] is True, card["undo"]


@pytest.mark.parametrize(
    ("command", "sound"),
    [
        pytest.param(
            'kubectl --context staging patch deploy web -n shop -p \'{"spec":{"replicas":0}}\'',
            lambda u: "rollout undo" not in u,
            id="patch-replicas",
        ),
        pytest.param(
            "kubectl --context staging set image deploy -l app=web web=img:2 -n shop",
            lambda u: "=img:2" not in u,
            id="set-image-selector",
        ),
        pytest.param(
            "kubectl --context staging delete deploy -l app=web -n shop",
            lambda u: "deploy/ " not in u,
            id="delete-selector",
        ),
        pytest.param(
            "kubectl --context staging delete deploy --all -n shop",
            lambda u: "deploy/ " not in u,
            id="delete-all",
        ),
        pytest.param(
            "kubectl --context staging delete -k overlays/prod",
            lambda u: "get overlays/prod" not in u,
            id="delete-kustomize",
        ),
        pytest.param(
            "systemctl -H web-prod-1 stop nginx",
            lambda u: u == "" or "web-prod-1" in u,
            id="systemctl-remote-host",
        ),
        pytest.param(
            "ssh web-staging-1 ssh web-prod-1 sudo systemctl stop nginx",
            lambda u: not u.startswith("On web-staging-1"),
            id="nested-ssh",
        ),
    ],
)
def test_a_plan_never_does_harm_or_names_another_target(
    client: ApiClient, org: Org, command: str, sound: Callable[[str], bool]
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert sound(card["undo"]), card["undo"]


@pytest.mark.parametrize(
    ("command", "told"),
    [
        pytest.param(
            "ssh web-staging-1 'sudo systemctl restart nginx && sudo reboot'",
            lambda d: "reboot" in d.lower(),
            id="restart-then-reboot",
        ),
        pytest.param(
            "ssh web-staging-1 sudo systemctl restart nginx;"
            " ssh web-prod-1 sudo systemctl stop postgresql",
            lambda d: "web-prod-1" in d,
            id="staging-restart-then-prod-stop",
        ),
        pytest.param(
            "sudo rm -rf /srv/data /srv/logs",
            lambda d: "/srv/logs" in d or "more" in d,
            id="two-paths",
        ),
    ],
)
def test_a_title_names_everything_that_happens(
    client: ApiClient, org: Org, command: str, told: Callable[[str], bool]
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert told(card["description"]), card["description"]


# --- Medium ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "readable"),
    [
        pytest.param(
            "systemctl stop nginx",
            lambda d: "changes host state" not in d,
            id="local-systemctl",
        ),
        pytest.param(
            "ssh web-staging-1 ssh web-prod-1 sudo systemctl stop nginx",
            lambda d: "via ssh)" not in d,
            id="nested-ssh",
        ),
        pytest.param(
            "kubectl --context staging delete deploy web -n shop",
            lambda d: "web" in d.replace("web-", ""),
            id="kubectl-object",
        ),
        pytest.param("git push --force origin main", lambda d: "main" in d, id="git-branch"),
        pytest.param(
            "aws s3 rm s3://acme-backups --recursive",
            lambda d: "acme-backups" in d,
            id="aws-bucket",
        ),
        pytest.param(
            "pg_dump app > /tmp/x.dump && psql -c 'DROP TABLE users' app",
            lambda d: "pg_dump" not in d,
            id="wrong-tool",
        ),
    ],
)
def test_a_title_reads_in_five_seconds(
    client: ApiClient, org: Org, command: str, readable: Callable[[str], bool]
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert readable(card["description"]), card["description"]


@pytest.mark.parametrize(
    ("command", "label"),
    [
        pytest.param("kubectl --context staging delete deploy web -n shop", "staging, shop",
                     id="context-comma-namespace"),
        pytest.param("dropdb app", "database", id="dropdb"),
        pytest.param("redis-cli FLUSHALL", "database", id="redis"),
        pytest.param("git reset --hard HEAD~3", "confirm", id="git-reset"),
        pytest.param(
            "DATABASE_URL=postgres://db-prod-1/orders bash -c "
            "'psql $DATABASE_URL -c \"DROP TABLE users\"'",
            "$DATABASE_URL",
            id="env-prefix",
        ),
    ],
)  # fmt: skip
def test_the_name_to_type_is_an_inventory_name_or_a_host(
    client: ApiClient, org: Org, command: str, label: str
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert card["confirm"] and card["confirm"] != label, card


@pytest.mark.parametrize(
    ("command", "title"),
    [
        pytest.param("ssh web-staging-1 ssh db-9 sudo systemctl stop nginx",
                     "Stop nginx on db-9 (", id="nested-ssh-lands-on-the-last-host"),
        pytest.param("ssh a-1 ssh b-1 ssh web-prod-1 sudo reboot", "via a-1, b-1",
                     id="three-hops-name-both-passed"),
        pytest.param("aws s3 rb s3://acme-logs --force",
                     "Delete the bucket s3://acme-logs and everything in it", id="aws-rb"),
        pytest.param("aws --profile prod rds delete-db-instance --db-instance-identifier orders "
                     "--skip-final-snapshot", "RDS database orders and skip its final snapshot",
                     id="aws-rds"),
        pytest.param("aws ec2 terminate-instances --instance-ids i-0a1 i-0b2",
                     "Terminate the EC2 instances i-0a1, i-0b2", id="aws-ec2"),
        pytest.param("gcloud sql instances delete orders --project shop",
                     "Delete the Cloud SQL instance orders in project shop", id="gcloud-sql"),
        pytest.param("az group delete -n rg-prod --yes",
                     "Delete the resource group rg-prod and everything in it", id="az-group"),
        pytest.param("DATABASE_URL=postgres://db-prod-1/orders bash -c "
                     "'psql $DATABASE_URL -c \"DROP TABLE users\"'",
                     "Drop table users in database orders on db-prod-1", id="sql-env-prefix"),
        pytest.param("psql -h db-prod-1 -c 'DROP TABLE users' app",
                     "Drop table users in database app on orders-db", id="sql-inventory-host"),
    ],
)  # fmt: skip
def test_a_cloud_sql_or_hop_title_names_the_object(
    client: ApiClient, org: Org, command: str, title: str
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert title in card["description"], card["description"]


def test_an_unknown_cloud_option_never_makes_a_title_name_the_wrong_object(
    client: ApiClient, org: Org
) -> None:
    """``--frobnicate s3://a`` may take s3://a as its value or not: no guessed title
    (which could leave out the object deleted); the general one stays."""
    _prepare(client, org)
    card = _propose(client, org, "aws s3 rm --frobnicate s3://acme-a s3://acme-b --recursive")
    assert not card["description"].startswith("Delete everything under s3://acme-b")


@pytest.mark.parametrize(
    ("command", "named"),
    [
        pytest.param("dropdb -h db-prod-1 app", "orders-db", id="dropdb-inventory-host"),
        pytest.param("dropdb -h db-9 app", "db-9", id="dropdb-host"),
        pytest.param("redis-cli -h cache-1 -p 6380 FLUSHALL", "cache-1", id="redis-h-p"),
        pytest.param("redis-cli -u redis://app:CANARY-pw-9@cache-2:6381/0 FLUSHALL",
                     "cache-2:6381/0", id="redis-url-never-the-password"),
        pytest.param("git -C /srv/shop reset --hard HEAD~3", "shop", id="git-C-repository"),
        pytest.param("DATABASE_URL=postgres://app:CANARY-pw-9@db-9/orders bash -c "
                     "'psql $DATABASE_URL -c \"DROP TABLE users\"'",
                     "db-9/orders", id="env-prefix-never-the-password"),
        pytest.param("export DB=postgres://db-9/orders; DB=postgres://db-prod-1/orders "
                     "bash -c 'psql $DB -c \"DROP TABLE users\"'",
                     "orders-db", id="env-prefix-the-last-assignment-wins"),
        pytest.param("psql postgres://app:CANARY-pw-9@db-9:5432/orders -c 'DROP TABLE t'",
                     "db-9:5432/orders", id="url-target-host-and-path"),
        pytest.param("ssh web-staging-1 ssh db-9 sudo rm -rf /srv/data", "db-9",
                     id="nested-ssh-the-last-host"),
        pytest.param("aws s3 rm s3://acme-backups --recursive", "s3://acme-backups",
                     id="aws-the-bucket-not-the-profile"),
        pytest.param("az group delete --name rg-prod --yes", "rg-prod", id="az-resource-group"),
    ],
)  # fmt: skip
def test_the_name_to_type_is_the_object_the_command_names(
    client: ApiClient, org: Org, command: str, named: str
) -> None:
    _prepare(client, org)
    card = _propose(client, org, command)
    assert card["confirm"] == named, card["confirm"]
    assert "CANARY" not in json.dumps(card), card


def test_a_card_target_and_name_to_type_are_bounded(client: ApiClient, org: Org) -> None:
    _prepare(client, org)
    card = _propose(client, org, "rm -rf /srv/" + "a" * 20_000)
    assert len(card["description"]) <= 500
    assert len(card["target"]) <= 1_000 and len(card["confirm"]) <= 1_000


def test_a_long_command_does_not_multiply_into_the_answer(client: ApiClient, org: Org) -> None:
    _prepare(client, org)
    command = "rm -rf " + " ".join(f"/srv/d{i}" for i in range(3000))
    r = client.post(
        "/api/v1/propose",
        json={"tool": "Bash", "input": {"command": command}},
        headers=org.headers("agent"),
    )
    assert r.status_code == 200
    assert len(r.content) < 10 * len(command), len(r.content)


def test_bidi_controls_do_not_reach_the_title_or_the_name_to_type(
    client: ApiClient, org: Org
) -> None:
    _prepare(client, org)
    card = _propose(client, org, "rm -rf /srv/\u202eatad")
    assert "\u202e" not in card["description"]
    assert "\u202e" not in card["confirm"]


def test_a_cancel_reason_names_the_change_that_caused_it(client: ApiClient, org: Org) -> None:
    # Production Protection stays on (the default), as it was before the card existed.
    owner = org.headers("owner")
    body = {"kind": "server", "environment": "staging", "match": ["host-a"]}
    assert client.put("/api/v1/inventory/app-server", json=body, headers=owner).status_code == 200
    card = _propose(client, org, "ssh host-a sudo systemctl restart nginx")
    body["match"] = ["host-b"]
    assert client.put("/api/v1/inventory/app-server", json=body, headers=owner).status_code == 200
    deadline = time.monotonic() + 6
    shown = card
    while shown["state"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.1)
        shown = client.get(f"/api/v1/cards/{card['id']}", headers=org.headers("viewer")).json()
    assert shown["state"] == "cancelled"  # this part holds
    assert "Production Protection was turned on" not in shown["reason"], shown["reason"]
    assert "app-server" in shown["reason"] or "inventory" in shown["reason"], shown["reason"]


def test_kubectl_auth_flags_keep_a_namespace_delete_destructive(
    client: ApiClient, org: Org
) -> None:
    _prepare(client, org)
    card = _propose(client, org, "kubectl --username bob --context staging delete ns shop")
    assert card["impact"] == "destructive", card["description"]


def test_a_kubectl_password_stays_out_of_the_audit_trail(client: ApiClient, org: Org) -> None:
    _prepare(client, org)
    _propose(client, org, "kubectl --password hunter2pass --username bob --context staging "
             "delete deploy web -n shop")  # fmt: skip
    trail = client.get("/api/v1/audit", params={"limit": 20}, headers=org.headers("owner"))
    assert trail.status_code == 200
    assert "hunter2pass" not in trail.text


# --- The agent's own words, through the real hook --------------------------------------


@pytest.fixture(scope="module")
def served_org(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Served, dict[str, str], str]]:
    served = Served(tmp_path_factory.mktemp("serve") / "home")
    try:
        owner = login(served.url, "owner", owner_password(served))
        admin, agent = setup_org(served.url, owner)
        yield served, admin, agent["Authorization"].removeprefix("Bearer ")
    finally:
        served.stop()


def test_gemini_description_is_the_cards_reasoning(
    served_org: tuple[Served, dict[str, str], str], tmp_path: Path
) -> None:
    served, admin, token = served_org
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    environ.update(OPSGATE_HOME=str(tmp_path), OPSGATE_HOOK_DAEMON="0",
                   OPSGATE_URL=served.url, OPSGATE_TOKEN=token)  # fmt: skip
    payload = gemini("run_shell_command", {
        "command": "ssh web-staging-1 sudo systemctl restart nginx",
        "description": "Restart nginx so it reads the new TLS certificate",
    })  # fmt: skip
    proc = subprocess.run([OPSGATE, "hook", "gemini"], input=json.dumps(payload).encode(),
                          capture_output=True, env=environ, timeout=60, check=False)  # fmt: skip
    reason = blocked("gemini", proc)
    found = re.search(r"card (c_[0-9a-f]+)", reason)
    assert found, reason
    card = httpx.get(f"{served.url}/api/v1/cards/{found.group(1)}", headers=admin).json()
    assert card["reasoning"] == "Restart nginx so it reads the new TLS certificate"
