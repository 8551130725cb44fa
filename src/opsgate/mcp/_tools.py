"""What each MCP tool does, as plain synchronous methods over the control plane.

Transport-free so it is tested directly; ``_server`` only registers these with
the SDK.  Every answer is a JSON-ready dict with a ``message`` an agent's model can
read as-is.  Decisions and refusals are *results* (a deny is a successful call
that says no); only malformed input raises (``InputError``).  Every result passes
through the redactor on its way out: no secret value leaves, whatever a card, a
command or an output happens to hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsgate.approvals.model import Card, CardState, Denied
from opsgate.approvals.service import ControlPlane, Principal, ProposeResult
from opsgate.audit.redact import Redactor
from opsgate.mcp._actions import MAX_TEXT, ActionKind, build_action, check_card_id, check_target
from opsgate.mcp._ops import Operations, Param, RunResult
from opsgate.models import Decision, Verdict

__all__ = ["Toolbox"]

_PROTECTION = "settings.production_protection"


class Toolbox:
    def __init__(
        self,
        control: ControlPlane,
        operations: Operations,
        *,
        public_url: str,
        redactor: Redactor | None = None,
    ) -> None:
        self.control = control
        self.operations = operations
        self.public_url = public_url.rstrip("/")
        self.redactor = redactor or Redactor()

    def link(self, card_id: str) -> str:
        return f"{self.public_url}/cards/{card_id}"

    def _out(self, result: dict[str, Any]) -> dict[str, Any]:
        cleaned: dict[str, Any] = self.redactor.document(result)
        return cleaned

    # --- reading ---------------------------------------------------------------------------
    def list_targets(self, actor: Principal) -> dict[str, Any]:
        # Name, kind, environment and access only: never the match patterns, which may
        # hold connection URLs (and credentials inside them).
        targets = [
            {
                "name": t.name,
                "kind": t.kind,
                "environment": t.environment.label,
                "access": t.access,
            }
            for t in self.control.list_targets(actor)
        ]
        protection = self.control.settings().production_protection
        message = f"{len(targets)} target(s)." + (
            " Production Protection is enabled: no write actions on production targets."
            if protection
            else ""
        )
        return self._out(
            {"message": message, "production_protection": protection, "targets": targets}
        )

    def list_operations(self, actor: Principal) -> dict[str, Any]:
        ops = self.operations.list_operations(actor)
        return self._out(
            {
                "message": f"{len(ops)} operation(s). Read-only ones run with run_read_only; "
                "write ones need propose_operation and a person's approval.",
                "operations": ops,
            }
        )

    def get_card(self, actor: Principal, card_id: str) -> dict[str, Any]:
        try:
            card = self.control.get_card(actor, check_card_id(card_id))
            execution = self.operations.result(actor, card.id)
        except Denied as exc:
            return self._refused(exc)
        out = self._card(card)
        if execution is not None:
            out["execution"] = execution
            out["message"] += f" Execution: {execution.get('status', 'unknown')}."
        return self._out(out)

    # --- deciding and proposing -------------------------------------------------------------
    def evaluate_action(
        self, actor: Principal, kind: ActionKind, **fields: str | None
    ) -> dict[str, Any]:
        action = build_action(kind, **fields)
        try:
            decision = self.control.evaluate(actor, action)
        except Denied as exc:
            return self._refused(exc)
        return self._out(_decision(decision))

    def propose_action(
        self,
        actor: Principal,
        kind: ActionKind,
        *,
        reasoning: str = "",
        rollback: str = "",
        **fields: str | None,
    ) -> dict[str, Any]:
        action = build_action(kind, **fields)
        try:
            result = self.control.propose(
                actor, action, reasoning=_text(reasoning), rollback=_text(rollback)
            )
        except Denied as exc:
            return self._refused(exc)
        return self._out(self._proposed(result))

    def propose_operation(
        self,
        actor: Principal,
        operation: str,
        target: str,
        parameters: Mapping[str, Param],
        reasoning: str = "",
    ) -> dict[str, Any]:
        host = check_target(target) or ""
        try:
            result = self.operations.propose_operation(
                actor, operation, host, dict(parameters), reasoning=_text(reasoning)
            )
        except Denied as exc:
            return self._refused(exc)
        return self._out(self._proposed(result))

    def run_read_only(
        self, actor: Principal, operation: str, target: str, parameters: Mapping[str, Param]
    ) -> dict[str, Any]:
        host = check_target(target) or ""
        try:
            run = self.operations.run_read_only(actor, operation, host, dict(parameters))
        except Denied as exc:
            return self._refused(exc)
        return self._out(_run(run))

    def execute_card(self, actor: Principal, card_id: str) -> dict[str, Any]:
        try:
            card = self.control.get_card(actor, check_card_id(card_id))
        except Denied as exc:
            return self._refused(exc)
        if card.state is not CardState.APPROVED:
            return self._out(
                {
                    **self._card(card),
                    "message": f"Card {card.id} is {card.state.value}; only an approved card "
                    "runs. " + _next_step(card),
                }
            )
        try:
            run = self.operations.execute_card(actor, card)
        except Denied as exc:
            return self._refused(exc)
        return self._out({**_run(run), "card_id": card.id, "link": self.link(card.id)})

    # --- shaping answers ---------------------------------------------------------------------
    def _refused(self, exc: Denied) -> dict[str, Any]:
        return self._out({"status": "refused", "code": exc.code, "message": exc.reason})

    def _proposed(self, result: ProposeResult) -> dict[str, Any]:
        decision = result.decision
        base = _decision(decision)
        if result.card is not None:
            card = self._card(result.card)
            return {
                **base,
                **card,
                "card_created": True,
                "message": f"Approval card {result.card.id} was created and is waiting for a "
                f"person: {result.card.description}. Nothing runs until it is approved. "
                f"Check it with get_card (link: {card['link']}).",
            }
        if decision.verdict is Verdict.ALLOW:
            status = "allowed_by_grant" if result.grant is not None else "allowed"
            return {**base, "status": status, "card_created": False}
        return {**base, "status": "refused", "card_created": False}

    def _card(self, card: Card) -> dict[str, Any]:
        out: dict[str, Any] = {
            "card_id": card.id,
            "status": card.state.value,
            "description": card.description,
            "target": card.target,
            "environment": card.environment.label,
            "impact": card.impact.label,
            "link": self.link(card.id),
            "created_at": card.created_at,
            "expires_at": card.expires_at,
            "approvals": len(card.approvals),
            "approvers_needed": card.approvers_needed,
            "action": card.action,
            "message": f"Card {card.id} is {card.state.value}: {card.description}. "
            + _next_step(card),
        }
        if card.reason:
            out["reason"] = card.reason
        if card.result:
            out["result"] = card.result
        return out


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        from opsgate.errors import InputError

        raise InputError(f"free text is longer than {MAX_TEXT} characters")
    return value


def _next_step(card: Card) -> str:
    return {
        CardState.PENDING: "Waiting for a person's approval; check again later.",
        CardState.APPROVED: "Approved: it runs through opsgate (execute_card for an operation),"
        " or retry the identical action once.",
        CardState.EXECUTING: "Running now; check again for the result.",
        CardState.COMPLETED: "Finished; the result is attached.",
        CardState.FAILED: "Failed; see the reason and result, and verify before retrying.",
        CardState.DENIED: "A person denied it; do not retry the same action.",
        CardState.EXPIRED: "Expired (nobody decided, or the approval was not used in time); "
        "propose it again if still needed.",
        CardState.CANCELLED: f"Cancelled: {card.reason or 'no reason given'}. Do not retry it "
        "as it is; what it needed no longer holds.",
        CardState.USED: "Approved and used: the identical retry ran once; a new run needs a new "
        "card.",
    }[card.state]


def _decision(decision: Decision) -> dict[str, Any]:
    target = decision.classification.target
    out: dict[str, Any] = {
        "decision": decision.verdict.value,
        "impact": decision.impact.label,
        "environment": decision.environment.label,
        "target": target,
        "decided_by": decision.decided_by,
        "reasons": list(decision.reasons),
        "categories": list(decision.classification.categories),
    }
    if decision.suggestion:
        out["what_to_do"] = decision.suggestion
    if decision.decided_by == _PROTECTION:
        where = f" such as {target}" if target else ""
        out["message"] = (
            f"Production Protection is enabled: opsgate does not propose or run write actions "
            f"on production targets{where}. No approval card was created. What to do: "
            f"{decision.suggestion}."
        )
    elif decision.verdict is Verdict.DENY:
        out["message"] = f"Refused: {' '.join(decision.reasons)}" + (
            f" What to do: {decision.suggestion}." if decision.suggestion else ""
        )
    elif decision.verdict is Verdict.REQUIRE_APPROVAL:
        out["message"] = (
            f"Needs a person's approval ({decision.impact.label}, "
            f"{decision.environment.label}): {' '.join(decision.reasons)} Call propose_action "
            "to create an approval card."
        )
    else:
        out["message"] = f"Allowed: {' '.join(decision.reasons)}"
    return out


def _run(run: RunResult) -> dict[str, Any]:
    out: dict[str, Any] = {"status": run.status, "message": run.message}
    if run.output:
        out["output"] = run.output
    if run.exit_code is not None:
        out["exit_code"] = run.exit_code
    if run.duration_ms is not None:
        out["duration_ms"] = run.duration_ms
    if run.card_id:
        out["card_id"] = run.card_id
    out.update(run.extra)
    return out
