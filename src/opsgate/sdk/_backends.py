"""Where a ``Gate`` asks: a control plane over HTTP (a URL and an agent token), the
control plane in this process (its data directory and an agent token), or the
policy alone (no control plane: nobody to approve, so a card is a deny — as the
hook answers without one).  Each is a small class with the same four methods;
each imports what it needs only when it is first used, so ``import opsgate``
stays light and the HTTP client loads no server stack."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from opsgate.models import Action
from opsgate.sdk._types import Answer, CardInfo, GateUnavailable

if TYPE_CHECKING:
    import httpx

    from opsgate.approvals.service import ControlPlane, Principal

__all__ = ["Backend", "InProcess", "PolicyOnly", "Remote"]

T = TypeVar("T")


class Backend(Protocol):
    def propose(self, action: Action, reasoning: str, rollback: str) -> Answer: ...

    def card(self, card_id: str) -> CardInfo: ...

    async def apropose(self, action: Action, reasoning: str, rollback: str) -> Answer: ...

    async def acard(self, card_id: str) -> CardInfo: ...

    def close(self) -> None: ...


async def _in_thread(work: Callable[..., T], *args: Any) -> T:
    import asyncio  # here: a synchronous program never loads it

    return await asyncio.to_thread(work, *args)


def _body(action: Action, reasoning: str, rollback: str) -> dict[str, Any]:
    return {
        "tool": action.tool,
        "input": action.input,
        "cwd": action.cwd,
        "project_dir": action.project_dir,
        "session": action.session,
        "reasoning": reasoning,
        "rollback": rollback,
    }


def _answer(data: dict[str, Any]) -> Answer:
    card = data.get("card")
    info = CardInfo.from_json(card, data.get("link")) if isinstance(card, dict) else None
    grant = data.get("grant")
    return Answer.from_json(
        data["decision"], info, grant.get("id") if isinstance(grant, dict) else None
    )


class Remote:
    """The HTTP API: ``POST /api/v1/propose``, ``GET /api/v1/cards/{id}``.  Needs
    ``httpx`` (``pip install 'opsgate[sdk]'``)."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._client: httpx.Client | None = None

    def _httpx(self) -> Any:
        try:
            import httpx
        except ModuleNotFoundError as exc:
            raise GateUnavailable(
                "the remote gate needs httpx", hint="pip install 'opsgate[sdk]'"
            ) from exc
        return httpx

    def _sync(self) -> httpx.Client:
        if self._client is None:
            self._client = self._httpx().Client(
                base_url=self.url, headers=self._headers, timeout=self._timeout
            )
        return self._client

    def propose(self, action: Action, reasoning: str, rollback: str) -> Answer:
        body = _body(action, reasoning, rollback)
        return _answer(self._call(lambda c: c.post("/api/v1/propose", json=body)))

    def card(self, card_id: str) -> CardInfo:
        data = self._call(lambda c: c.get(f"/api/v1/cards/{card_id}"))
        return CardInfo.from_json(data)

    async def apropose(self, action: Action, reasoning: str, rollback: str) -> Answer:
        body = _body(action, reasoning, rollback)
        return _answer(await self._acall("POST", "/api/v1/propose", body))

    async def acard(self, card_id: str) -> CardInfo:
        return CardInfo.from_json(await self._acall("GET", f"/api/v1/cards/{card_id}", None))

    def _call(self, send: Any) -> dict[str, Any]:
        httpx = self._httpx()
        try:
            response = send(self._sync())
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return self._json(response)

    async def _acall(self, method: str, path: str, body: Any) -> dict[str, Any]:
        # One client per call: an AsyncClient belongs to the event loop that made it,
        # and a program may run several loops (``asyncio.run`` per step).
        httpx = self._httpx()
        try:
            async with httpx.AsyncClient(
                base_url=self.url, headers=self._headers, timeout=self._timeout
            ) as client:
                response = await client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return self._json(response)

    def _unreachable(self, exc: Exception) -> GateUnavailable:
        return GateUnavailable(
            f"opsgate at {self.url} is unreachable ({type(exc).__name__})",
            hint="check the URL and that `opsgate serve` runs; nothing was run",
        )

    def _json(self, response: Any) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 400 or not isinstance(data, dict):
            error = data.get("error", {}) if isinstance(data, dict) else {}
            message = error.get("message") if isinstance(error, dict) else None
            hint = (
                "use an agent token from `opsgate tokens create NAME`"
                if response.status_code == 401
                else None
            )
            raise GateUnavailable(
                f"opsgate answered {response.status_code}: {message or 'no answer'}", hint=hint
            )
        return data

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class InProcess:
    """The control plane in this process (``opsgate[server]``): the same service the
    API calls, on the data directory (or ``OPSGATE_DATABASE_URL``), as the agent the
    token names.  For programs that run where opsgate's data lives; an agent that
    must not reach that data talks to a remote control plane instead."""

    def __init__(self, token: str, data_dir: Path | None = None, *, base_url: str = "") -> None:
        from opsgate.approvals.control import open_control_plane

        self._control: ControlPlane = open_control_plane(data_dir)
        found = self._control.token(token)
        if found is None:
            self.close()
            raise GateUnavailable(
                "the agent token is unknown or revoked",
                hint="create one with `opsgate tokens create NAME`",
            )
        self._me: Principal = found
        self._base = (base_url or "http://127.0.0.1:8470").rstrip("/")

    def propose(self, action: Action, reasoning: str, rollback: str) -> Answer:
        from opsgate.approvals.model import Denied

        try:
            result = self._control.propose(self._me, action, reasoning=reasoning,
                                           rollback=rollback)  # fmt: skip
        except Denied as exc:
            raise GateUnavailable(exc.reason) from exc
        card = self._info(result.card) if result.card is not None else None
        grant = result.grant.id if result.grant is not None else None
        return Answer.from_json(result.decision.to_json(), card, grant)

    def card(self, card_id: str) -> CardInfo:
        from opsgate.approvals.model import Denied

        try:
            return self._info(self._control.get_card(self._me, card_id))
        except Denied as exc:
            raise GateUnavailable(exc.reason) from exc

    def _info(self, card: Any) -> CardInfo:
        from opsgate.approvals._describe import shown

        card = shown(card)
        return CardInfo(
            id=card.id,
            state=card.state.value,
            link=f"{self._base}/cards/{card.id}",
            description=card.description,
            target=card.target,
            environment=card.environment.label,
            impact=card.impact.label,
            decided_by=card.decided_by,
            reason=card.reason,
            expires_at=card.expires_at,
        )

    async def apropose(self, action: Action, reasoning: str, rollback: str) -> Answer:
        return await _in_thread(self.propose, action, reasoning, rollback)

    async def acard(self, card_id: str) -> CardInfo:
        return await _in_thread(self.card, card_id)

    def close(self) -> None:
        close = getattr(self._control, "close", None)
        if close is not None:
            close()


