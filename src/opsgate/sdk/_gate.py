"""``Gate``: opsgate in a custom agent loop.

``check`` asks and returns the answer; ``require`` (and the ``gated`` decorator and
the ``guard`` context manager built on it) raises instead of letting the code run
when the answer is not allow — ``ApprovalRequired`` (with the card) when a person
must decide, ``ActionDenied`` otherwise.  A program, unlike a hook, may wait:
``wait_for(card)`` blocks until the card is decided; the identical call then runs
once, on the approval's grant.  Every method has an ``a``-prefixed coroutine twin.
Any failure to ask (unreachable, bad token, audit unavailable) raises
``GateUnavailable``: the gated code never runs on an error.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from opsgate.errors import InputError
from opsgate.models import Action, Verdict
from opsgate.sdk._backends import Backend, InProcess, PolicyOnly, Remote
from opsgate.sdk._types import ActionDenied, Answer, ApprovalRequired, CardInfo, CardTimeout

__all__ = ["ActionLike", "Gate"]

P = ParamSpec("P")
R = TypeVar("R")
ActionLike = str | Action | Mapping[str, Any]
Describe = str | Callable[..., ActionLike] | None

_POLL_FIRST, _POLL_MAX = 0.25, 2.0
# Which input field a template fills, per tool (a shell command otherwise).
_TEXT_KEYS = {"Read": "file_path", "Write": "file_path", "Edit": "file_path",
              "WebFetch": "url"}  # fmt: skip  # seconds between card polls, growing to the max


class Gate:
    """``Gate(url, token)``: a control plane over HTTP.  ``Gate(token=…,
    data_dir=…)``: the control plane in this process.  ``Gate()``: from
    ``OPSGATE_URL`` / ``OPSGATE_TOKEN``, else the local policy alone (where nobody
    can approve, so what needs a person is denied)."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        data_dir: str | Path | None = None,
        cwd: str | None = None,
        session: str | None = None,
        name: str = "python",
        timeout: float = 10.0,
    ) -> None:
        from opsgate.config import current

        config = current()
        url = url or config.explicit("url")
        token = token or config.explicit("token")
        self.cwd = cwd or str(Path.cwd())
        self.session = session
        self.name = name  # the "server" part of a gated function's tool name
        self.backend: Backend
        if url:
            if not token:
                raise InputError("a remote gate needs an agent token",
                                 hint="Gate(url, token) or set OPSGATE_TOKEN")  # fmt: skip
            self.backend = Remote(url, token, timeout=timeout)
        elif token:
            home = Path(data_dir) if data_dir is not None else None
            self.backend = InProcess(token, home, base_url=config.text("public_url") or "")
        else:
            self.backend = PolicyOnly()

    # --- asking ----------------------------------------------------------------------------

    def action(self, what: ActionLike) -> Action:
        """A command (``str``: a shell command), an ``Action``, or a mapping with
        ``tool`` and ``input`` (and optionally ``cwd``), as opsgate's ``Action``."""
        if isinstance(what, Action):
            return what
        if isinstance(what, str):
            return self._action("Bash", {"command": what}, None)
        tool, given = what.get("tool"), what.get("input")
        if not isinstance(tool, str) or not isinstance(given, Mapping):
            raise InputError("an action is a command string, an Action, or {tool, input}")
        cwd = what.get("cwd")
        return self._action(tool, dict(given), cwd if isinstance(cwd, str) else None)

    def _action(self, tool: str, given: dict[str, Any], cwd: str | None) -> Action:
        where = cwd or self.cwd
        return Action("", tool, given, cwd=where, project_dir=where, session=self.session)

    def check(self, what: ActionLike, *, reasoning: str = "", rollback: str = "") -> Answer:
        """Propose ``what``; the answer (a card is made when a person must decide)."""
        return self.backend.propose(self.action(what), reasoning, rollback)

    async def acheck(self, what: ActionLike, *, reasoning: str = "", rollback: str = "") -> Answer:
        return await self.backend.apropose(self.action(what), reasoning, rollback)

    def require(self, what: ActionLike, *, reasoning: str = "", rollback: str = "") -> Answer:
        """``check``, raising ``ApprovalRequired`` or ``ActionDenied`` unless allowed."""
        return _enforce(self.check(what, reasoning=reasoning, rollback=rollback))

    async def arequire(
        self, what: ActionLike, *, reasoning: str = "", rollback: str = ""
    ) -> Answer:
        return _enforce(await self.acheck(what, reasoning=reasoning, rollback=rollback))

    # --- waiting for a person ------------------------------------------------------------------

    def wait_for(self, card: CardInfo | str, timeout: float = 300.0) -> CardInfo:
        """Block until ``card`` is decided.  Returns it once approved (retry the
        identical action now: it runs on the grant); raises ``ActionDenied`` when it
        was denied, expired or cancelled, ``CardTimeout`` after ``timeout`` seconds."""
        card_id = card if isinstance(card, str) else card.id
        deadline, pause = time.monotonic() + timeout, _POLL_FIRST
        while True:
            found = self.backend.card(card_id)
            if not found.pending or time.monotonic() >= deadline:
                return _settled(found)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, _POLL_MAX)

    async def await_for(self, card: CardInfo | str, timeout: float = 300.0) -> CardInfo:
        card_id = card if isinstance(card, str) else card.id
        deadline, pause = time.monotonic() + timeout, _POLL_FIRST
        while True:
            found = await self.backend.acard(card_id)
            if not found.pending or time.monotonic() >= deadline:
                return _settled(found)
            await _sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, _POLL_MAX)

    # --- gating code ---------------------------------------------------------------------------

    def gated(
        self, describe: Describe = None, *, tool: str = "Bash", reasoning: str = ""
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Gate every call of a function (or coroutine function) by its arguments.

        ``describe`` says what a call would do: a template formatted with the call's
        arguments (``"systemctl restart {service}"``, a ``tool`` command), a function
        of the same arguments returning an action, or nothing — then the call itself
        is the action: tool ``mcp__<name>__<function>`` with the arguments as input,
        which opsgate judges as an MCP tool call (by the commands, SQL and paths the
        arguments carry, then by the function's verb)."""

        def wrap(func: Callable[P, R]) -> Callable[P, R]:
            signature = inspect.signature(func)

            def described(*args: Any, **kwargs: Any) -> ActionLike:
                return _describe(self, func, signature, describe, tool, args, kwargs)

            if inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def agated(*args: Any, **kwargs: Any) -> Any:
                    await self.arequire(described(*args, **kwargs), reasoning=reasoning)
                    return await cast(Callable[..., Awaitable[Any]], func)(*args, **kwargs)

                return cast(Callable[P, R], agated)

            @functools.wraps(func)
            def sgated(*args: P.args, **kwargs: P.kwargs) -> R:
                self.require(described(*args, **kwargs), reasoning=reasoning)
                return func(*args, **kwargs)

            return sgated

        return wrap

    def guard(self, what: ActionLike, *, reasoning: str = "", rollback: str = "") -> Guarded:
        """``with gate.guard(action) as answer:`` (or ``async with``): the block runs
        only when opsgate allows the action."""
        return Guarded(self, what, reasoning, rollback)

    # --- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Guarded:
    """The context manager ``Gate.guard`` returns: sync and async."""

    def __init__(self, gate: Gate, what: ActionLike, reasoning: str, rollback: str) -> None:
        self._gate, self._what = gate, what
        self._reasoning, self._rollback = reasoning, rollback

    def __enter__(self) -> Answer:
        return self._gate.require(self._what, reasoning=self._reasoning, rollback=self._rollback)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def __aenter__(self) -> Answer:
        return await self._gate.arequire(
            self._what, reasoning=self._reasoning, rollback=self._rollback
        )

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


async def _sleep(seconds: float) -> None:
    import asyncio  # here: a synchronous program never loads it

    await asyncio.sleep(seconds)


def _enforce(answer: Answer) -> Answer:
    if answer.verdict is Verdict.ALLOW:
        return answer
    why = "; ".join(answer.reasons) or answer.decided_by
    if answer.verdict is Verdict.REQUIRE_APPROVAL and answer.card is not None:
        raise ApprovalRequired(
            f"a person must approve this first: card {answer.card.id} — {answer.card.link}",
            answer=answer,
            hint="Gate.wait_for(card) blocks until it is decided; then call again, once",
        )
    if answer.verdict is Verdict.REQUIRE_APPROVAL:
        raise ActionDenied(
            f"this needs a person's approval and no control plane is connected: {why}",
            answer=answer,
            hint="connect a control plane: Gate(url, token)",
        )
    raise ActionDenied(f"denied by {answer.decided_by}: {why}", answer=answer,
                       hint=answer.suggestion)  # fmt: skip


def _settled(card: CardInfo) -> CardInfo:
    if card.refused:
        why = f": {card.reason}" if card.reason else ""
        raise ActionDenied(f"card {card.id} was {card.state}{why}", card=card)
    if card.pending:
        raise CardTimeout(f"card {card.id} is still pending — {card.link}", card=card,
                          hint="wait again, or ask a person to decide it")  # fmt: skip
    return card


def _describe(
    gate: Gate,
    func: Callable[..., Any],
    signature: inspect.Signature,
    describe: Describe,
    tool: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> ActionLike:
    if callable(describe):
        return describe(*args, **kwargs)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    if isinstance(describe, str):
        try:
            text = describe.format_map({k: _plain(v) for k, v in values.items()})
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise InputError(
                f"the description {describe!r} of {getattr(func, '__name__', 'a call')} "
                f"cannot be filled from its arguments ({type(exc).__name__}: {exc})",
                hint="name only the function's parameters, e.g. {service}",
            ) from exc
        return {"tool": tool, "input": {_TEXT_KEYS.get(tool, "command"): text}}
    name = getattr(func, "__name__", "call")
    return {"tool": f"mcp__{gate.name}__{name}", "input": {k: _json(v) for k, v in values.items()}}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _json(value: Any, depth: int = 0) -> Any:
    """An argument as JSON opsgate can judge (and record); anything else as its repr."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if depth < 8 and isinstance(value, (list, tuple)):
        return [_json(v, depth + 1) for v in value]
    if depth < 8 and isinstance(value, Mapping):
        return {str(k): _json(v, depth + 1) for k, v in value.items()}
    return repr(value)[:2000]
