"""Platform and data CLIs opsgate knew nothing about: the ``platforms``,
``kubetools``, ``dataplatforms`` and ``brokers`` families.

Each case pins the worst effect and impact of one command, and (where it
matters) the environment evidence the command carries."""

from __future__ import annotations

import pytest

from helpers import MemoryContext, make_command
from opsgate.classify.families import handlers
from opsgate.classify.families.dataplatforms import classify_cypher
from opsgate.classify.families.platforms import classify_artisan, classify_dotnet_ef
from opsgate.models import Effect, Environment, Finding, Impact

R, L, W, U, S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET
SAFE, C, D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE
PROD = Environment.PRODUCTION


def run(
    line: str,
    *,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    ctx: MemoryContext | None = None,
) -> list[Finding]:
    cmd = make_command(line, env=env, stdin=stdin)
    context = ctx or MemoryContext()
    if cmd.name == "php":
        return classify_artisan(cmd, context)
    if cmd.name == "dotnet":
        return classify_dotnet_ef(cmd, context)
    return handlers()[cmd.name](cmd, context)


def worst(findings: list[Finding]) -> tuple[Effect, Impact]:
    assert findings, "expected at least one finding"
    return max(f.effect for f in findings), max(f.impact for f in findings)


CASES = [
    # SQL warehouses and query engines
    ("bq-query-select", "bq query --nouse_legacy_sql 'SELECT 1'", R, SAFE),
    ("bq-query-delete-where-true", "bq query 'DELETE FROM a.events WHERE true'", W, D),
    ("bq-ls", "bq ls acme:analytics", R, SAFE),
    ("bq-rm-table", "bq rm -f -t acme:analytics.events", W, D),
    ("bq-mk", "bq mk --dataset acme:staging_tmp", W, C),
    ("bq-load-replace", "bq load --replace a.t gs://b/x.csv", W, D),
    ("bq-shell", "bq shell", U, C),
    ("snowsql-drop", "snowsql -q 'DROP TABLE analytics.events'", W, D),
    ("snowsql-select", "snowsql -c dev -q 'SELECT 1'", R, SAFE),
    ("snowsql-interactive", "snowsql -c dev", U, C),
    ("trino-delete-all", "trino --server trino.internal --execute 'DELETE FROM s'", W, D),
    ("presto-select", "presto --execute 'SELECT * FROM t LIMIT 5'", R, SAFE),
    ("spark-sql-drop", "spark-sql -e 'DROP TABLE web.sessions'", W, D),
    ("beeline-insert", "beeline -u jdbc:hive2://h:10000 -e 'INSERT INTO t VALUES (1)'", W, C),
    ("usql-drop", "usql pg://db.internal/app -c 'DROP TABLE sessions'", W, D),
    ("usql-select", "usql pg://db.internal/app -c 'SELECT 1'", R, SAFE),
    ("duckdb-drop-home", "duckdb ~/analytics.duckdb 'DROP TABLE events'", W, D),
    ("duckdb-memory", "duckdb -c 'SELECT 42'", R, SAFE),
    ("duckdb-interactive", "duckdb data/x.duckdb", U, C),
    ("sqlplus-script", "sqlplus scott/tiger@prod-db @cleanup.sql", U, C),
    # graph and time series
    ("cypher-detach-delete", "cypher-shell -a neo4j://g 'MATCH (n) DETACH DELETE n'", W, D),
    ("cypher-read", "cypher-shell 'MATCH (n:User) RETURN n LIMIT 5'", R, SAFE),
    ("cypher-interactive", "cypher-shell -a neo4j://g", U, C),
    ("influx-v1-drop", "influx -execute 'DROP DATABASE metrics'", W, D),
    ("influx-v1-show", "influx -execute 'SHOW DATABASES'", R, SAFE),
    ("influx-bucket-list", "influx bucket list", R, SAFE),
    ("influx-delete", "influx delete --bucket b --start 1970-01-01T00:00:00Z", W, D),
    ("influx-bucket-delete", "influx bucket delete -n metrics", W, D),
    ("influx-write", "influx write -b b 'cpu v=1'", W, C),
    ("influx-auth-list", "influx auth list", S, C),
    # key-value stores and brokers
    ("etcd-del-prefix", "etcdctl del --prefix /registry/", W, D),
    ("etcd-get", "etcdctl get /config/x", R, SAFE),
    ("etcd-get-k8s-secrets", "etcdctl get --prefix /registry/secrets/default", S, C),
    ("etcd-put", "etcdctl put /config/x 1", W, C),
    ("etcd-snapshot-save", "etcdctl snapshot save /tmp/s.db", S, C),
    ("etcd-member-list", "etcdctl member list", R, SAFE),
    ("consul-kv-delete", "consul kv delete -recurse app/", W, D),
    ("consul-kv-get", "consul kv get app/x", R, SAFE),
    ("consul-kv-put", "consul kv put app/x 1", W, C),
    ("consul-members", "consul members", R, SAFE),
    ("consul-acl-token-read", "consul acl token read -id x", S, C),
    ("consul-acl-policy-create", "consul acl policy create -name x", W, C),
    ("kafka-delete-topic", "kafka-topics.sh --bootstrap-server k:9092 --delete --topic o", W, D),
    ("kafka-list", "kafka-topics --bootstrap-server k:9092 --list", R, SAFE),
    ("kafka-create", "kafka-topics --bootstrap-server k:9092 --create --topic o", W, C),
    (
        "kafka-reset-preview",
        "kafka-consumer-groups --bootstrap-server k:9092 --group g --reset-offsets "
        "--to-earliest --all-topics",
        R,
        SAFE,
    ),
    (
        "kafka-reset-execute",
        "kafka-consumer-groups --bootstrap-server k:9092 --group g --reset-offsets "
        "--to-earliest --all-topics --execute",
        W,
        C,
    ),
    (
        "kafka-group-delete",
        "kafka-consumer-groups --bootstrap-server k:9092 --delete --group g",
        W,
        D,
    ),
    ("rabbit-purge", "rabbitmqctl purge_queue jobs", W, D),
    ("rabbit-list", "rabbitmqctl list_queues name messages", R, SAFE),
    ("rabbit-admin-delete", "rabbitmqadmin delete queue name=jobs", W, D),
    ("rabbit-stop-app", "rabbitmqctl stop_app", W, C),
    ("nats-stream-purge", "nats stream purge ORDERS", W, D),
    ("nats-kv-get", "nats kv get cfg k", R, SAFE),
    ("nats-pub", "nats pub orders.new '{}'", W, C),
    # Kubernetes-adjacent
    ("helmfile-apply", "helmfile -e prod apply", W, C),
    ("helmfile-destroy", "helmfile destroy", W, D),
    ("helmfile-diff", "helmfile -e prod diff", R, SAFE),
    ("helmfile-template", "helmfile template", R, SAFE),
    ("skaffold-run", "skaffold run -p prod", W, C),
    ("skaffold-delete", "skaffold delete", W, D),
    ("skaffold-build", "skaffold build", L, SAFE),
    ("skaffold-render", "skaffold render", R, SAFE),
    ("velero-backup-delete", "velero backup delete prod-daily --confirm", W, D),
    ("velero-backup-get", "velero backup get", R, SAFE),
    ("velero-get-backups", "velero get backups", R, SAFE),
    ("velero-restore-create", "velero restore create --from-backup b1", W, C),
    ("kubecolor-delete", "kubecolor delete deploy api -n shop", W, D),
    ("kubecolor-get", "kubecolor get pods -n shop", R, SAFE),
    ("argo-submit", "argo submit wf.yaml", W, C),
    ("argo-delete", "argo delete wf-1", W, D),
    ("argo-list", "argo list", R, SAFE),
    ("argo-lint", "argo lint wf.yaml", L, SAFE),
    ("tilt-up", "tilt up", W, C),
    ("tilt-down-namespaces", "tilt down --delete-namespaces", W, D),
    ("k9s-interactive", "k9s --context prod", U, C),
    ("k9s-readonly", "k9s --readonly", R, SAFE),
    ("kind-delete-cluster", "kind delete cluster", L, C),
    ("kind-create-cluster", "kind create cluster --name dev", L, SAFE),
    ("minikube-delete", "minikube delete --all --purge", L, C),
    ("minikube-status", "minikube status", R, SAFE),
    ("k3d-cluster-delete", "k3d cluster delete dev", L, C),
    # serverless and BaaS
    ("sam-deploy", "sam deploy --no-confirm-changeset", W, C),
    ("sam-delete", "sam delete --stack-name api-prod", W, D),
    ("sam-build", "sam build", L, SAFE),
    ("sam-local-invoke", "sam local invoke Fn", L, SAFE),
    ("sam-logs", "sam logs -n Fn --stack-name api", R, SAFE),
    ("supabase-reset-linked", "supabase db reset --linked", W, D),
    ("supabase-reset-local", "supabase db reset", L, C),
    ("supabase-push", "supabase db push", W, C),
    ("supabase-push-local", "supabase db push --local", L, C),
    ("supabase-migration-up-local", "supabase migration up", L, C),
    ("supabase-migration-up-linked", "supabase migration up --linked", W, C),
    ("supabase-functions-deploy", "supabase functions deploy hello", W, C),
    ("supabase-start", "supabase start", L, SAFE),
    ("supabase-diff", "supabase db diff", R, SAFE),
    # framework database tasks
    ("artisan-migrate-fresh-prod", "php artisan migrate:fresh --env=production --force", W, D),
    ("artisan-migrate", "php artisan migrate", W, C),
    ("artisan-rollback", "php artisan migrate:rollback", W, D),
    ("artisan-db-wipe", "php artisan db:wipe", W, D),
    ("artisan-pretend", "php artisan migrate --pretend", R, SAFE),
    ("artisan-status", "php artisan migrate:status", R, SAFE),
    ("artisan-tinker", "php artisan tinker", U, C),
    ("artisan-direct", "./artisan migrate:fresh", W, D),
    ("artisan-php-flags", "php -d memory_limit=-1 artisan db:wipe --force", W, D),
    ("mix-rollback-all", "mix ecto.rollback --all", W, D),
    ("mix-migrate", "mix ecto.migrate", W, C),
    ("mix-drop", "mix ecto.drop", W, D),
    ("mix-reset", "mix ecto.reset", W, D),
    ("dotnet-ef-update", "dotnet ef database update", W, C),
    ("dotnet-ef-drop", "dotnet ef database drop --force", W, D),
    ("dotnet-ef-update-zero", "dotnet ef database update 0", W, D),
    ("dotnet-ef-migrations-add", "dotnet ef migrations add Init", L, SAFE),
    ("dotnet-ef-migrations-list", "dotnet ef migrations list", R, SAFE),
    ("dotnet-ef-remove-force", "dotnet ef migrations remove --force", W, D),
    ("dotnet-ef-tool", "dotnet-ef database drop -f", W, D),
    # host security switches
    ("setenforce-0", "setenforce 0", W, C),
    ("setenforce-permissive", "setenforce Permissive", W, C),
    ("getenforce", "getenforce", R, SAFE),
    ("aa-disable", "aa-disable /etc/apparmor.d/usr.sbin.nginx", W, C),
    ("aa-complain", "aa-complain /etc/apparmor.d/usr.sbin.nginx", W, C),
    ("aa-status", "aa-status", R, SAFE),
    ("auditctl-delete-all", "auditctl -D", W, C),
    ("auditctl-disable", "auditctl -e 0", W, C),
    ("auditctl-list", "auditctl -l", R, SAFE),
]


