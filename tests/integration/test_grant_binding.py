"""A grant covers exactly what was approved (issue 13; review C2, M1, L2), on SQLite
and on a real PostgreSQL: the files the classification read, the working
directory and the reported context are part of the grant; a retry after any of
them changed gets a new card; a retry classified above the approval is refused;
nobody approves a request made through a token they created; and the schema
migrates an existing version-3 database in place."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_control_plane import Clock, open_cp, people

from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import Denied, Role
from opsgate.approvals.service import CardFilter, Principal
from opsgate.environments import InventoryTarget
from opsgate.models import Action, Environment, FileRead, Impact, Verdict
from servers import postgres_or_skip

PROJECT = "/home/dev/shop"
FIX = f"{PROJECT}/fix.sql"
INDEX_SQL = "CREATE INDEX idx_orders_created ON orders (created_at);\n"
SWAPPED_SQL = "\\connect postgresql://app@db.prod.internal/shop\nDROP TABLE orders;\n"
COMMAND = "psql -h db.staging.internal -d shop -f fix.sql"


Org = tuple[SqlControlPlane, dict[str, Principal]]


def file(path: str, text: str) -> FileRead:
    return FileRead(path, hashlib.sha256(text.encode()).hexdigest(), text)


def psql(text: str = INDEX_SQL, *, cwd: str = PROJECT, **context: str) -> Action:
    """The action as the connected hook proposes it: with the file it read and the
    context it resolved."""
    return Action(
        "",
        "Bash",
        {"command": COMMAND},
        cwd=cwd,
        project_dir=cwd,
        agent="claude",
        files=(file(f"{cwd}/fix.sql", text),),
        context=tuple(sorted({"kube.context": "staging-eu", **context}.items())),
    )


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite; else a fresh database on the module's PostgreSQL cluster."""
    if request.param == "sqlite":
        return None
    import psycopg

    server: str = request.getfixturevalue("pg_server")
    name = "gb_" + hashlib.sha256(request.node.name.encode()).hexdigest()[:12]
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def org(tmp_path: Path, store: str | None, hook_env: None) -> Iterator[Org]:
    cp = open_cp(tmp_path / "home", Clock(), store)
    yield cp, people(cp)
    cp.close()


def approve(cp: SqlControlPlane, who: Principal, card_id: str) -> None:
    card = cp.get_card(who, card_id)
    cp.approve(who, card_id, card.confirm)


def test_a_swapped_file_needs_a_new_card(org: Org) -> None:
    """C2: a member approved "creates index"; the agent swapped fix.sql for a
    production DROP; the identical command retried must not pass on that grant."""
    cp, who = org
    first = cp.propose(who["agent"], psql())
    assert first.card is not None and first.decision.impact is Impact.CAUTION
    assert first.card.binding["files"] == [
        {"path": FIX, "sha256": hashlib.sha256(INDEX_SQL.encode()).hexdigest(), "read": True}
    ]
    assert INDEX_SQL.strip() not in repr(first.card)  # the card names the file, not its text
    approve(cp, who["member"], first.card.id)

    swapped = cp.propose(who["agent"], psql(SWAPPED_SQL))
    assert swapped.grant is None and swapped.card is not None
    assert swapped.card.id != first.card.id and swapped.decision.impact is Impact.DESTRUCTIVE
    with pytest.raises(Denied):  # past the member's limit, as it always was
        cp.approve(who["member"], swapped.card.id, swapped.card.confirm)

    untouched = cp.propose(who["agent"], psql())  # the file as approved: passes, once
    assert untouched.grant is not None and untouched.decision.verdict is Verdict.ALLOW
    again = cp.propose(who["agent"], psql())
    assert again.grant is None and again.card is not None


@pytest.mark.parametrize(
    "changed",
    [
        {"cwd": "/home/dev/payments-prod"},
        {"kube.context": "prod-eu"},
        {"aws.profile": "prod"},
        {"git.branch@/home/dev/shop": "main"},
        {"env.PGHOST": "sha256:" + "e" * 64},
    ],
    ids=["cwd", "kube-context", "aws-profile", "branch", "pghost"],
)
def test_the_grant_binds_cwd_and_context(org: Org, changed: dict[str, str]) -> None:
    """M1: an approval survived ``cd`` and ``kubectl config use-context prod-eu``."""
    cp, who = org
    card = cp.propose(who["agent"], psql()).card
    assert card is not None
    approve(cp, who["member"], card.id)
    context = {k: v for k, v in changed.items() if k != "cwd"}
    moved = psql(cwd=changed.get("cwd", PROJECT), **context)
    assert cp.check_grant(who["agent"], moved) is None
    other = cp.propose(who["agent"], moved)
    assert other.grant is None and other.card is not None and other.card.id != card.id
    assert cp.propose(who["agent"], psql()).grant is not None


