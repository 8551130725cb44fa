"""The incident artifacts as a download (a zip of the Markdown files), linked from
the audit page (a time window) and from a card (that card's story).  The same
artifacts as ``opsgate incident report``: verified, cited, redacted."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from opsgate.errors import OpsgateError
from opsgate.server.auth import in_thread
from opsgate.web._render import login_redirect, render, viewer
from opsgate.web._security import page_headers

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Opt = Annotated[str | None, Query(max_length=200)]


@router.get("/incident/report.zip")
async def incident_zip(
    request: Request, since: Opt = None, until: Opt = None, card: Opt = None
) -> Response:
    me = await viewer(request)  # people only: agent tokens never read the trail
    if me is None:
        return login_redirect(request)
    log = request.app.state.og.audit
    if log is None:
        return render(request, "error.html", me, status=503, message="no audit log attached")
    try:
        query = _query(since, until, card)
        made = await in_thread(lambda: _artifacts(request, log, query))
    except OpsgateError as exc:
        return render(request, "error.html", me, status=422, message=exc.message)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"opsgate-incident-{card or stamp}.zip"
    response = Response(
        made,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return page_headers(response)


def _query(since: str | None, until: str | None, card: str | None) -> Any:
    from opsgate.cli.audit import _when
    from opsgate.incident import Query

    card = (card or "").strip() or None
    if since is None and card is None:
        since = "24h"
    return Query(
        since=_when(since, "since") if since else None,
        until=_when(until, "until") if until else None,
        cards=(card,) if card else (),
    )


def _artifacts(request: Request, log: Any, query: Any) -> bytes:
    from opsgate.incident import generate

    artifacts = generate(log, query, with_postmortem=True, secrets=_stored(request))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file_name, body in artifacts.files.items():
            archive.writestr(file_name, body)
    return buffer.getvalue()


def _stored(request: Request) -> list[str]:
    """Every stored secret value, to mask (as the executor masks run output)."""
    executor = getattr(request.app.state, "executor", None)
    if executor is None:
        return []
    with executor.control.store.read() as conn:
        return [s.reveal() for s in executor.secrets.reveal_all(conn)]
