"""Connected mode: the hook proposes each action to the opsgate control plane.

Settings: ``OPSGATE_URL`` and ``OPSGATE_TOKEN`` (an agent token), or the file
``$OPSGATE_HOME/connect.json`` (``{"url": ..., "token": ...}``, mode 0600 — a file
others can read is refused).  The environment wins over the file.

The hook answers at once, never waiting for a human (agents run the tool when a hook
times out).  A proposal carries what the control plane needs to decide without
reading its own disk: the files the local classification read (path, SHA-256,
text; never a secret file, bounded in size) and the facts it resolved (the git
branch).  When the local decision needs a human, it also carries the resolved
context (``_context``: Kubernetes context, cloud profile, …) the grant binds to;
otherwise the proposal says ``context_on_demand`` and the context is collected
only if the control plane answers ``context_required`` (its policy wants a card
the local one did not).  A proposal that creates a card is answered with the agent's deny and a
reason naming the card and its link; the identical retry after approval passes
because the control plane consumes the grant inside ``propose``.  When the control
plane cannot be reached (refused, timeout, 5xx, an answer that is not the documented
JSON) the local decision stands, and anything that needs approval is refused — never
asked, never allowed.  An auth failure blocks with a message saying what to fix.

Only the standard library (``http.client``) is used here: this is the hook's path.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opsgate._urls import shown_url
from opsgate.hooks._respond import Answer, HookInputError
from opsgate.models import Action, Decision, FileRead, Verdict

__all__ = ["Remote", "answer", "settings"]

TIMEOUT = 2.0
PROPOSE_PATH = "/api/v1/propose"
# Inputs that describe a call without changing what it does: an agent may reword
# them on the retry, which must still match the approved card.
_COSMETIC = ("description",)
_MAX_REASONING = 4000  # characters of the agent's description sent as the card's reasoning


@dataclass(frozen=True, slots=True)
class Remote:
    url: str
    token: str

    def __repr__(self) -> str:  # never show the token
        return f"Remote(url={self.url!r}, token=<redacted>)"


def settings(env: Mapping[str, str]) -> Remote | None:
    """The control plane to propose to, or None for local decisions only."""
    url, token = env.get("OPSGATE_URL") or "", env.get("OPSGATE_TOKEN") or ""
    if not url or not token:
        stored = _stored(env)
        url, token = url or stored.get("url", ""), token or stored.get("token", "")
    if not url:
        return None
    if not token:
        raise HookInputError(
            f"OPSGATE_URL is set ({shown_url(url)}) but no agent token: set OPSGATE_TOKEN or put "
            '{"token": ...} in $OPSGATE_HOME/connect.json (mode 0600)'
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HookInputError(f"OPSGATE_URL must be an http(s) URL, not {shown_url(url)!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise HookInputError(
            f"OPSGATE_URL would send the agent token in clear text to {parts.hostname}: "
            "use https:// (plain http is accepted only to this machine: localhost, "
            "127.0.0.1, ::1)"
        )
    return Remote(url.rstrip("/"), token)


def _loopback(host: str) -> bool:
    if host in ("localhost", "127.0.0.1", "::1"):
        return True  # the usual answers, without importing ipaddress on the hook's path
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _stored(env: Mapping[str, str]) -> dict[str, str]:
    home = Path(env.get("OPSGATE_HOME") or Path.home() / ".opsgate")
    path = home / "connect.json"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return {}
    with os.fdopen(fd, "rb") as f:
        if os.fstat(f.fileno()).st_mode & 0o077:
            raise HookInputError(f"{path} holds a token but others can read it: chmod 600 {path}")
        try:
            data = json.loads(f.read(65536))
        except ValueError as exc:
            raise HookInputError(f"{path} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise HookInputError(f"{path} must be a JSON object with url and token")
    return {k: v for k, v in data.items() if k in ("url", "token") and isinstance(v, str)}


class _Unreachable(Exception):
    pass


class _Refused(Exception):
    pass


def answer(
    remote: Remote,
    actions: Sequence[Action],
    decisions: Sequence[Decision],
    *,
    ask: bool,
    env: Mapping[str, str] | None = None,
) -> Answer:
    """Propose each action in turn; the first one not allowed decides the answer."""
    from opsgate.hooks._render import render_reason
    from opsgate.hooks._respond import local_answer

    for decision in decisions:  # the same immutable safeguards run on both sides
        if decision.verdict is Verdict.DENY:
            return Answer("deny", render_reason(decision, ask=False))
    for action, decision in zip(actions, decisions, strict=True):
        try:
            body = _propose(remote, action, decision, os.environ if env is None else env)
        except _Unreachable as exc:
            local = local_answer(decisions, ask=False)
            if local.verdict == "allow":
                return local
            note = f"\nThe opsgate control plane at {shown_url(remote.url)} is unreachable ({exc})."
            return Answer("deny", local.reason + note)
        except _Refused as exc:
            return Answer("deny", f"opsgate blocked this call: {exc}")
        verdict = _judge(body, remote)
        if verdict.verdict != "allow":
            return verdict
    return Answer("allow")


def _judge(body: dict[str, Any], remote: Remote) -> Answer:
    decision = body["decision"]
    if body.get("grant"):
        return Answer("allow")
    card = body.get("card")
    reasons = "\n".join(str(r) for r in decision.get("reasons") or [])
    if isinstance(card, dict):
        link = (
            body.get("link")
            or card.get("link")
            or f"{shown_url(remote.url)}/cards/{card.get('id')}"
        )
        return Answer(
            "deny",
            f"opsgate needs a human to approve this action: card {card.get('id')} — {link}\n"
            f"{reasons}\n"
            "Ask a person to approve the card, then retry the identical action (the same "
            "command, in the same directory); it will pass once. Do not change the command "
            "or work around it.",
        )
    if decision.get("decision") == "allow":
        return Answer("allow")
    return Answer("deny", f"opsgate denied this action.\n{reasons}".rstrip())


def _propose(
    remote: Remote, action: Action, decision: Decision, env: Mapping[str, str]
) -> dict[str, Any]:
    data = {k: v for k, v in action.input.items() if k not in _COSMETIC}
    c = decision.classification
    request: dict[str, Any] = {
        "tool": action.tool,
        "input": data,
        "cwd": action.cwd,
        "project_dir": action.project_dir,
        "session": (action.session or "")[:200] or None,
        "files": [_file(f) for f in c.files],
        "context": dict(c.facts),
    }
    said = action.input.get("description")
    if isinstance(said, str) and said.strip():
        # The agent's own words for the call (Claude Code's ``description``): the
        # card's reasoning.  Not part of what is approved (``_COSMETIC``).
        request["reasoning"] = said.strip()[:_MAX_REASONING]
    needs_human = decision.verdict is not Verdict.ALLOW
    if needs_human:
        request["context"].update(_ambient(action, env))
    else:
        request["context_on_demand"] = True
    body = _send(remote, request)
    if body.get("context_required") and not needs_human:
        request["context"].update(_ambient(action, env))
        del request["context_on_demand"]
        body = _send(remote, request)
    return body


def _file(read: FileRead) -> dict[str, Any]:
    return {"path": read.path, "sha256": read.sha256, "text": read.text}


def _ambient(action: Action, env: Mapping[str, str]) -> dict[str, str]:
    from opsgate.hooks._context import collect

    return collect(action.cwd, env)


def _send(remote: Remote, request: dict[str, Any]) -> dict[str, Any]:
    status, raw = _post(remote, PROPOSE_PATH, json.dumps(request).encode())
    if status in (401, 403):
        message = _error_message(raw)
        raise _Refused(
            f"the control plane at {shown_url(remote.url)} refused the agent token "
            f"({status}: {message}). "
            "Check OPSGATE_TOKEN (an agent token from `opsgate tokens create NAME`) and its "
            "role."
        )
    if status >= 500:
        raise _Unreachable(f"HTTP {status}")
    if status != 200:
        raise _Refused(f"the control plane answered {status}: {_error_message(raw)}")
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or not isinstance(body.get("decision"), dict):
            raise ValueError("no decision")
    except ValueError as exc:
        raise _Unreachable("the answer is not opsgate's JSON") from exc
    return body


def _error_message(raw: bytes) -> str:
    try:
        body = json.loads(raw)
        return str(body["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")


# --- HTTP, with connections kept alive between calls in the resident service -------------
_pool: dict[tuple[str, str, int], list[Any]] = {}
_pool_lock = threading.Lock()


def _post(remote: Remote, path: str, body: bytes) -> tuple[int, bytes]:
    import http.client

    parts = urlsplit(remote.url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    key = (parts.scheme, parts.hostname or "", port)
    headers = {
        "Authorization": f"Bearer {remote.token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    for attempt in (0, 1):  # a kept-alive connection the server closed: retry once, fresh
        conn = _take(key) if attempt == 0 else None
        fresh = conn is None
        if conn is None:
            cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
            conn = cls(key[1], port, timeout=TIMEOUT)
        try:
            conn.request("POST", (parts.path or "") + path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if fresh or isinstance(exc, TimeoutError):
                raise _Unreachable(f"{type(exc).__name__}: {exc}"[:200]) from exc
            continue
        if response.will_close:
            conn.close()
        else:
            _give(key, conn)
        return response.status, data
    raise _Unreachable("the connection failed twice")  # pragma: no cover - loop returns


def _take(key: tuple[str, str, int]) -> Any:
    with _pool_lock:
        conns = _pool.get(key)
        return conns.pop() if conns else None


def _give(key: tuple[str, str, int], conn: Any) -> None:
    with _pool_lock:
        conns = _pool.setdefault(key, [])
        if len(conns) < 8:
            conns.append(conn)
            return
    conn.close()
