"""What every site answers besides its pages: the icon browsers ask for, and a
page (with a title) for an address that is not one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from opsgate.web._render import render, viewer

__all__ = ["install_pages", "router"]

router = APIRouter(include_in_schema=False)
_ICON = Path(__file__).parent / "static" / "favicon.svg"


@router.get("/favicon.ico")
async def favicon() -> Response:
    # Browsers ask for /favicon.ico whatever the page links; a 404 there was the
    # console's only error in normal use.
    return FileResponse(
        _ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )


def install_pages(app: FastAPI) -> None:
    """Unknown addresses outside the API get an HTML page when a browser asks (it
    accepts text/html); the API, and any client that does not ask for HTML, keeps
    the JSON error envelope."""
    app.include_router(router)
    api_handler: Any = app.exception_handlers.get(StarletteHTTPException)

    async def not_a_page(request: Request, exc: Exception) -> Response:
        path = request.url.path
        status = getattr(exc, "status_code", 500)
        browser = "text/html" in request.headers.get("accept", "")
        if (
            browser
            and status in (404, 405)
            and not path.startswith(("/api/", "/healthz", "/static/"))
        ):
            me = await viewer(request)
            message = (
                f"There is no page at {path}." if status == 404 else "That page does not take this."
            )
            return render(request, "error.html", me, status=status, message=message)
        if api_handler is None:
            raise exc
        response: Response = await api_handler(request, exc)
        return response

    app.add_exception_handler(StarletteHTTPException, not_a_page)
