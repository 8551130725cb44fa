# ruff: noqa: F811  (pytest fixtures imported from test_server_api are redefined as parameters)
"""The executor's background runner announces ``card.executing`` then
``card.completed`` / ``card.failed`` through ``AppState.announce``: open consoles get
them at once on the in-process bus (not only from the 0.5 s store watcher), and
the notification webhook hears how an approved operation ended."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from test_server_api import ApiClient, Org, control, home, make_org  # noqa: F401  (fixtures)
from test_server_notify import Receiver

from execute_env import write_ops
from opsgate.approvals.control import SqlControlPlane
from opsgate.approvals.service import ControlPlane
from opsgate.environments import InventoryTarget
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog
from opsgate.models import Environment
from opsgate.server import AppConfig, create_app
from opsgate.server.notify import NotifyConfig


def _client(cp: ControlPlane, data: Path, receiver: Receiver) -> tuple[ApiClient, Org]:
    assert isinstance(cp, SqlControlPlane)
    write_ops(data)
    executor = Executor(cp, catalog=load_catalog(data, env={}), local_runner=True)
    org = make_org(cp)
    cp.put_target(
        org.principals["owner"],
        InventoryTarget("box", "server", Environment.STAGING, connection=(("runner", "local"),)),
    )
    notify = NotifyConfig(webhook_url=f"{receiver.url}/hook", backoff=0.01)
    app = create_app(cp, config=AppConfig(expire_interval=0), notify=notify, executor=executor)
    return ApiClient(app), org


class Tap:
    """A real subscriber of the app's bus, on the app's own event loop: the events
    this process announced (``source: app``), in order, per card."""

    def __init__(self, client: ApiClient) -> None:
        self.events: list[dict[str, Any]] = []
        self.client = client
        bus = client.app.state.og.bus
        ready = asyncio.Event()

        async def listen() -> None:
            async with bus.subscribe() as queue:
                ready.set()
                while (event := await queue.get()) is not None:
                    self.events.append(event)

        async def started() -> None:
            await ready.wait()

        self.task = client.portal.start_task_soon(listen)
        client.portal.call(started)

    def of(self, card_id: str, until: str, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            got = [e["event"] for e in list(self.events)
                   if e["card"]["id"] == card_id and e.get("source") == "app"]  # fmt: skip
            if until in got or time.monotonic() > deadline:
                return got
            time.sleep(0.02)


def _propose_and_approve(client: ApiClient, org: Org, name: str, params: dict[str, Any]) -> str:
    proposed = client.post(f"/api/v1/operations/{name}/propose",
                           json={"target": "box", "params": params, "reasoning": "why"},
                           headers=org.headers("agent"))  # fmt: skip
    assert proposed.status_code == 200, proposed.text
    card_id = str(proposed.json()["card"]["id"])
    approved = client.post(f"/api/v1/cards/{card_id}/approve", json={},
                           headers=org.headers("admin"))  # fmt: skip
    assert approved.status_code == 200, approved.text
    return card_id


def test_execution_is_announced_on_the_bus_in_order_and_notified(
    control: ControlPlane, home: Path
) -> None:
    receiver = Receiver()
    client, org = _client(control, home, receiver)
    target = home / "appended.txt"
    try:
        with client:
            tap = Tap(client)
            ok = _propose_and_approve(client, org, "test.append",
                                      {"file": str(target), "line": "once"})  # fmt: skip
            assert tap.of(ok, "card.completed") == [
                "card.created", "card.approved", "card.executing", "card.completed"
            ]  # fmt: skip
            put = client.put("/api/v1/secrets/api_token", json={"value": "t" * 12},
                             headers=org.headers("admin"))  # fmt: skip
            assert put.status_code == 204
            # test.leak exits 3 on purpose: a failed run.
            bad = _propose_and_approve(client, org, "test.leak", {"token": "secret:api_token"})
            assert tap.of(bad, "card.failed") == [
                "card.created", "card.approved", "card.executing", "card.failed"
            ]  # fmt: skip
            done = {e["card"]["id"]: e["card"]["state"] for e in tap.events
                    if e["event"] in ("card.completed", "card.failed")}  # fmt: skip
            assert done == {ok: "completed", bad: "failed"}
            delivered = [json.loads(body) for _, _, body in receiver.wait(6)]
    finally:
        receiver.close()
    assert target.read_text() == "once\n"  # ran exactly once
    by_card = {(p["card"]["id"], p["event"]) for p in delivered}
    # People hear the outcome; "executing" is for the live console only.
    assert (ok, "card.completed") in by_card and (bad, "card.failed") in by_card
    assert not any(p["event"] == "card.executing" for p in delivered)
    assert {p["card"]["state"] for p in delivered if p["card"]["id"] == bad} >= {"failed"}
