"""What a decision depends on besides the command, recorded for the grant (issue
13.5): files a SQL file includes, the manifests kubectl applies, terraform's
configuration — read or hashed through the file source, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.classify import ClassifyContext, GivenFiles, classify
from opsgate.classify._files_digest import MAX_ENTRIES, tree_digest
from opsgate.models import Action, Classification, Effect, Environment, Impact


def _run(command: str, cwd: Path, ctx: ClassifyContext | None = None) -> Classification:
    action = Action("", "Bash", {"command": command}, cwd=str(cwd), project_dir=str(cwd))
    return classify(action, ctx or ClassifyContext())


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _read(c: Classification, root: Path) -> list[str]:
    return [str(Path(f.path).relative_to(root)) for f in c.files]


def test_an_included_file_is_read_judged_and_recorded(tmp_path: Path) -> None:
    _write(tmp_path, {"fix.sql": "\\i more.sql\n", "more.sql": "DROP TABLE orders;\n"})
    c = _run("psql -h db.staging.internal -f fix.sql", tmp_path)
    assert c.impact is Impact.DESTRUCTIVE and not c.unknown
    assert _read(c, tmp_path) == ["fix.sql", "more.sql"]
    assert "orders" not in " ".join(f.evidence for f in c.findings)  # names, not text


@pytest.mark.parametrize(
    ("meta", "where"),
    [
        ("\\ir b.sql", "sql/parts/b.sql"),
        ("\\include_relative b.sql", "sql/parts/b.sql"),
        ("\\i sql/parts/b.sql", "sql/parts/b.sql"),
        ("\\include sql/parts/b.sql", "sql/parts/b.sql"),
    ],
)
def test_relative_includes_lead_from_the_including_file(
    tmp_path: Path, meta: str, where: str
) -> None:
    _write(
        tmp_path,
        {
            "sql/main.sql": "\\ir parts/a.sql\n",
            "sql/parts/a.sql": meta + "\n",
            where: "TRUNCATE orders;\n",
        },
    )
    c = _run("psql -f sql/main.sql", tmp_path)
    assert c.impact is Impact.DESTRUCTIVE and not c.unknown
    assert where in _read(c, tmp_path)


@pytest.mark.parametrize(
    "files",
    [
        {"fix.sql": "\\i loop.sql\n", "loop.sql": "\\i loop.sql\n"},  # past the depth bound
        {"fix.sql": "\\i gone.sql\n"},  # not there: whatever appears later runs
        {"fix.sql": "\\cd /tmp\n\\i q.sql\n", "q.sql": "SELECT 1;\n"},  # moved away
        {"fix.sql": "\\i q.sql\n\\i r.sql\n", "q.sql": "\\cd /srv\n", "r.sql": "SELECT 1;\n"},
        {"fix.sql": "\\i :dir/q.sql\n"},  # a psql variable
    ],
    ids=["self-include", "missing", "cd-before", "cd-inside-include", "variable"],
)
def test_an_include_opsgate_cannot_follow_stays_unknown(
    tmp_path: Path, files: dict[str, str]
) -> None:
    _write(tmp_path, files)
    c = _run("psql -f fix.sql", tmp_path)
    assert c.unknown


def test_a_secret_include_is_a_secret_read_and_never_read(tmp_path: Path) -> None:
    _write(tmp_path, {"fix.sql": "\\i conf/.env\n", "conf/.env": "PGPASSWORD=hunter2\n"})
    c = _run("psql -f fix.sql", tmp_path)
    assert any(f.effect is Effect.SECRET for f in c.findings)
    assert _read(c, tmp_path) == ["fix.sql"]


def test_the_control_plane_follows_only_the_includes_it_was_given(tmp_path: Path) -> None:
    _write(tmp_path, {"fix.sql": "\\i more.sql\n", "more.sql": "CREATE INDEX i ON t (a);\n"})
    local = _run("psql -f fix.sql", tmp_path)
    given = ClassifyContext(files=lambda: GivenFiles.of(local.files, local.facts))
    assert _run("psql -f fix.sql", tmp_path, given).findings == local.findings
    only_first = ClassifyContext(files=lambda: GivenFiles.of(local.files[:1], ()))
    assert _run("psql -f fix.sql", tmp_path, only_first).unknown


def _digest_of(c: Classification) -> dict[str, str]:
    return {k: v for k, v in c.facts if k.startswith("digest")}


def test_terraform_apply_records_its_configuration(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "infra/main.tf": "a\n",
            "infra/modules/db/main.tf": "b\n",
            "infra/.terraform/providers/x": "big\n",
            "vars/prod.tfvars": "c\n",
        },
    )
    command = "terraform -chdir=infra apply -var-file=../vars/prod.tfvars"
    before = _digest_of(_run(command, tmp_path))
    assert len(before) == 2 and all(v.startswith("sha256:") for v in before.values())
    assert _digest_of(_run("terraform -chdir=infra plan", tmp_path)) == {}  # a read: no card
    _write(tmp_path, {"infra/.terraform/providers/x": "other\n"})  # not configuration
    assert _digest_of(_run(command, tmp_path)) == before
    for name in ("infra/modules/db/main.tf", "vars/prod.tfvars", "infra/extra.tf"):
        _write(tmp_path, {name: "changed\n"})
        after = _digest_of(_run(command, tmp_path))
        assert after != before, name
        before = after


def test_kubectl_reads_the_manifest_and_judges_its_namespace(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"deploy.yaml": "kind: Deployment\nmetadata:\n  name: api\n  namespace: production\n"},
    )
    c = _run("kubectl --context staging-eu apply -f deploy.yaml", tmp_path)
    assert c.environment is Environment.PRODUCTION
    assert _read(c, tmp_path) == ["deploy.yaml"]
    assert _read(_run("kubectl get -f deploy.yaml", tmp_path), tmp_path) == []  # a read


def test_kubectl_binds_a_manifest_directory_and_a_kustomization(tmp_path: Path) -> None:
    _write(tmp_path, {"k8s/a.yaml": "kind: A\n", "k8s/sub/b.yaml": "kind: B\n"})
    flat = _digest_of(_run("kubectl apply -f k8s", tmp_path))
    deep = _digest_of(_run("kubectl apply -R -f k8s", tmp_path))
    kustomize = _digest_of(_run("kubectl apply -k k8s", tmp_path))
    assert flat and deep and kustomize
    _write(tmp_path, {"k8s/sub/b.yaml": "kind: Namespace\n"})
    assert _digest_of(_run("kubectl apply -f k8s", tmp_path)) == flat  # not applied
    assert _digest_of(_run("kubectl apply -R -f k8s", tmp_path)) != deep
    assert _digest_of(_run("kubectl apply -k k8s", tmp_path)) != kustomize


def test_a_tree_digest_never_opens_a_credentials_file(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": "a\n", "secrets/.env": "TOKEN=aaaa\n"})
    before = tree_digest(str(tmp_path), (), 3, ())
    _write(tmp_path, {"secrets/.env": "TOKEN=bbbb\n"})  # same size, other secret
    assert tree_digest(str(tmp_path), (), 3, ()) == before
    _write(tmp_path, {"secrets/.env": "TOKEN=bbbbb\n"})  # its size still counts
    assert tree_digest(str(tmp_path), (), 3, ()) != before


def test_a_tree_digest_is_bounded(tmp_path: Path) -> None:
    _write(tmp_path, {f"m{i:04}.yaml": "x\n" for i in range(MAX_ENTRIES + 5)})
    before = tree_digest(str(tmp_path), (".yaml",), 0, ())
    _write(tmp_path, {"zzzz.yaml": "y\n"})  # past the bound: still a change
    assert tree_digest(str(tmp_path), (".yaml",), 0, ()) != before
    assert tree_digest(str(tmp_path / "nope"), (), 0, ()) == "missing"


@pytest.mark.parametrize(
    "command",
    ["kubectl --kubeconfig kc/staging.yaml -n web rollout restart deploy/api",
     "KUBECONFIG=kc/staging.yaml kubectl -n web rollout restart deploy/api"],
    ids=["flag", "variable"],
)  # fmt: skip
def test_a_kubeconfig_the_command_names_is_bound(tmp_path: Path, command: str) -> None:
    _write(tmp_path, {"kc/staging.yaml": "clusters:\n- name: c1\n  cluster: {server: s}\n"})
    before = _digest_of(_run(command, tmp_path))
    assert before and all(v.startswith("sha256:") for v in before.values())
    _write(tmp_path, {"kc/staging.yaml": "clusters:\n- name: c1\n  cluster: {server: p}\n"})
    assert _digest_of(_run(command, tmp_path)) != before


def test_helm_binds_its_local_chart_and_values_files(tmp_path: Path) -> None:
    _write(tmp_path, {"chart/Chart.yaml": "name: api\n", "chart/templates/d.yaml": "kind: D\n",
                      "values-staging.yaml": "replicas: 2\n"})  # fmt: skip
    command = "helm upgrade api ./chart -f values-staging.yaml -n web"
    before = _digest_of(_run(command, tmp_path))
    assert len(before) == 2
    for name in ("chart/templates/d.yaml", "values-staging.yaml"):
        _write(tmp_path, {name: "changed: true\n"})
        after = _digest_of(_run(command, tmp_path))
        assert after != before, name
        before = after
    assert _digest_of(_run("helm upgrade api ./chart --dry-run", tmp_path)) == {}


def test_a_relative_include_read_from_stdin_leads_from_the_working_directory(
    tmp_path: Path,
) -> None:
    """``psql < sql/main.sql``: standard input is not a file, so psql's ``\\ir`` leads
    from the working directory — the file beside the script is not the one that runs."""
    _write(tmp_path, {"sql/main.sql": "\\ir parts/a.sql\n", "sql/parts/a.sql": "SELECT 1;\n",
                      "parts/a.sql": "DROP TABLE orders;\n"})  # fmt: skip
    c = _run("psql -h db.staging.internal < sql/main.sql", tmp_path)
    assert c.impact is Impact.DESTRUCTIVE
    assert "parts/a.sql" in _read(c, tmp_path)
