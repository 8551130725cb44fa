"""The context a grant binds to, as the hook collects it (``hooks._context``): each
source read for its one field, secret-ish values only as hashes, and cheap."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from opsgate.hooks._context import collect

SECRET_URL = "postgresql://app:hunter2-canary@db.prod.internal/shop"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(
        "apiVersion: v1\nclusters: []\n"
        "users:\n- name: x\n  user: {token: kube-token-canary}\n"
        "current-context: staging-eu\n"
    )
    gcloud = home / ".config" / "gcloud"
    (gcloud / "configurations").mkdir(parents=True)
    (gcloud / "active_config").write_text("work\n")
    (gcloud / "configurations" / "config_work").write_text("[core]\nproject = shop-staging\n")
    (home / ".azure").mkdir()
    (home / ".azure" / "azureProfile.json").write_text(
        "\ufeff" + json.dumps({"subscriptions": [{"id": "sub-a", "isDefault": False},
                                                 {"id": "sub-b", "isDefault": True}]})
    )  # fmt: skip
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {"r": {"auth": "docker-auth-canary"}}, "currentContext": "colima"})
    )
    return home


def test_collects_each_context_from_its_source(tmp_path: Path) -> None:
    home = _home(tmp_path)
    project = tmp_path / "shop"
    (project / ".git").mkdir(parents=True)
    (project / ".git" / "HEAD").write_text("ref: refs/heads/feature/x\n")
    (project / ".terraform").mkdir()
    (project / ".terraform" / "environment").write_text("staging")
    env = {"HOME": str(home), "AWS_PROFILE": "dev", "AWS_REGION": "eu-west-1",
           "RAILS_ENV": "staging", "DATABASE_URL": SECRET_URL}  # fmt: skip
    found = collect(str(project), env)
    assert found["kube.context"] == "staging-eu"
    assert found["gcloud.config"] == "work" and found["gcloud.project"] == "shop-staging"
    assert found["azure.subscription"] == "sub-b"
    assert found["docker.context"] == "colima"
    assert found["terraform.workspace"] == "staging"
    assert found[f"git.branch@{project}"] == "feature/x"
    assert found["aws.profile"] == "dev" and found["aws.region"] == "eu-west-1"
    assert found["env.RAILS_ENV"] == "staging"
    assert found["env.DATABASE_URL"] == "sha256:" + hashlib.sha256(SECRET_URL.encode()).hexdigest()
    assert not any(c in repr(found) for c in ("hunter2", "kube-token", "docker-auth"))


def test_every_switch_changes_the_context(tmp_path: Path) -> None:
    home = _home(tmp_path)
    env = {"HOME": str(home)}
    before = collect(str(tmp_path), env)
    (home / ".kube" / "config").write_text("current-context: prod-eu\n")
    assert collect(str(tmp_path), env)["kube.context"] == "prod-eu" != before["kube.context"]
    other = tmp_path / "other.yaml"
    other.write_text("current-context: 'prod-us'\n")
    assert (
        collect(str(tmp_path), {**env, "KUBECONFIG": f"{other}:/nope"})["kube.context"] == "prod-us"
    )
    assert collect(str(tmp_path), {**env, "PGHOST": "a"}) != collect(str(tmp_path), env)
    assert collect(str(tmp_path), {**env, "TF_WORKSPACE": "prod"})["terraform.workspace"] == "prod"


def test_collecting_is_cheap(tmp_path: Path) -> None:
    home = _home(tmp_path)
    env = {"HOME": str(home), "KUBECONFIG": str(home / ".kube" / "config")}
    collect(str(tmp_path), env)
    started = time.perf_counter()
    for _ in range(100):
        collect(str(tmp_path), env)
    assert (time.perf_counter() - started) / 100 < 0.01  # well under the hook's budget (25 ms)


def _kubeconfig(server: str, *, user: str = "u1", namespace: str = "web",
                token: str = "kube-token-canary") -> str:  # fmt: skip
    return (
        "apiVersion: v1\ncurrent-context: staging-eu\n"
        f"contexts:\n- name: staging-eu\n  context: {{cluster: c1, user: {user}, "
        f"namespace: {namespace}}}\n"
        "- name: other\n  context: {cluster: c2, user: u1}\n"
        f"clusters:\n- name: c1\n  cluster: {{server: '{server}'}}\n"
        "- name: c2\n  cluster: {server: 'https://k8s.other.example'}\n"
        f"users:\n- name: u1\n  user: {{token: {token}}}\n"
        f"- name: u2\n  user: {{exec: {{command: aws, args: [eks, get-token]}}}}\n"
    )


def test_the_same_context_name_pointed_elsewhere_is_another_context(tmp_path: Path) -> None:
    """``kubectl config set-cluster`` (or another file behind ``$KUBECONFIG``) keeps the
    context's name and changes where it leads: the cluster, the identity, the
    namespace each change what is collected."""
    home = _home(tmp_path)
    config = home / ".kube" / "config"
    env = {"HOME": str(home)}
    config.write_text(_kubeconfig("https://k8s.staging.example:6443"))
    before = collect(str(tmp_path), env)
    assert before["kube.context"] == "staging-eu"
    assert before["kube.server"] == "https://k8s.staging.example:6443"
    assert before["kube.namespace"] == "web"
    assert before["kube.cluster"].startswith("sha256:")
    assert "kube-token-canary" not in repr(before)
    for changed in (
        _kubeconfig("https://k8s.prod.example:6443"),
        _kubeconfig("https://k8s.staging.example:6443", user="u2"),
        _kubeconfig("https://k8s.staging.example:6443", namespace="payments"),
    ):
        config.write_text(changed)
        after = collect(str(tmp_path), env)
        assert after["kube.context"] == before["kube.context"]
        assert after["kube.cluster"] != before["kube.cluster"], changed
    # A token refreshed in place is not another target (and is never hashed).
    config.write_text(_kubeconfig("https://k8s.staging.example:6443", token="refreshed"))
    assert collect(str(tmp_path), env)["kube.cluster"] == before["kube.cluster"]


def test_kubeconfig_files_merge_as_kubectl_merges_them(tmp_path: Path) -> None:
    """The first file that names a context, cluster or current-context wins; a file
    that is not a kubeconfig mapping is bound by its raw hash."""
    home = _home(tmp_path)
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("clusters:\n- name: c1\n  cluster: {server: 'https://k8s.prod.example'}\n")
    second.write_text(_kubeconfig("https://k8s.staging.example:6443"))
    env = {"HOME": str(home), "KUBECONFIG": f"{first}:{second}"}
    assert collect(str(tmp_path), env)["kube.server"] == "https://k8s.prod.example"
    first.write_text("- not\n- a mapping\n")
    odd = collect(str(tmp_path), env)
    assert odd["kube.cluster"].startswith("sha256:") and "kube.server" not in odd
    first.write_text("- still not\n- a mapping\n")
    assert collect(str(tmp_path), env)["kube.cluster"] != odd["kube.cluster"]


def test_a_kubeconfig_of_nested_aliases_is_bound_by_its_raw_hash(tmp_path: Path) -> None:
    """YAML aliases nested ten deep would expand to 10^10 values: bounded, and the
    file is still bound (by its raw hash), quickly."""
    home = _home(tmp_path)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    bomb = "\n".join(lines) + (
        "\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: c1, user: u1}\n"
        "users:\n- name: u1\n  user: {exec: {command: x, args: *a9}}\n"
    )
    (home / ".kube" / "config").write_text(bomb)
    started = time.perf_counter()
    found = collect(str(tmp_path), {"HOME": str(home)})
    assert time.perf_counter() - started < 2
    assert found["kube.cluster"].startswith("sha256:")