@pytest.mark.parametrize(
    ("line", "effect", "impact"),
    [pytest.param(line, effect, impact, id=case) for case, line, effect, impact in CASES],
)
def test_worst_effect_and_impact(line: str, effect: Effect, impact: Impact) -> None:
    assert worst(run(line)) == (effect, impact)


@pytest.mark.parametrize(
    ("line", "env"),
    [
        pytest.param("php artisan migrate:fresh --env=production --force", None, id="artisan-env"),
        pytest.param("mix ecto.rollback --all", {"MIX_ENV": "prod"}, id="mix-env"),
        pytest.param("php artisan migrate", {"APP_ENV": "production"}, id="artisan-app-env"),
        pytest.param(
            "dotnet ef database update --connection 'Server=sql-prod-01;Database=Shop'",
            None,
            id="ef-connection-host",
        ),
        pytest.param("helmfile -e prod apply", None, id="helmfile-env"),
        pytest.param("skaffold run -p prod", None, id="skaffold-profile"),
        pytest.param("velero backup delete prod-daily --confirm", None, id="velero-backup-name"),
        pytest.param("snowsql -c prod -q 'DELETE FROM t'", None, id="snowsql-connection"),
    ],
)
def test_environment_evidence_is_production(line: str, env: dict[str, str] | None) -> None:
    findings = run(line, env=env)
    assert any(f.environment is PROD for f in findings)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("etcdctl del --prefix /registry/", id="etcd"),
        pytest.param("consul kv delete app/", id="consul"),
        pytest.param("rabbitmqctl purge_queue jobs", id="rabbitmq"),
        pytest.param("sam deploy", id="sam"),
        pytest.param("supabase db reset --linked", id="supabase-linked"),
        pytest.param("helmfile destroy", id="helmfile"),
        pytest.param("bq rm -f -t acme:a.events", id="bq"),
        pytest.param("spark-sql -e 'DROP TABLE t'", id="spark"),
        pytest.param("setenforce 0", id="setenforce"),
    ],
)
def test_every_infrastructure_write_names_a_target(line: str) -> None:
    writes = [f for f in run(line) if f.effect is W]
    assert writes
    assert all(f.target for f in writes)


