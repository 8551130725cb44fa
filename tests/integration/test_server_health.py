# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""Liveness and readiness: ``/healthz`` answers while the process is up, whatever
else is wrong; ``/readyz`` answers 503 while the audit log cannot be written (the
review: ``/healthz`` said ok while every decision was 503) and 200 again by itself
once it can."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import anyio
import pytest
from test_server_api import (  # noqa: F401  (fixtures)
    SAFE,
    ApiClient,
    Org,
    client,
    control,
    home,
    org,
)

from opsgate.server._health import Readiness


def _immutable(path: Path, on: bool) -> None:
    subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True, capture_output=True)


@pytest.fixture
def chattr(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.touch()
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    try:
        _immutable(probe, True)
        _immutable(probe, False)
    except subprocess.CalledProcessError:
        pytest.skip("this file system or user cannot set the immutable attribute")


def _ready(client: ApiClient, want: int, within: float = 5.0) -> dict[str, object]:
    deadline = time.monotonic() + within
    while True:
        r = client.get("/readyz")
        if r.status_code == want or time.monotonic() > deadline:
            assert r.status_code == want, r.text
            assert r.headers["cache-control"] == "no-store"
            return dict(r.json())
        time.sleep(0.1)


def test_ready_when_store_and_audit_answer(client: ApiClient) -> None:
    body = _ready(client, 200)
    assert body["status"] == "ready"
    assert body["checks"] == {"store": "ok", "audit": "ok"}
    assert client.get("/healthz").json()["status"] == "ok"


def test_not_ready_while_the_audit_log_cannot_be_written(
    client: ApiClient, org: Org, home: Path, chattr: None
) -> None:
    audit = [p for p in home.iterdir() if p.name.startswith("audit.db")]
    assert audit
    for path in audit:
        _immutable(path, True)
    try:
        body = _ready(client, 503)
        assert body["status"] == "unavailable"
        assert body["checks"] == {"store": "ok", "audit": "unavailable"}
        assert client.get("/healthz").status_code == 200  # alive, only not ready
        r = client.post("/api/v1/evaluate", json=SAFE, headers=org.headers("agent"))
        assert r.status_code == 503  # what /readyz predicted
    finally:
        for path in audit:
            _immutable(path, False)
    _ready(client, 200)  # by itself, no restart
    r = client.post("/api/v1/evaluate", json=SAFE, headers=org.headers("agent"))
    assert r.status_code == 200


def test_a_failing_or_hanging_probe_is_not_ready() -> None:
    release = threading.Event()

    def fails() -> None:
        raise RuntimeError("connection refused to db.internal:5432")

    def hangs() -> None:
        release.wait(10)

    readiness = Readiness(
        {"store": lambda: None, "audit": fails, "other": hangs}, ttl=0.0, timeout=0.3
    )

    async def check() -> tuple[bool, dict[str, str]]:
        return await readiness.check()

    started = time.monotonic()
    ready, checks = anyio.run(check)
    release.set()
    assert not ready
    assert checks == {"store": "ok", "audit": "unavailable", "other": "timeout"}
    assert time.monotonic() - started < 2


def test_callers_share_one_probe_round() -> None:
    calls = []

    def counted() -> None:
        calls.append(1)
        time.sleep(0.1)

    readiness = Readiness({"store": counted})

    async def many() -> list[bool]:
        results: list[bool] = []

        async def one() -> None:
            results.append((await readiness.check())[0])

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(one)
        return results

    assert anyio.run(many) == [True] * 50
    assert len(calls) == 1