class PolicyOnly:
    """No control plane: the configured policy decides, the local audit log records
    (as the hook does standalone).  A decision that needs a person is a deny here,
    since no card can be shown to anyone."""

    def propose(self, action: Action, reasoning: str, rollback: str) -> Answer:
        from opsgate.config import MissingDataDir
        from opsgate.guard import evaluate, load_configured_policy
        from opsgate.hooks._audit import record_decision

        try:
            policy = load_configured_policy()
        except MissingDataDir as exc:  # a mistyped OPSGATE_HOME: no rules, no audit log
            raise GateUnavailable(exc.message, hint=exc.hint) from exc
        decision = evaluate(action, policy)
        try:
            record_decision(action, decision)  # safeguard 5: no entry, no answer
        except Exception as exc:
            raise GateUnavailable(f"the audit trail is unavailable ({exc})") from exc
        return Answer.from_json(decision.to_json())

    def card(self, card_id: str) -> CardInfo:
        raise GateUnavailable(
            "no control plane is connected, so there are no cards",
            hint="pass url= and token= (or set OPSGATE_URL and OPSGATE_TOKEN)",
        )

    async def apropose(self, action: Action, reasoning: str, rollback: str) -> Answer:
        return await _in_thread(self.propose, action, reasoning, rollback)

    async def acard(self, card_id: str) -> CardInfo:
        return self.card(card_id)

    def close(self) -> None:
        return None