def test_dotnet_ef_connection_password_is_redacted() -> None:
    line = "dotnet ef database update --connection 'Server=db;User Id=sa;Password=hunter2'"
    findings = run(line)
    assert findings
    assert all("hunter2" not in (f.target or "") + f.evidence for f in findings)


def test_sqlplus_password_is_redacted() -> None:
    findings = run("sqlplus scott/tiger@prod-db @cleanup.sql")
    assert all("tiger" not in f.evidence and "tiger" not in (f.target or "") for f in findings)


def test_local_cluster_delete_is_the_developers_workspace() -> None:
    (found,) = run("kind delete cluster")
    assert found.environment is Environment.LOCAL
    assert found.effect is L


def test_payload_from_stdin_is_classified() -> None:
    assert worst(run("cypher-shell -a neo4j://g", stdin="MATCH (n) DELETE n;")) == (W, D)
    assert worst(run("snowsql -c dev", stdin="SELECT 1;")) == (R, SAFE)


def test_unreadable_sql_file_is_unknown() -> None:
    assert worst(run("trino --server t -f scripts/cleanup.sql")) == (U, C)


def test_sql_file_is_read_through_the_context() -> None:
    ctx = MemoryContext(files={"q.sql": "DROP TABLE x;"})
    assert worst(run("spark-sql -f q.sql", ctx=ctx)) == (W, D)