def test_a_retry_classified_above_the_approval_is_refused(
    org: Org,
) -> None:
    """Same action, same files, same context — but the target is production now:
    the staging approval does not cover it (defence in depth: here the inventory is
    changed behind the control plane's back, so nothing cancelled the card first —
    through the control plane the move itself cancels it, test_card_lifecycle)."""
    from opsgate.store import _org as stored

    cp, who = org
    action = Action("", "Bash", {"command": "kubectl --context blue-eu delete namespace x"},
                    cwd=PROJECT, agent="claude")  # fmt: skip
    cp.put_target(who["owner"], InventoryTarget("blue-eu", "cluster", Environment.STAGING,
                                                match=("blue-eu",)))  # fmt: skip
    card = cp.propose(who["agent"], action).card
    assert card is not None and card.environment is Environment.STAGING
    approve(cp, who["admin"], card.id)
    with cp.store.write() as conn:
        stored.put_target(conn, InventoryTarget("blue-eu", "cluster", Environment.PRODUCTION,
                                                match=("blue-eu",)), 0.0)  # fmt: skip
    retry = cp.propose(who["agent"], action)
    assert retry.grant is None and retry.card is not None
    assert retry.card.environment is Environment.PRODUCTION
    assert any("needs a new approval" in r for r in retry.decision.reasons)


def test_nobody_approves_a_card_requested_through_their_own_token(
    org: Org,
) -> None:
    """L2: a member approved their own bot's card and the bot's retry passed."""
    cp, who = org
    _, secret = cp.create_token(who["member"], "mia-bot", Role.AGENT)
    bot = cp.token(secret)
    assert bot is not None
    card = cp.propose(bot, psql()).card
    assert card is not None
    with pytest.raises(Denied, match="token you created"):
        cp.approve(who["member"], card.id, None)
    approve(cp, who["admin"], card.id)  # another person may
    assert cp.propose(bot, psql()).grant is not None


def test_a_card_waits_for_the_context_when_it_was_left_out(
    org: Org,
) -> None:
    cp, who = org
    lean = dataclasses.replace(psql(), context=(), context_complete=False)
    answer = cp.propose(who["agent"], lean)
    assert answer.context_required and answer.card is None and answer.grant is None
    assert cp.list_cards(who["owner"], CardFilter()).total == 0
    assert cp.propose(who["agent"], psql()).card is not None


def test_the_control_plane_never_reads_its_own_disk(org: Org, tmp_path: Path) -> None:
    """C1: a file on the control plane's host named by an API caller stays unread."""
    cp, who = org
    secret = tmp_path / "notes.sql"
    secret.write_text("SELECT 'canary-7f3e91ab2c';")
    action = Action("", "Bash", {"command": f"psql -h db.staging.internal -f {secret}"},
                    cwd=str(tmp_path), agent="claude")  # fmt: skip
    decision = cp.evaluate(who["agent"], action)
    assert "canary-7f3e91ab2c" not in repr(decision.to_json())
    assert any("cannot read" in f.reason for f in decision.classification.findings)


def test_version_3_databases_migrate_in_place(
    tmp_path: Path, store: str | None, hook_env: None
) -> None:
    """A database made by the previous release: cards and grants gain their columns."""
    import sqlalchemy as sa

    from opsgate.store import _migrate
    from opsgate.store._engine import make_engine, resolve_url

    home = tmp_path / "home"
    home.mkdir()
    engine, _ = make_engine(resolve_url(home, store))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_migrate, "MIGRATIONS", _migrate.MIGRATIONS[:3])
        mp.setattr(_migrate, "LATEST", 3)
        _migrate.migrate(engine)
    with engine.begin() as conn:  # the shape version 3 left behind
        for table, column in (
            ("cards", "binding"),
            ("grants", "impact"),
            ("grants", "environment"),
        ):
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    assert _migrate.migrate(engine) == 3
    with engine.connect() as conn:
        versions = [v for (v,) in conn.execute(sa.text("SELECT version FROM schema_version"))]
        columns = {c["name"] for c in sa.inspect(conn).get_columns("grants")}
    engine.dispose()
    latest = [v for v, _, _ in _migrate.MIGRATIONS]  # 4, and any later one
    assert sorted(versions) == latest and {"impact", "environment"} <= columns
    cp = open_cp(home, Clock(), store)
    try:
        who = people(cp)
        card = cp.propose(who["agent"], psql()).card
        assert card is not None
        approve(cp, who["member"], card.id)
        assert cp.propose(who["agent"], psql()).grant is not None
    finally:
        cp.close()
