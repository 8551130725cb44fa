"""Shared setup for the executor tests: a real control plane (SQLite file or
PostgreSQL), people and an agent token, and an executor with a test catalog.

The test catalog adds operations that make the executor's guarantees observable
(they print canaries, sleep, append to a file) on top of the built-ins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher

from opsgate.approvals import _control_people
from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.model import Role
from opsgate.approvals.service import Principal
from opsgate.audit import open_log
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog
from opsgate.store import open_store

PASSWORD = "correct horse battery"
CANARY = "canary-7Hq2xVb9LmZ4pR8s"  # a stored secret value that must never be seen

TEST_OPS = """
version: 1
operations:
  - name: test.say
    description: print a text as one argument
    effect: read
    impact: safe
    targets: [server]
    params:
      text: {type: string, pattern: "^[^\\\\n]{1,1000}$"}
    steps:
      ssh: [{argv: [printf, "%s\\\\n", "{text}"]}]
      local: [{argv: [printf, "%s\\\\n", "{text}"]}]
    rollback: {description: "nothing to roll back"}

  - name: test.leak
    description: try every way of printing a secret
    effect: write
    impact: caution
    targets: [server]
    params:
      token: {type: secret, allowed: [api_token, canary]}
    env: {API_TOKEN: "{token}"}
    steps:
      ssh: &leak
        - argv: [sh, -c, 'echo "plain $API_TOKEN"; printf %s "$API_TOKEN" | base64;
                 env; echo "error: bad token $API_TOKEN" >&2; exit 3']
      local: *leak
    rollback: {description: "nothing to roll back"}

  - name: test.append
    description: append a line to a file, once per run
    effect: write
    impact: caution
    targets: [server]
    params:
      file: {type: path}
      line: {type: string, pattern: "^[A-Za-z0-9_]{1,64}$"}
      sleep: {type: int, min: 0, max: 60, default: 0}
    steps:
      local: &append
        - argv: [sh, -c, 'echo "$2" >> "$1"; sleep "$3"', sh, "{file}", "{line}", "{sleep}"]
      ssh: *append
    rollback: {description: "remove the line by hand"}

  - name: test.rm
    description: delete a file (as the operating user)
    effect: write
    impact: destructive
    targets: [server]
    params:
      path: {type: path}
    steps:
      ssh: [{argv: [rm, -f, "{path}"]}]
    verify:
      ssh: [{argv: [test, '!', -e, "{path}"]}]
    rollback: {description: "restore from a backup"}
"""


def cheap_argon2() -> None:
    _control_people._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Org:
    cp: SqlControlPlane
    ex: Executor
    owner: Principal
    admin: Principal
    member: Principal
    agent: Principal
    agent2: Principal

    def events(self) -> list[str]:
        return [e.event for e in self.cp.audit.entries()]


def write_ops(home: Path) -> Path:
    path = home / "operations" / "test.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEST_OPS)
    return path


def people(cp: SqlControlPlane) -> dict[str, Principal]:
    cp.create_user(None, "olivia", PASSWORD, Role.OWNER)
    owner = cp.session(cp.login("olivia", PASSWORD)[1])
    assert owner is not None
    out = {"owner": owner}
    for key, name, role in (("admin", "adam", Role.ADMIN), ("member", "mia", Role.MEMBER)):
        cp.create_user(owner, name, PASSWORD, role)
        principal = cp.session(cp.login(name, PASSWORD)[1])
        assert principal is not None
        out[key] = principal
    for key, name in (("agent", "claude"), ("agent2", "codex")):
        principal = cp.token(cp.create_token(owner, name, Role.AGENT)[1])
        assert principal is not None
        out[key] = principal
    return out


def open_cp(home: Path, url: str | None = None) -> SqlControlPlane:
    return SqlControlPlane(open_store(home, url), open_log(home, url), data_dir=home)


@contextmanager
def org(home: Path, url: str | None = None, **executor: object) -> Iterator[Org]:
    cheap_argon2()
    home.mkdir(parents=True, exist_ok=True)
    write_ops(home)
    cp = open_cp(home, url)
    try:
        who = people(cp)
        ex = Executor(cp, catalog=load_catalog(home, env={}), **executor)  # type: ignore[arg-type]
        ex.set_secret(who["admin"], "canary", CANARY)
        yield Org(cp, ex, **who)
    finally:
        cp.close()


def everything_stored(home: Path) -> bytes:
    """Every byte opsgate keeps in its data directory (database, WAL, audit log)."""
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())
