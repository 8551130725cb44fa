"""``opsgate secrets rotate-key`` as an operator runs it: on a SQLite data directory
(the new key from a file, then from stdin), and the rolling procedure of
docs/deploy.md on PostgreSQL with real ``opsgate serve`` replicas — the new key as
current and the old as previous, the rotation, then the new key alone.  Neither key
is ever in the command's output, a replica's log or the audit trail; the refusals
(through a server, a key as an argument, a key file others can read) change nothing."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servers import OPSGATE, Serve, owner_password, postgres_or_skip

PASSWORD = "rotation owner password"
VALUES = {"db-password": "pw-Delta-4410", "api-token": "tok-Echo-9921"}
UNREADABLE = "could not be decrypted"  # a replica's start-up warning
Run = subprocess.CompletedProcess[str]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(extra)
    return env


def _run(*argv: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPSGATE, *argv], env=_env(**env), input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def _new_key(path: Path) -> str:
    key = base64.b64encode(os.urandom(32)).decode()
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def _forms(key: str) -> list[str]:
    raw = base64.b64decode(key)
    return [key, base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex()]


def _assert_absent(keys: list[str], *texts: str) -> None:
    joined = "\n".join(texts)
    for key in keys:
        for form in _forms(key):
            assert form not in joined


# --- SQLite: one data directory ---------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    made = _run("init", "--data-dir", str(home), "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    for name, value in VALUES.items():
        done = _run("secrets", "set", name, "--data-dir", str(home), "--user", "owner",
                    stdin=value, OPSGATE_PASSWORD=PASSWORD)  # fmt: skip
        assert done.returncode == 0, done.stderr
    return home


def _sealed(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "opsgate.db") as db:
        return list(db.execute("SELECT name, nonce, ciphertext FROM secrets ORDER BY name"))


def _as_owner(home: Path, *argv: str, stdin: str = "", **env: str) -> Run:
    return _run(*argv, "--data-dir", str(home), "--user", "owner", stdin=stdin,
                OPSGATE_PASSWORD=PASSWORD, **env)  # fmt: skip


def test_rotate_key_from_a_file_then_from_stdin(home: Path, tmp_path: Path) -> None:
    old = (home / "secret.key").read_text().strip()
    new1 = _new_key(tmp_path / "new-1.key")
    first = _as_owner(home, "secrets", "rotate-key", "--new-key-file", str(tmp_path / "new-1.key"))
    assert first.returncode == 0, first.stderr
    assert "re-sealed 2 secret(s)" in first.stdout and "give every replica" in first.stdout

    # secret.key still holds the old key: nothing opens; with the new key, everything.
    stale = _as_owner(home, "secrets", "list")
    assert UNREADABLE in stale.stderr and "'api-token', 'db-password'" in stale.stderr
    fresh = _as_owner(home, "secrets", "list", OPSGATE_SECRET_KEY=new1)
    assert fresh.returncode == 0 and UNREADABLE not in fresh.stderr, fresh.stderr

    # Put the new key in place, and rotate again with the next key from stdin.
    (home / "secret.key").write_text(new1 + "\n")
    new2 = base64.b64encode(os.urandom(32)).decode()
    second = _as_owner(home, "secrets", "rotate-key", "--new-key-file", "-", "--json", stdin=new2)
    assert second.returncode == 0, second.stderr
    assert '"secrets": 2' in second.stdout and '"rotated": true' in second.stdout
    assert UNREADABLE not in _as_owner(home, "secrets", "list", OPSGATE_SECRET_KEY=new2).stderr

    trail = _run("audit", "export", "--data-dir", str(home))
    rotations = [line for line in trail.stdout.splitlines() if "secret.key_rotated" in line]
    assert len(rotations) == 2 and all('"name":"owner"' in line for line in rotations)
    _assert_absent([old, new1, new2], first.stdout, first.stderr, stale.stderr, fresh.stderr,
                   second.stdout, second.stderr, trail.stdout)  # fmt: skip
    assert not any(v in trail.stdout for v in VALUES.values())


def test_refusals_change_nothing_and_never_echo_the_key(home: Path, tmp_path: Path) -> None:
    before = _sealed(home)
    key = base64.b64encode(os.urandom(32)).decode()
    outputs: list[str] = []

    def refused(result: subprocess.CompletedProcess[str], said: str) -> None:
        assert result.returncode == 2, result.stdout + result.stderr
        assert said in result.stderr, result.stderr
        outputs.extend((result.stdout, result.stderr))

    # Through a server: refused before reading the key (none is sent anywhere).
    remote = _run("secrets", "rotate-key", "--new-key-file", "-", stdin=key,
                  OPSGATE_URL="http://127.0.0.1:9", OPSGATE_HOME=str(home),
                  OPSGATE_USER="owner", OPSGATE_PASSWORD=PASSWORD)  # fmt: skip
    refused(remote, "runs on the database directly, not through a server")
    # The key itself where a file is expected: it is in the shell history now.
    refused(_as_owner(home, "secrets", "rotate-key", "--new-key-file", key),
            "looks like a key itself")  # fmt: skip
    readable = tmp_path / "shared.key"
    readable.write_text(key)
    readable.chmod(0o644)
    refused(_as_owner(home, "secrets", "rotate-key", "--new-key-file", str(readable)),
            "readable by other users")  # fmt: skip
    short = tmp_path / "short.key"
    short.touch(mode=0o600)
    short.write_text("c2hvcnQ=\n")
    refused(_as_owner(home, "secrets", "rotate-key", "--new-key-file", str(short)),
            "is not 32 bytes of base64")  # fmt: skip

    assert _sealed(home) == before
    _assert_absent([key], *outputs)


# --- PostgreSQL: the rolling procedure with real replicas ---------------------------------------


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_or_skip() as url:
        yield url


def _replica(root: Path, name: str, url: str, **keys: str) -> Serve:
    home = root / name
    home.mkdir(mode=0o700)
    return Serve(home, merge_stderr=True, env={"OPSGATE_DATABASE_URL": url, **keys})


def _warned(replica: Serve) -> bool:
    time.sleep(0.2)  # the reader thread may lag the start-up line
    return any(UNREADABLE in line for line in replica.lines)


@pytest.mark.postgres
def test_rolling_rotation_on_postgres_replicas(database_url: str, tmp_path: Path) -> None:
    old = base64.b64encode(os.urandom(32)).decode()
    new = _new_key(tmp_path / "new.key")
    logs: list[str] = []
    first = _replica(tmp_path, "r1", database_url, OPSGATE_SECRET_KEY=old)
    replicas = [first]
    try:
        password = owner_password(first.home)
        assert password is not None
        with httpx.Client(base_url=first.url, timeout=30) as client:
            login = client.post("/api/v1/session", json={"name": "owner", "password": password})
            assert login.status_code == 200, login.text
            for name, value in VALUES.items():
                r = client.put(f"/api/v1/secrets/{name}", json={"value": value})
                assert r.status_code == 204, r.text
        owner = {"OPSGATE_USER": "owner", "OPSGATE_PASSWORD": password}

        # 1. A replica restarted with the new key alone cannot open the old values …
        alone = _replica(tmp_path, "r-new-only", database_url, OPSGATE_SECRET_KEY=new)
        replicas.append(alone)
        assert _warned(alone)
        # … with the old one as the previous key it can.
        rolling = _replica(tmp_path, "r2", database_url, OPSGATE_SECRET_KEY=new,
                           OPSGATE_SECRET_KEY_PREVIOUS=old)  # fmt: skip
        replicas.append(rolling)
        assert not _warned(rolling), rolling.lines

        # 2. Through a replica's API: refused, nothing sent.
        through = _run("secrets", "rotate-key", "--new-key-file", str(tmp_path / "new.key"),
                       OPSGATE_URL=first.url, OPSGATE_HOME=str(first.home), **owner)  # fmt: skip
        assert through.returncode == 2 and "not through a server" in through.stderr

        # 3. The rotation, on the database, with the replicas' configuration.
        admin_home = tmp_path / "admin"
        admin_home.mkdir(mode=0o700)
        done = _run("secrets", "rotate-key", "--new-key-file", "-", stdin=new,
                    OPSGATE_DATABASE_URL=database_url, OPSGATE_HOME=str(admin_home),
                    OPSGATE_SECRET_KEY=new, OPSGATE_SECRET_KEY_PREVIOUS=old, **owner)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "re-sealed 2 secret(s)" in done.stdout and "remove" in done.stdout

        # 4. The new key alone now opens everything; the old key alone nothing.
        after = _replica(tmp_path, "r3", database_url, OPSGATE_SECRET_KEY=new)
        replicas.append(after)
        assert not _warned(after), after.lines
        stale = _replica(tmp_path, "r-old-only", database_url, OPSGATE_SECRET_KEY=old)
        replicas.append(stale)
        assert _warned(stale)

        trail = _run("audit", "export", OPSGATE_DATABASE_URL=database_url,
                     OPSGATE_HOME=str(admin_home))  # fmt: skip
        assert trail.returncode == 0, trail.stderr
        assert sum("secret.key_rotated" in line for line in trail.stdout.splitlines()) == 1
        logs += [through.stdout, through.stderr, done.stdout, done.stderr, trail.stdout]
    finally:
        for replica in replicas:
            replica.stop()
            logs.extend(replica.lines)
    _assert_absent([old, new], *logs)
    assert not any(v in "\n".join(logs) for v in VALUES.values())
