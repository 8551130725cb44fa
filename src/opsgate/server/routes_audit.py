"""The audit trail: query with filters and pagination, and verify the chain.

Filtering reuses the CLI's field extraction and time parsing, so ``opsgate audit
--actor x`` and ``GET /api/v1/audit?actor=x`` select the same entries.
"""

from __future__ import annotations

import time
from fnmatch import fnmatchcase
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from opsgate.audit import AuditLog
from opsgate.audit.events import Entry
from opsgate.server.auth import Caller, require_reader
from opsgate.server.errors import ApiError, Invalid
from opsgate.server.schemas import AuditPage, VerifyOut

__all__ = ["router"]

router = APIRouter(tags=["audit"])

Filter = Annotated[str | None, Query(max_length=500, description="glob, case-insensitive")]


class Unavailable(ApiError):
    status = 503
    code = "audit_unavailable"


def _log(request: Request) -> AuditLog:
    audit: AuditLog | None = request.app.state.og.audit
    if audit is None:
        raise Unavailable("this server has no audit log attached")
    return audit


@router.get("/audit", response_model=AuditPage, summary="Query the audit trail, newest first")
def query(
    caller: Caller,
    request: Request,
    event: Filter = None,
    actor: Filter = None,
    target: Filter = None,
    environment: Filter = None,
    decision: Filter = None,
    outcome: Filter = None,
    since: Annotated[str | None, Query(max_length=64, description="ISO time or 30m/1h/7d")] = None,
    until: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=20, description="next_cursor")] = None,
    after: Annotated[
        str | None,
        Query(
            max_length=20,
            description="oldest first, from the entry after this sequence number "
            "(incremental export); next_cursor is then the next page's `after`",
        ),
    ] = None,
) -> AuditPage:
    require_reader(caller)
    from opsgate.cli.audit import _fields, _when

    before = _cursor(cursor)
    wanted = [
        (k, v.lower())
        for k, v in (
            ("event", event),
            ("actor", actor),
            ("target", target),
            ("environment", environment),
            ("decision", decision),
            ("outcome", outcome),
        )
        if v
    ]
    lo = _when(since, "since") if since else None
    hi = _when(until, "until") if until else None
    found: list[Entry] = []
    more = False
    start = _cursor(after)
    ascending = start is not None
    log = _log(request)
    for entry in log.entries(after=start or 0) if ascending else log.entries(descending=True):
        if before is not None and entry.seq >= before:
            continue
        stamp = str(entry.data.get("time", ""))
        if lo and stamp < lo:
            if ascending:
                continue
            break  # descending order: everything after is older still
        if hi and stamp > hi:
            if ascending:
                break  # ascending order: everything after is newer still
            continue
        if all(any(fnmatchcase(f.lower(), v) for f in _fields(entry.data, k)) for k, v in wanted):
            if len(found) == limit:
                more = True
                break
            found.append(entry)
    items = [{**e.data, "seq": e.seq, "hash": e.hash} for e in found]
    # The last seq of the page: the next page's `cursor` (newest first) or `after`.
    return AuditPage(items=items, next_cursor=str(found[-1].seq) if more else None)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise Invalid("cursor must be a next_cursor value from a previous page")
    return int(cursor)


@router.get("/audit/verify", response_model=VerifyOut, summary="Verify the chain")
def verify_chain(caller: Caller, request: Request) -> VerifyOut:
    """Checks every link and the signed checkpoints stored with the log, trusting the
    server's own key and the public keys of ``audit.trusted_keys`` (for an independent
    anchor, run ``opsgate audit verify --key``)."""
    require_reader(caller)
    from opsgate.audit._trust import local_trust
    from opsgate.audit.verify import verify

    log = _log(request)
    trusted = local_trust(log).key_ids
    sources = [(f"store {log.store.location}", b) for b in log.store.checkpoint_bodies()]
    started = time.perf_counter()
    report = verify(log.log_id, log.store.rows(), sources, trusted)
    problems: list[dict[str, Any]] = [
        {"seq": p.seq, "kind": p.kind, "message": p.message} for p in report.problems
    ]
    warnings = [*report.warnings, f"verified in {time.perf_counter() - started:.2f} s"]
    return VerifyOut(
        ok=report.ok,
        entries=report.entries,
        head_seq=report.head_seq,
        summary=report.summary(),
        problems=problems,
        warnings=warnings,
    )
