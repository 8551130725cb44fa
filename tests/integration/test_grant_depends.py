"""A grant covers everything its decision depended on (issue 13.5): the variations a
hostile agent tries after the holes in ``test_attack13`` closed — a relative include
two levels down, a manifest added to a directory ``kubectl apply -f`` names, a module
of a ``-chdir`` configuration, a ``$KUBECONFIG`` swapped for another file with the
same context name, a context other than the current one repointed — and the
identical retry with nothing changed, which must still pass once.

Everything is real: ``opsgate serve`` with a member and an admin approving over its
API, and the hook as a process fed Claude Code's JSON (``test_attack13``'s fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_attack13 import (
    INDEX_SQL,
    NO_PP,
    PROD_DROP,
    PSQL,
    Agent,
    Org,
    _approved_then_swapped,
    _new_card,
)
from test_hook_agents import blocked

from servers import Serve


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    served = Serve(tmp_path_factory.mktemp("serve") / "home")
    try:
        yield Org(served)
    finally:
        served.stop()


def _passes(proc: Any) -> None:
    assert proc.returncode == 0 and not proc.stdout.strip(), (proc.stdout, proc.stderr)


def _nothing() -> None:
    """The identical retry with nothing changed."""


def test_a_relative_include_two_levels_down_is_bound(org: Org, tmp_path: Path) -> None:
    agent = Agent(tmp_path, org)
    agent.write("fix.sql", "\\ir sql/a.sql\n")
    agent.write("sql/a.sql", "\\ir b.sql\n")
    agent.write("sql/b.sql", INDEX_SQL)
    retry = _approved_then_swapped(
        org, agent, PSQL, org.member, lambda: agent.write("sql/b.sql", PROD_DROP)
    )
    _new_card(retry)


def test_an_unchanged_include_still_passes_once(org: Org, tmp_path: Path) -> None:
    agent = Agent(tmp_path, org)
    agent.write("fix.sql", "\\i more.sql\n")
    agent.write("more.sql", INDEX_SQL)
    _passes(_approved_then_swapped(org, agent, PSQL, org.member, _nothing))
    _new_card(agent.run(PSQL))  # once


DEPLOY = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: web}\n"
APPLY_DIR = "kubectl --context staging-eu apply -f k8s"


def test_a_manifest_added_to_an_applied_directory_needs_a_new_card(
    org: Org, tmp_path: Path
) -> None:
    agent = Agent(tmp_path, org)
    agent.write("k8s/deploy.yaml", DEPLOY)
    evil = "apiVersion: v1\nkind: Namespace\nmetadata: {name: production}\n"
    retry = _approved_then_swapped(
        org, agent, APPLY_DIR, org.member, lambda: agent.write("k8s/zz.yaml", evil)
    )
    _new_card(retry)


def test_an_unchanged_manifest_directory_still_passes(org: Org, tmp_path: Path) -> None:
    agent = Agent(tmp_path, org)
    agent.write("k8s/deploy.yaml", DEPLOY)
    _passes(_approved_then_swapped(org, agent, APPLY_DIR, org.member, _nothing))


def test_a_manifest_into_production_is_judged_production(org: Org, tmp_path: Path) -> None:
    """The namespace written in the manifest is evidence: staging's context, a
    production namespace — Production Protection, not a member's card."""
    agent = Agent(tmp_path, org)
    agent.write("deploy.yaml", DEPLOY.replace("namespace: web", "namespace: production"))
    reason = blocked("claude", agent.run("kubectl --context staging-eu apply -f deploy.yaml"))
    assert "Production Protection" in reason, reason


TF_CHDIR = "terraform -chdir=infra apply -auto-approve"


