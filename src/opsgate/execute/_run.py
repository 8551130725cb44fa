"""One execution, in order: capture (values the rollback needs), backup (when the
operation requires one, as the backup account), record the resolved rollback
plan (a callback that must commit before anything writes), the steps, then the
verify steps.  The first step that fails stops the run.

All output passes through the redactor line by line before it is kept or shown;
errors from runners are redacted the same way.  What is kept is bounded
(``MAX_OUTPUT``): the start of the output and a note of what was cut.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsgate.execute import _plan
from opsgate.execute.catalog import Catalog, Operation, render
from opsgate.execute.redact import LineRedactor, OutputRedactor
from opsgate.execute.runner import Endpoint, Runner, Step, StepResult

__all__ = ["MAX_OUTPUT", "Outcome", "Output", "execute"]

MAX_OUTPUT = 256 * 1024


class Output:
    """Redacted output so far: kept (bounded) and forwarded to a live listener."""

    def __init__(self, redactor: OutputRedactor, listener: Callable[[str], None] | None) -> None:
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False
        self._listener = listener
        self._lines = LineRedactor(redactor, self._keep)
        self.redactor = redactor

    def _keep(self, text: str) -> None:
        if self._listener is not None:
            self._listener(text)
        if self._size >= MAX_OUTPUT:
            self.truncated = True
            return
        self._parts.append(text[: MAX_OUTPUT - self._size])
        self._size += len(self._parts[-1])

    def feed(self, raw: str) -> None:
        self._lines.feed(raw)

    def note(self, text: str) -> None:
        """A line of opsgate's own (step headers); still redacted."""
        self._lines.close()
        self._lines.feed(text + "\n")

    def text(self) -> str:
        self._lines.close()
        body = "".join(self._parts)
        return body + ("\n[output truncated]\n" if self.truncated else "")


@dataclass
class Outcome:
    status: str = "completed"  # completed | failed
    exit_status: int | None = 0
    reason: str | None = None
    captured: dict[str, str] = field(default_factory=dict)
    backup_file: str | None = None
    rollback: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def duration(self) -> float:
        return time.monotonic() - self.started


async def _step(
    runner: Runner,
    endpoint: Endpoint,
    step: Step,
    out: Output,
    label: str,
    collect: list[str] | None = None,
) -> StepResult:
    out.note(f"$ {label}{step.display()}")

    def sink(text: str) -> None:
        if collect is not None:
            collect.append(text)
        out.feed(text)

    try:
        result = await runner.run(endpoint, step, sink)
    except Exception as exc:  # a runner bug is a failed step, never a success
        result = StepResult(None, 0.0, f"{type(exc).__name__}: {exc}")
    if result.error:
        out.note(f"error: {result.error}")
    return result


def _failed(outcome: Outcome, result: StepResult, out: Output, what: str) -> Outcome:
    outcome.status = "failed"
    outcome.exit_status = result.exit_status
    detail = result.error or f"exit status {result.exit_status}"
    outcome.reason = out.redactor.text(f"{what} failed: {detail}")
    return outcome


async def execute(
    *,
    op: Operation,
    catalog: Catalog,
    endpoint: Endpoint,
    runner: Runner,
    params: Mapping[str, str],
    env: Mapping[str, Any],
    target: Any,
    backup_file: str,
    out: Output,
    before_write: Callable[[Outcome], Awaitable[None]],
) -> Outcome:
    outcome = Outcome()
    values = _plan.values_for(target, params)
    for name, per_runner in op.capture.items():
        collected: list[str] = []
        for step in _plan.steps_for(op, per_runner.get(runner.name, ()), values):
            result = await _step(runner, endpoint, step, out, f"[capture {name}] ", collected)
            if result.exit_status != 0:
                return _failed(outcome, result, out, f"capturing {name}")
        value = "".join(collected).strip()
        if not value or "\n" in value or len(value) > 256:
            return _failed(
                outcome, StepResult(1, 0.0, "not one short line"), out, f"capturing {name}"
            )
        outcome.captured[name] = value
    if op.requires_backup and op.backup_path:
        outcome.backup_file = backup_file
        backup = catalog.get("backup.create")
        path = render(op.backup_path, values)
        backup_values = _plan.values_for(target, {"path": path}, backup_file=backup_file)
        for step in _plan.steps_for(backup, backup.steps.get(runner.name, ()), backup_values):
            result = await _step(runner, endpoint, step, out, "[backup] ")
            if result.exit_status != 0:
                return _failed(outcome, result, out, "the backup before the write")
    values = _plan.values_for(target, params, outcome.captured, outcome.backup_file)
    outcome.rollback = _plan.rollback_for(op, values)
    await before_write(outcome)
    for step in _plan.steps_for(op, op.steps[runner.name], values, env):
        result = await _step(runner, endpoint, step, out, "")
        if result.exit_status != 0:
            return _failed(outcome, result, out, "the operation")
    for step in _plan.steps_for(op, op.verify.get(runner.name, ()), values):
        result = await _step(runner, endpoint, step, out, "[verify] ")
        if result.exit_status != 0:
            return _failed(outcome, result, out, "the verify step")
    return outcome
