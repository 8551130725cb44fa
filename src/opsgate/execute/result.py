"""What a caller may see of an execution (everything but secret values), made from
its stored record."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ExecutionResult", "from_row", "with_output"]


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What a caller may see of an execution: everything but secret values."""

    id: str  # the card id, or x_… for a read-only run
    operation: str
    target: str
    status: str  # planned | running | completed | failed | refused
    exit_status: int | None = None
    duration: float | None = None
    output: str = ""
    reason: str | None = None
    plan: dict[str, Any] = field(default_factory=dict)
    captured: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    decision: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "target": self.target,
            "status": self.status,
            "exit_status": self.exit_status,
            "duration": self.duration,
            "output": self.output,
            "reason": self.reason,
            "plan": self.plan,
            "captured": self.captured,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "decision": self.decision,
        }


def from_row(row: Mapping[str, Any]) -> ExecutionResult:
    return ExecutionResult(
        id=row["card_id"],
        operation=row["operation"],
        target=row["target"],
        status=row["status"],
        exit_status=row["exit_status"],
        duration=row["duration"],
        output=row["output"] or "",
        reason=row["reason"],
        plan=dict(row["plan"]),
        captured=dict(row["captured"] or {}),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def with_output(result: ExecutionResult, output: str) -> ExecutionResult:
    """``result`` with the output of a run still in progress (read from memory)."""
    return dataclasses.replace(result, output=output)