def test_php_without_artisan_is_not_artisan() -> None:
    assert run("php -v") == []
    assert run("php artisan test") == []


def test_dotnet_other_subcommands_are_left_to_packages() -> None:
    assert run("dotnet build") == []


@pytest.mark.parametrize(
    ("text", "effect", "impact"),
    [
        pytest.param("MATCH (n:User {id: 1}) DELETE n", W, C, id="delete-with-filter"),
        pytest.param("MATCH (n) WHERE n.stale DELETE n", W, C, id="delete-with-where"),
        pytest.param("MATCH (n) DELETE n", W, D, id="delete-no-filter"),
        pytest.param("MATCH (n) DETACH DELETE n", W, D, id="detach-delete"),
        pytest.param("DROP INDEX idx", W, D, id="drop"),
        pytest.param("MERGE (u:User {id: 1}) SET u.name = 'x'", W, C, id="merge"),
        pytest.param("CALL db.labels()", R, SAFE, id="read-procedure"),
        pytest.param("CALL apoc.periodic.iterate('a', 'b', {})", U, C, id="unknown-procedure"),
        pytest.param("MATCH (n) RETURN 'DETACH DELETE' AS s", R, SAFE, id="keyword-in-string"),
        pytest.param("// DROP everything\nMATCH (n) RETURN n", R, SAFE, id="keyword-in-comment"),
        pytest.param("SHOW DATABASES", R, SAFE, id="show"),
    ],
)
def test_cypher(text: str, effect: Effect, impact: Impact) -> None:
    assert worst(classify_cypher(text)) == (effect, impact)
