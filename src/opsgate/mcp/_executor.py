"""``Operations`` over the executor (``opsgate.execute``), when it is installed.

The executor holds the catalog, the credentials and the runners; this adapter
only translates: its JSON catalog as is, its ``ExecutionResult`` into a
``RunResult``, its coroutines run to completion from the tool's worker thread.
Imported lazily and typed loosely on purpose: the MCP server works, with
``PlannedOperations``, in a build without the executor.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
import anyio.from_thread

from opsgate.approvals.model import Card
from opsgate.approvals.service import ControlPlane, Principal, ProposeResult
from opsgate.mcp._ops import Operations, Param, RunResult, RunStatus

__all__ = ["ExecutorOperations", "executor_operations"]

T = TypeVar("T")
_STATUS: dict[str, RunStatus] = {"completed": "completed", "failed": "failed", "refused": "refused"}


def executor_operations(control: ControlPlane) -> Operations | None:
    """The executor on ``control``, or None when this build has no executor."""
    try:
        execute = importlib.import_module("opsgate.execute")
    except ModuleNotFoundError as exc:
        if exc.name != "opsgate.execute":
            raise
        return None
    return ExecutorOperations(execute.Executor(control))


def _complete(work: Callable[[], Awaitable[T]]) -> T:
    """Await ``work`` from a synchronous tool: on the server's event loop when called
    from its worker thread, else on a loop of our own (tests, scripts)."""

    async def main() -> T:
        return await work()

    try:
        return anyio.from_thread.run(main)
    except anyio.NoEventLoopError:
        return asyncio.run(main())


def _run_result(found: Any, message: str) -> RunResult:
    data: dict[str, Any] = found.to_json()
    status = _STATUS.get(str(data.get("status")), "running")
    return RunResult(
        status,
        data.get("reason") or message,
        output=str(data.get("output") or ""),
        exit_code=data.get("exit_status"),
        duration_ms=round(data["duration"] * 1000, 1) if data.get("duration") else None,
        card_id=data.get("id") if str(data.get("id", "")).startswith("c_") else None,
        extra={"operation": data.get("operation"), "target": data.get("target")},
    )


class ExecutorOperations:
    def __init__(self, executor: Any) -> None:
        self.executor = executor

    def list_operations(self, actor: Principal) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = self.executor.list_operations()
        return ops

    def propose_operation(
        self,
        actor: Principal,
        name: str,
        target: str,
        params: Mapping[str, Param],
        *,
        reasoning: str = "",
    ) -> ProposeResult:
        result: ProposeResult = self.executor.propose_operation(
            actor, name, target, dict(params), reasoning
        )
        return result

    def run_read_only(
        self, actor: Principal, name: str, target: str, params: Mapping[str, Param]
    ) -> RunResult:
        found = _complete(lambda: self.executor.run_read_only(actor, name, target, dict(params)))
        return _run_result(found, f"{name} on {target}")

    def execute_card(self, actor: Principal, card: Card) -> RunResult:
        found = _complete(lambda: self.executor.run(card.id))
        if found is None:
            found = self.executor.result(actor, card.id)
        if found is None:
            return RunResult("refused", f"card {card.id} is not an operation opsgate runs")
        return _run_result(found, f"card {card.id}")

    def result(self, actor: Principal, card_id: str) -> dict[str, Any] | None:
        found = self.executor.result(actor, card_id)
        if found is None:
            return None
        data: dict[str, Any] = found.to_json()
        # What the agent needs to follow its card; the plan and the captured rollback
        # values stay with the approver.
        keep = ("status", "exit_status", "duration", "output", "reason", "started_at",
                "finished_at")  # fmt: skip
        return {k: data.get(k) for k in keep}
