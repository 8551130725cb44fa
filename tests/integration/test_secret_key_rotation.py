"""Rotating the secret store's key on a real control plane, SQLite and PostgreSQL:
every sealed row (stored values and owners' helper commands) opens with the new key
afterwards and not with the old one; owners only; all or nothing — a row that does
not open, or a write that fails half-way (a trigger in the database itself), leaves
every row byte for byte as it was; the audit entry names who and how many, and
neither key appears in the trail.  During a rolling restart a previous key opens
what the current one does not, while writes use the current key."""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from execute_env import Org, org
from opsgate.approvals.model import Denied
from opsgate.execute._rekey import rotate_key
from opsgate.execute.errors import SecretError
from opsgate.execute.secrets import HelperSpec, Sealed, SecretStore, load_previous_key
from opsgate.store._schema import secrets as table
from opsgate.store.errors import StoreError
from servers import postgres_or_skip

VALUES = {"a-db-password": "pw-Alpha-7731", "b-api-token": "tok-Bravo-5520"}
HELPER = "c-vault"  # an owner's helper command: sealed like a value


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def o(request: pytest.FixtureRequest, tmp_path: Path, hook_env: None,
      monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:  # fmt: skip
    for name in ("OPSGATE_SECRET_KEY", "OPSGATE_SECRET_KEY_PREVIOUS",
                 "OPSGATE_SECRET_KEY_PREVIOUS_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    url = None
    if request.param == "postgres":
        import psycopg

        cluster = request.getfixturevalue("cluster")
        name = f"rotate_{os.getpid()}_{abs(hash(tmp_path.name)) % 10**8}"
        with psycopg.connect(cluster, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name}")
            con.execute(f"CREATE DATABASE {name}")
        url = cluster.rsplit("/", 1)[0] + "/" + name
    with org(tmp_path / "home", url) as made:
        for secret, value in VALUES.items():
            made.ex.set_secret(made.admin, secret, value)
        spec = HelperSpec.checked(["/bin/echo", "from-vault"], None, [])
        made.ex.set_secret_command(made.owner, HELPER, spec)
        yield made


def _key(o: Org) -> bytes:
    return base64.b64decode((o.cp.data_dir / "secret.key").read_text())


def _rows(o: Org) -> dict[str, tuple[Any, ...]]:
    import sqlalchemy as sa

    with o.cp.store.read() as conn:
        return {r.name: tuple(r) for r in conn.execute(sa.select(table))}


def _opened(o: Org, key: bytes) -> dict[str, bytes]:
    """The rows ``key`` alone opens."""
    store, found = SecretStore(key), {}
    for name, row in _rows(o).items():
        sealed = Sealed(name, row[6] or "value", row[1], row[2])
        with contextlib.suppress(SecretError):
            found[name] = store.unseal(sealed)
    return found


def _rotations(o: Org) -> list[dict[str, Any]]:
    return [e.data for e in o.cp.audit.entries() if e.event == "secret.key_rotated"]


def _forms(key: bytes) -> list[str]:
    return [base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode().rstrip("="),
            key.hex()]  # fmt: skip


def test_rotation_reseals_every_secret_under_the_new_key(o: Org) -> None:
    old, new = _key(o), os.urandom(32)
    before = _rows(o)
    plain = _opened(o, old)
    assert set(plain) == {*VALUES, HELPER, "canary"}

    done = rotate_key(o.cp, o.owner, o.ex.secrets, new)

    assert (done.values, done.commands, done.total) == (3, 1, 4)
    assert _opened(o, new) == plain  # every row, the same bytes
    assert _opened(o, old) == {}  # and none with the old key any more
    after = _rows(o)
    for name, row in before.items():  # new nonce and ciphertext; when and who unchanged
        assert after[name][1:3] != row[1:3] and after[name][3:] == row[3:], name
    [entry] = _rotations(o)
    assert entry["actor"]["name"] == "olivia"
    assert entry["result"] == {"change": "re-sealed under a new key", "secrets": 4, "values": 3,
                               "commands": 1}  # fmt: skip
    trail = b"".join(e.body for e in o.cp.audit.entries()).decode()
    for form in _forms(old) + _forms(new):
        assert form not in trail
    assert not any(v in trail for v in VALUES.values())


@pytest.mark.parametrize("role", ["admin", "member", "agent"])
def test_only_an_owner_rotates(o: Org, role: str) -> None:
    before = _rows(o)
    with pytest.raises(Denied):
        rotate_key(o.cp, getattr(o, role), o.ex.secrets, os.urandom(32))
    assert _rows(o) == before and _rotations(o) == []


def test_a_secret_that_does_not_open_stops_it_before_anything_is_written(o: Org) -> None:
    stranger = SecretStore(os.urandom(32))  # sealed by a replica with another key
    with o.cp.store.write() as conn:
        stranger.put(conn, "z-foreign", "sealed-elsewhere-001", None, 1.0)
    before = _rows(o)
    with pytest.raises(SecretError) as raised:
        rotate_key(o.cp, o.owner, o.ex.secrets, os.urandom(32))
    assert "nothing was changed" in raised.value.message
    assert "'z-foreign'" in raised.value.message and "a-db-password" not in raised.value.message
    assert _rows(o) == before and _rotations(o) == []


def _fail_on_update_of(o: Org, name: str) -> None:
    """A trigger in the database that refuses to update one row: a failure half-way,
    after the rows sorted before it were already re-sealed in the transaction."""
    with o.cp.store.write() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER fail_one BEFORE UPDATE ON secrets WHEN OLD.name = '{name}' "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
            return
        conn.exec_driver_sql(
            "CREATE FUNCTION fail_one() RETURNS trigger AS $$ BEGIN "
            f"IF OLD.name = '{name}' THEN RAISE EXCEPTION 'injected failure'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER fail_one BEFORE UPDATE ON secrets FOR EACH ROW "
            "EXECUTE FUNCTION fail_one()"
        )


def test_a_failure_midway_leaves_everything_as_it_was(o: Org) -> None:
    old = _key(o)
    plain = _opened(o, old)
    _fail_on_update_of(o, "b-api-token")  # after a-db-password, in name order
    before = _rows(o)
    with pytest.raises(StoreError) as raised:
        rotate_key(o.cp, o.owner, o.ex.secrets, os.urandom(32))
    assert "rolled back, nothing changed" in raised.value.message
    assert "injected failure" in raised.value.message
    assert _rows(o) == before  # a-db-password too: its re-sealing was rolled back
    assert _opened(o, old) == plain and _rotations(o) == []


def test_the_previous_key_opens_what_the_current_does_not(
    o: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsgate.execute import Executor

    old, new = _key(o), os.urandom(32)
    # A replica restarted with the new key and without the old one opens nothing …
    alone = Executor(o.cp, secret_key=new)
    with pytest.raises(SecretError, match="does not decrypt with this key"):
        alone.check_secret(o.owner, "a-db-password")
    # … with the old one as the previous key, it opens every value,
    monkeypatch.setenv("OPSGATE_SECRET_KEY_PREVIOUS", base64.b64encode(old).decode())
    replica = Executor(o.cp, secret_key=new)
    assert replica.check_secret(o.owner, "a-db-password") == len(VALUES["a-db-password"])
    assert replica.learn_secrets() == 3
    # … and what it writes is sealed with the new key only.
    replica.set_secret(o.admin, "d-new", "written-after-restart")
    assert set(_opened(o, new)) == {"d-new"} and "d-new" not in _opened(o, old)
    # Finishing the rotation: the new key is the current key, the old one previous.
    done = rotate_key(o.cp, o.owner, replica.secrets, new)
    assert done.total == 5 and set(_opened(o, new)) == {*VALUES, HELPER, "canary", "d-new"}
    assert _opened(o, old) == {}


@pytest.mark.parametrize(
    ("setup", "said"),
    [
        ("both", "set one of the two"),
        ("readable", "readable by other users"),
        ("missing", "cannot read the previous secret key file"),
        ("not-a-key", "is not 32 bytes of base64"),
    ],
)
def test_a_previous_key_that_cannot_be_used_is_an_error(
    tmp_path: Path, hook_env: None, monkeypatch: pytest.MonkeyPatch, setup: str, said: str
) -> None:
    path = tmp_path / "old-secret.key"
    path.touch(mode=0o600)
    key = base64.b64encode(os.urandom(32)).decode()
    path.write_text(key)
    monkeypatch.setenv("OPSGATE_SECRET_KEY_PREVIOUS_FILE", str(path))
    if setup == "both":
        monkeypatch.setenv("OPSGATE_SECRET_KEY_PREVIOUS", base64.b64encode(os.urandom(32)).decode())
    elif setup == "readable":
        path.chmod(0o644)
    elif setup == "missing":
        path.unlink()
    elif setup == "not-a-key":
        path.write_text("not a key\n")
    with pytest.raises(SecretError) as raised:
        load_previous_key(tmp_path)
    assert said in raised.value.message or said in (raised.value.hint or "")
    assert key not in f"{raised.value.message} {raised.value.hint}"
