"""The audit log for people: entries newest first, with the outcome of each (a
failed login reads as a failure), who acted and on what, times in the browser's
own time zone, and a CLI session as one line.

The pages call the API's own route functions (same filters, same cursor, same
verification), so the console and ``GET /api/v1/audit`` cannot disagree.  The
entries themselves are never changed or hidden: grouping is only how this page
lays them out (each grouped entry stays one click away).

Why the CLI still logs in per command: every ``opsgate`` command that acts as a
person proves the password again and ends its session when it exits.  Holding a
session between commands would mean a bearer secret in a file under the user's
home — readable by any agent running as that user, which could then approve its
own cards.  So the trail keeps a login and a logout per command, and this page
shows each such pair as one "session" line.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from opsgate.approvals.model import Denied
from opsgate.audit.events import outcome_of
from opsgate.server import routes_audit
from opsgate.server.auth import in_thread
from opsgate.server.errors import ApiError
from opsgate.web._render import login_redirect, render, viewer

__all__ = ["router", "rows"]

router = APIRouter(include_in_schema=False)

Opt = Annotated[str | None, Query(max_length=500)]
_FILTERS = ("event", "actor", "target", "environment", "decision", "outcome", "since")
# Outcomes that mean something was refused or went wrong: shown as failures.
BAD = frozenset({"failure", "failed", "deny", "denied", "error", "interrupted", "expired"})


def _who(party: Any) -> str:
    if not isinstance(party, dict):
        return ""
    return str(party.get("name") or party.get("id") or party.get("type") or "")


def _row(entry: dict[str, Any]) -> dict[str, Any]:
    result = entry.get("result")
    result = result if isinstance(result, dict) else {}
    outcome = outcome_of(entry)
    return {
        "seq": entry.get("seq"),
        "time": entry.get("time", ""),
        "event": entry.get("event", ""),
        "actor": _who(entry.get("actor")),
        "target": entry.get("target") or "",
        "environment": entry.get("environment") or "",
        "decision": entry.get("decision") or "",
        "approver": _who(entry.get("approver")),
        "card": result.get("card", ""),
        "outcome": outcome,
        "bad": outcome.lower() in BAD,
        "reason": result.get("reason") or "",
        "session": None,
    }


def rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries (newest first) as table rows; a login and the logout that ended it
    become one row, at the login's place."""
    out = [_row(e) for e in entries]
    users = [_session_user(e) for e in entries]
    dropped: set[int] = set()
    for i, entry in enumerate(entries):
        if entry.get("event") != "user.logout" or users[i] is None:
            continue
        for j in range(i + 1, len(entries)):
            if users[j] != users[i] or j in dropped:
                continue
            if entries[j].get("event") == "user.login" and out[j]["outcome"] == "success":
                out[j]["session"] = {"logout": out[i]["seq"], "seconds": _span(entries[j], entry)}
                dropped.add(i)
            break  # the nearest earlier login or logout of that person decides
    return [row for i, row in enumerate(out) if i not in dropped]


def _session_user(entry: dict[str, Any]) -> str | None:
    if entry.get("event") not in ("user.login", "user.logout"):
        return None
    result = entry.get("result")
    user = result.get("user") if isinstance(result, dict) else None
    return str(user) if user else None


def _span(start: dict[str, Any], end: dict[str, Any]) -> float | None:
    from datetime import datetime

    try:
        began = datetime.fromisoformat(str(start.get("time")).replace("Z", "+00:00"))
        ended = datetime.fromisoformat(str(end.get("time")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (ended - began).total_seconds())


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    event: Opt = None,
    actor: Opt = None,
    target: Opt = None,
    environment: Opt = None,
    decision: Opt = None,
    outcome: Opt = None,
    since: Opt = None,
    cursor: Opt = None,
) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    given = dict(
        zip(_FILTERS, (event, actor, target, environment, decision, outcome, since), strict=True)
    )
    chosen = {k: v.strip() for k, v in given.items() if v and v.strip()}
    try:
        page = await in_thread(
            lambda: routes_audit.query(me, request, limit=50, cursor=cursor or None, **chosen)
        )
    except (ApiError, Denied) as exc:
        message = exc.message if isinstance(exc, ApiError) else exc.reason
        return render(
            request,
            "audit.html",
            me,
            status=422 if isinstance(exc, ApiError) else 403,
            error=message,
            entries=[],
            chosen=chosen,
            next_query=None,
        )
    more = urlencode({**chosen, "cursor": page.next_cursor}) if page.next_cursor else None
    return render(
        request, "audit.html", me, entries=rows(page.items), chosen=chosen, next_query=more
    )


@router.get("/audit/verify", response_class=HTMLResponse)
async def audit_verify(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    try:
        report = await in_thread(lambda: routes_audit.verify_chain(me, request))
    except (ApiError, Denied) as exc:
        message = exc.message if isinstance(exc, ApiError) else exc.reason
        return render(request, "error.html", me, status=503, message=message)
    return render(request, "audit_verify.html", me, report=report)


@router.get("/audit/{seq}", response_class=HTMLResponse)
async def audit_entry(seq: int, request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return login_redirect(request)
    try:
        page = await in_thread(
            lambda: routes_audit.query(me, request, limit=1, cursor=str(seq + 1))
        )
    except (ApiError, Denied) as exc:
        message = exc.message if isinstance(exc, ApiError) else exc.reason
        return render(request, "error.html", me, status=503, message=message)
    found = [e for e in page.items if e.get("seq") == seq]
    if not found:
        return render(request, "error.html", me, status=404, message=f"no audit entry {seq}")
    entry = found[0]
    body = json.dumps(entry, indent=2, ensure_ascii=False, sort_keys=True)
    return render(request, "audit_entry.html", me, entry=_row(entry), body=body)
