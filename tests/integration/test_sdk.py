"""The Python SDK against a real ``opsgate serve``: the example tool-calling loop
runs; a gated function does not run when denied; an approved card lets it run
once; the same sync and async, as a decorator and as a context manager; and any
failure to ask is an error, never a run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from test_server_socket import login, owner_password

from opsgate import (
    ActionDenied,
    ApprovalRequired,
    CardInfo,
    CardTimeout,
    Gate,
    GateUnavailable,
)
from opsgate.models import Verdict
from servers import Serve, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent_loop.py"
RESTART = "kubectl --context staging rollout restart deploy/api"


@dataclass
class Plane:
    served: Serve
    admin: dict[str, str]
    token: str

    @property
    def url(self) -> str:
        return self.served.url

    def decide(self, card: CardInfo | str, verb: str = "approve") -> None:
        card_id = card if isinstance(card, str) else card.id
        body = {} if verb == "approve" else {"reason": "not now"}
        r = httpx.post(f"{self.url}/api/v1/cards/{card_id}/{verb}", json=body, headers=self.admin)
        assert r.status_code == 200, r.text

    def pending(self) -> list[str]:
        got = httpx.get(f"{self.url}/api/v1/cards", params={"state": "pending"}, headers=self.admin)
        return [c["id"] for c in got.json()["items"]]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    served = Serve(tmp_path_factory.mktemp("sdk") / "home")
    try:
        owner = login(served.url, "owner", owner_password(served))
        adam = {"name": "adam", "password": "admin password!", "role": "admin"}
        assert httpx.post(f"{served.url}/api/v1/users", headers=owner, json=adam).status_code == 201
        token = httpx.post(f"{served.url}/api/v1/tokens", headers=owner,
                           json={"name": "my-loop"}).json()["secret"]  # fmt: skip
        yield Plane(served, login(served.url, "adam", "admin password!"), token)
    finally:
        served.stop()


@pytest.fixture
def gate(plane: Plane, tmp_path: Path) -> Iterator[Gate]:
    with Gate(plane.url, plane.token, cwd=str(tmp_path)) as g:
        yield g


def test_the_example_loop_runs(plane: Plane, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update({"OPSGATE_URL": plane.url, "OPSGATE_TOKEN": plane.token,
                "OPSGATE_HOME": str(tmp_path / "home")})  # fmt: skip
    log = tmp_path / "actions.log"
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--wait", "60", "--log", str(log)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:  # a person approves
        for card in plane.pending():
            plane.decide(card)
        time.sleep(0.2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert "opsgate denied this" in out and "safeguard.secrets" in out  # the secret read
    assert "waiting for a person to approve: http" in out
    assert log.read_text() == "restart nginx on web-staging\n"  # once, after approval
    assert "model: done" in out


def test_a_gated_function_does_not_run_when_denied(gate: Gate) -> None:
    ran: list[str] = []

    @gate.gated(lambda path: {"tool": "Read", "input": {"file_path": path}})
    def read_key(path: str) -> None:
        ran.append(path)

    with pytest.raises(ActionDenied) as denied:
        read_key("~/.ssh/id_rsa")
    assert ran == [] and denied.value.answer is not None
    assert denied.value.answer.decided_by == "safeguard.secrets"
    with pytest.raises(ActionDenied), gate.guard("cat ~/.aws/credentials"):
        ran.append("block")
    assert ran == []
    answer = gate.check("ls -la")
    assert answer.allowed and answer.verdict is Verdict.ALLOW and answer.card is None


def test_an_approved_card_lets_it_run_once(gate: Gate, plane: Plane) -> None:
    ran: list[str] = []

    @gate.gated("kubectl --context staging rollout restart deploy/{name}")
    def restart(name: str) -> str:
        ran.append(name)
        return "restarted"

    with pytest.raises(ApprovalRequired) as needed:
        restart("api")
    card = needed.value.card
    assert card is not None and card.pending and card.link.endswith(f"/cards/{card.id}")
    assert ran == []
    with pytest.raises(CardTimeout):
        gate.wait_for(card, timeout=0.3)  # nobody has decided yet
    threading.Timer(0.5, plane.decide, args=(card,)).start()
    approved = gate.wait_for(card, timeout=30)
    assert approved.state == "approved"
    assert restart("api") == "restarted" and ran == ["api"]  # once, on the grant
    with pytest.raises(ApprovalRequired) as again:
        restart("api")  # the grant is used up: a new card
    assert again.value.card is not None and again.value.card.id != card.id and ran == ["api"]
    plane.decide(again.value.card, "deny")
    with pytest.raises(ActionDenied, match="denied"):
        gate.wait_for(again.value.card, timeout=5)


def test_async_functions_and_async_with(gate: Gate, plane: Plane) -> None:
    ran: list[str] = []

    @gate.gated()  # the call itself is the action: mcp__python__get_status(service=…)
    async def get_status(service: str) -> str:
        ran.append(f"status {service}")
        return "active"

    @gate.gated("kubectl --context staging delete namespace {name}")
    async def delete_namespace(name: str) -> None:
        ran.append(f"deleted {name}")

    def approve(card: CardInfo) -> None:  # as a person would, typing the name
        shown = httpx.get(f"{plane.url}/api/v1/cards/{card.id}", headers=plane.admin).json()
        httpx.post(f"{plane.url}/api/v1/cards/{card.id}/approve", headers=plane.admin,
                   json={"confirmation": shown["confirm"]})  # fmt: skip

    async def scenario() -> None:
        assert await get_status("web") == "active"
        with pytest.raises(ApprovalRequired) as needed:
            await delete_namespace("shop")
        card = needed.value.card
        assert card is not None and card.impact == "destructive"
        assert ran == ["status web"]
        threading.Timer(0.3, approve, args=(card,)).start()
        assert (await gate.await_for(card, timeout=30)).state == "approved"
        await delete_namespace("shop")
        async with gate.guard("ls") as answer:
            assert answer.allowed
            ran.append("listed")
        with pytest.raises(ActionDenied):
            async with gate.guard("cat .env"):
                ran.append("leaked")
        assert (await gate.acheck("git status")).allowed

    asyncio.run(scenario())
    assert ran == ["status web", "deleted shop", "listed"]


def test_failing_to_ask_is_an_error_not_a_run(plane: Plane, tmp_path: Path) -> None:
    ran: list[int] = []
    for gate in (Gate(plane.url, "og_not_a_token"), Gate(f"http://127.0.0.1:{free_port()}", "x")):
        with gate:

            @gate.gated("ls")
            def listing() -> None:
                ran.append(1)

            with pytest.raises(GateUnavailable):
                listing()
    assert ran == []


def test_in_process_and_policy_only(plane: Plane, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # The control plane in this process, on the server's own data directory.
    with Gate(token=plane.token, data_dir=plane.served.home, cwd=str(tmp_path)) as local:
        answer = local.check(RESTART + "-in-process")
        assert answer.verdict is Verdict.REQUIRE_APPROVAL and answer.card is not None
        assert answer.card.id in plane.pending()  # the same cards the server shows
    # No control plane at all: the local policy decides; nobody can approve.
    for name in ("OPSGATE_URL", "OPSGATE_TOKEN", "OPSGATE_POLICY", "OPSGATE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPSGATE_HOME", str(tmp_path / "alone"))
    with Gate(cwd=str(tmp_path)) as alone, pytest.raises(GateUnavailable, match="does not exist"):
        alone.check("ls")  # a named data directory must exist: never a new, empty one
    assert not (tmp_path / "alone").exists()
    (tmp_path / "alone").mkdir()
    with Gate(cwd=str(tmp_path)) as alone:
        assert alone.check("ls").allowed
        with pytest.raises(ActionDenied, match="no control plane"):
            alone.require(RESTART)