def test_a_module_below_a_chdir_configuration_is_bound(org: Org, tmp_path: Path) -> None:
    agent = Agent(tmp_path, org, NO_PP)
    agent.write("infra/.terraform/environment", "staging")
    agent.write("infra/main.tf", 'module "db" { source = "./modules/db" }\n')
    agent.write("infra/modules/db/main.tf", 'resource "null_resource" "a" {}\n')
    evil = 'resource "aws_db_instance" "prod" { deletion_protection = false }\n'
    with org.production_protection_off():
        retry = _approved_then_swapped(
            org, agent, TF_CHDIR, org.admin, lambda: agent.write("infra/modules/db/main.tf", evil)
        )
    _new_card(retry)


def test_an_unchanged_terraform_configuration_still_passes(org: Org, tmp_path: Path) -> None:
    agent = Agent(tmp_path, org, NO_PP)
    agent.write("infra/main.tf", 'resource "null_resource" "a" {}\n')
    with org.production_protection_off():
        _passes(_approved_then_swapped(org, agent, TF_CHDIR, org.admin, _nothing))


RESTART = "kubectl -n web rollout restart deploy/api"


def test_kubeconfig_swapped_for_another_file_with_the_same_context(
    org: Org, tmp_path: Path
) -> None:
    agent = Agent(tmp_path, org, NO_PP)
    other = tmp_path / "prod-kubeconfig"
    other.write_text(
        "apiVersion: v1\ncurrent-context: staging-eu\n"
        "contexts:\n- name: staging-eu\n  context: {cluster: c1, user: u1}\n"
        "clusters:\n- name: c1\n  cluster: {server: 'https://k8s.prod.example:6443'}\n"
    )
    with org.production_protection_off():
        retry = _approved_then_swapped(
            org, agent, RESTART, org.admin, lambda: agent.env.update(KUBECONFIG=str(other))
        )
    _new_card(retry)


def test_a_named_context_other_than_the_current_one_repointed(org: Org, tmp_path: Path) -> None:
    """``--context staging-eu`` while another context is current: the named one's
    cluster is bound too."""
    agent = Agent(tmp_path, org, NO_PP)
    config = agent.home / ".kube" / "config"

    def kubeconfig(server: str) -> None:
        config.write_text(
            "apiVersion: v1\ncurrent-context: dev\n"
            "contexts:\n- name: dev\n  context: {cluster: c0, user: u1}\n"
            "- name: staging-eu\n  context: {cluster: c1, user: u1}\n"
            "clusters:\n- name: c0\n  cluster: {server: 'https://k8s.dev.example'}\n"
            f"- name: c1\n  cluster: {{server: '{server}'}}\n"
        )

    kubeconfig("https://k8s.staging.example:6443")
    command = "kubectl --context staging-eu -n web rollout restart deploy/api"
    with org.production_protection_off():
        retry = _approved_then_swapped(
            org, agent, command, org.admin, lambda: kubeconfig("https://k8s.prod.example:6443")
        )
    _new_card(retry)


def test_an_unchanged_kubeconfig_still_passes(org: Org, tmp_path: Path) -> None:
    agent = Agent(tmp_path, org, NO_PP)
    with org.production_protection_off():
        _passes(_approved_then_swapped(org, agent, RESTART, org.admin, _nothing))


def test_a_kubeconfig_named_by_the_command_rewritten(org: Org, tmp_path: Path) -> None:
    """``--kubeconfig kc.yaml``: the file the command names, rewritten to lead to the
    production cluster under the same names, needs a new card."""
    agent = Agent(tmp_path, org, NO_PP)
    config = "apiVersion: v1\ncurrent-context: staging-eu\n" + (
        "contexts:\n- name: staging-eu\n  context: {cluster: c1, user: u1}\n"
        "clusters:\n- name: c1\n  cluster: {server: 'https://k8s.staging.example:6443'}\n"
    )
    agent.write("kc.yaml", config)
    swap = lambda: agent.write("kc.yaml", config.replace("staging.example", "prod.example"))  # noqa: E731
    with org.production_protection_off():
        retry = _approved_then_swapped(
            org, agent, "kubectl --kubeconfig kc.yaml -n web rollout restart deploy/api",
            org.admin, swap,
        )  # fmt: skip
    _new_card(retry)
