"""The MCP server wired to the executor, end to end over a real OpenSSH server on
loopback: the agent proposes a staging restart over MCP, an admin approves, the
agent runs the approved card through ``execute_card`` and sees the result; a
read-only operation runs at once; a stored secret never reaches the agent.

Needs ``opsgate.execute`` and the SSH test server (``tests/sshd_server.py``) from
the executor's branch; skipped in a build without them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from test_mcp_server import Client, stdio

from mcp_org import Org, make_org

execute = pytest.importorskip("opsgate.execute")
sshd_server = pytest.importorskip("sshd_server")

from opsgate.environments import InventoryTarget  # noqa: E402
from opsgate.models import Environment  # noqa: E402

pytestmark = pytest.mark.skipif(
    sshd_server.missing_reason() is not None, reason=str(sshd_server.missing_reason())
)
SECRET = "mcpcanary-Zq81Lk3vPw0s"


@pytest.fixture(scope="module")
def server() -> Iterator[object]:
    with sshd_server.sshd() as s:
        yield s


@pytest.fixture
def org(tmp_path: Path, server: object) -> Iterator[Org]:
    o = make_org(tmp_path / "home")
    executor = execute.Executor(o.control)
    executor.set_secret(o.admin, "op_key", server.op_key)  # type: ignore[attr-defined]
    executor.set_secret(o.admin, "bk_key", server.bk_key)  # type: ignore[attr-defined]
    executor.set_secret(o.admin, "canary", SECRET)
    target = InventoryTarget(
        "web-staging", "server", Environment.STAGING, connection=server.connection()
    )  # type: ignore[attr-defined,call-arg]
    me = o.control.session(o.control.login("owner", "owner password!")[1])
    assert me is not None
    o.control.put_target(me, target)
    yield o
    o.close()


def test_agent_proposes_admin_approves_executor_runs_over_ssh(org: Org, server: object) -> None:
    async def scenario() -> None:
        async with stdio(org, org.agent_token) as client:
            await flow(client, org, server)

    anyio.run(scenario)


async def flow(client: Client, org: Org, server: object) -> None:
    ops = await client.call("list_operations")
    names = {op["name"] for op in ops["operations"]}
    assert {"service.restart", "logs.read"} <= names

    logs = await client.call("run_read_only", operation="logs.read", target="web-staging",
                             parameters={"service": "web", "lines": 5})  # fmt: skip
    assert logs["status"] == "completed", logs
    assert "listening on :8080" in logs["output"]

    before = len(server.called())  # type: ignore[attr-defined]
    proposed = await client.call("propose_operation", operation="service.restart",
                                 target="web-staging", parameters={"service": "web"})  # fmt: skip
    assert proposed["status"] == "pending", proposed
    card_id = proposed["card_id"]
    early = await client.call("execute_card", card_id=card_id)
    assert early["status"] == "pending"  # nothing runs before approval
    assert len(server.called()) == before  # type: ignore[attr-defined]

    org.control.approve(org.admin, card_id, None)
    ran = await client.call("execute_card", card_id=card_id)
    assert ran["status"] == "completed", ran
    assert ran["exit_code"] == 0
    card = await client.call("get_card", card_id=card_id)
    assert card["status"] == "completed"
    assert card["execution"]["status"] == "completed"
    again = await client.call("execute_card", card_id=card_id)
    assert again["status"] == "completed"  # reported, not re-run
    assert server.called()[before:] == ["systemctl restart web", "systemctl is-active web"]  # type: ignore[attr-defined]

    everything = "\n".join(client.seen)
    assert SECRET not in everything
    assert server.op_key.strip().splitlines()[1] not in everything  # type: ignore[attr-defined]
