"""The PostgreSQL runner against a real cluster: reads run in a READ ONLY
transaction (writes and smuggled second statements fail in the database),
migrations run in one transaction after approval, undo proposes the down
migration, and the DSN's password never appears in output.  Also: the executor
on a PostgreSQL control plane (claims are the same conditional UPDATE)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from execute_env import Org, org
from opsgate.environments import InventoryTarget
from opsgate.models import Environment, Verdict
from servers import postgres_or_skip

pytestmark = pytest.mark.postgres
PG_PASSWORD = "pgcanary-Rt5vW8xQ2mN7"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


@pytest.fixture
def o(tmp_path: Path, cluster: str, hook_env: None) -> Iterator[Org]:
    import psycopg

    with psycopg.connect(cluster, autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS appdb")
        con.execute("CREATE DATABASE appdb")
    app_url = cluster.rsplit("/", 1)[0] + "/appdb"
    with psycopg.connect(app_url, autocommit=True) as con:
        con.execute("CREATE TABLE config (k text, v text)")
        con.execute("INSERT INTO config VALUES ('db_password', %s), ('mode', 'live')",
                    (PG_PASSWORD,))  # fmt: skip
    scheme, rest = app_url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    dsn = f"{scheme}://{userinfo}:{PG_PASSWORD}@{host}"
    with org(tmp_path / "home") as made:
        made.ex.set_secret(made.admin, "app_dsn", dsn)
        made.cp.put_target(made.owner, InventoryTarget(
            "appdb-staging", "database", Environment.STAGING,
            connection=(("dsn", "secret:app_dsn"),)))  # fmt: skip
        yield made


def query(o: Org, sql: str):  # type: ignore[no-untyped-def]
    return asyncio.run(o.ex.run_read_only(o.agent, "sql.query", "appdb-staging", {"sql": sql}))


def test_reads_run_read_only_and_redacted(o: Org) -> None:
    result = query(o, "SELECT k, v FROM config ORDER BY k")
    assert result.status == "completed", result.output
    assert "mode\tlive" in result.output and "(2 rows)" in result.output
    assert PG_PASSWORD not in result.output and "db_password\t[REDACTED]" in result.output
    # A write hidden in a "read" is read by opsgate's SQL classifier and needs approval
    # (the READ ONLY transaction is the second line); so are functions with effects,
    # which a READ ONLY transaction would still run.
    for sql in ("DELETE FROM config", "SELECT 1; DELETE FROM config",
                "COMMIT; DELETE FROM config",
                "WITH d AS (DELETE FROM config RETURNING *) SELECT * FROM d",
                "SELECT pg_terminate_backend(pg_backend_pid())",
                "SELECT set_config('search_path', 'evil', false)",
                "SELECT dblink_exec('dbname=x', 'DELETE FROM config')"):  # fmt: skip
        refused = query(o, sql)
        assert refused.status == "refused", (sql, refused.status)
        assert refused.decision is not None and refused.decision["decision"] != "allow"
    assert "(2 rows)" in query(o, "SELECT * FROM config").output  # nothing was deleted


def test_migration_needs_approval_runs_in_a_transaction_and_undoes(o: Org) -> None:
    up = {"sql": "CREATE TABLE t (id int); INSERT INTO t VALUES (1)", "down_sql": "DROP TABLE t"}
    proposed = o.ex.propose_operation(o.agent, "sql.migrate", "appdb-staging", up, "add t")
    assert proposed.decision.verdict is Verdict.REQUIRE_APPROVAL and proposed.card is not None
    o.cp.approve(o.admin, proposed.card.id, None)
    done = asyncio.run(o.ex.run(proposed.card.id))
    assert done is not None and done.status == "completed", done.output
    assert "(1 rows)" in query(o, "SELECT * FROM t").output
    undo = o.ex.undo(o.agent, proposed.card.id)
    assert undo.card is not None and undo.card.action["params"]["sql"] == "DROP TABLE t"
    o.cp.approve(o.admin, undo.card.id, None)
    undone = asyncio.run(o.ex.run(undo.card.id))
    assert undone is not None and undone.status == "completed"
    assert query(o, "SELECT * FROM t").status == "failed"  # the table is gone
    # A failing migration leaves nothing half-applied.
    bad = {"sql": "CREATE TABLE u (id int); SELECT no_such_column FROM u", "down_sql": "SELECT 1"}
    card = o.ex.propose_operation(o.agent, "sql.migrate", "appdb-staging", bad).card
    assert card is not None
    o.cp.approve(o.admin, card.id, None)
    failed = asyncio.run(o.ex.run(card.id))
    assert failed is not None and failed.status == "failed"
    assert query(o, "SELECT * FROM u").status == "failed"


def test_executor_on_a_postgres_control_plane(tmp_path: Path, cluster: str, hook_env: None) -> None:
    import psycopg

    with psycopg.connect(cluster, autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS cp_exec")
        con.execute("CREATE DATABASE cp_exec")
    url = cluster.rsplit("/", 1)[0] + "/cp_exec"
    out = tmp_path / "ran.txt"
    with org(tmp_path / "home", url, local_runner=True) as made:
        made.cp.put_target(made.owner, InventoryTarget(
            "box", "server", Environment.STAGING, connection=(("runner", "local"),)))  # fmt: skip
        card = made.ex.propose_operation(
            made.agent, "test.append", "box", {"file": str(out), "line": "pg"}
        ).card
        assert card is not None
        made.cp.approve(made.admin, card.id, None)

        async def race() -> list[object]:
            return list(await asyncio.gather(*(made.ex.run(card.id) for _ in range(4))))

        results = asyncio.run(race())
        assert sum(r is not None for r in results) == 1
        assert out.read_text() == "pg\n"
