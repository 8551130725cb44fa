"""Organisation settings and the inventory of targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from opsgate.environments import InventoryTarget
from opsgate.models import Environment
from opsgate.server.auth import Caller
from opsgate.server.schemas import (
    SettingsOut,
    SettingsPatch,
    TargetIn,
    TargetOut,
    settings_out,
    target_out,
)

__all__ = ["router"]

router = APIRouter()

TargetName = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/settings", response_model=SettingsOut, tags=["settings"])
def get_settings(caller: Caller, request: Request) -> SettingsOut:
    del caller  # authenticated is enough: every role may read the settings
    return settings_out(request.app.state.og.control.settings())


@router.patch("/settings", response_model=SettingsOut, tags=["settings"])
def change_settings(body: SettingsPatch, caller: Caller, request: Request) -> SettingsOut:
    """Takes effect at once and is audited (``settings.changed``)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return settings_out(request.app.state.og.control.change_settings(caller, changes))


@router.get("/inventory", response_model=list[TargetOut], tags=["inventory"])
def list_targets(caller: Caller, request: Request) -> list[TargetOut]:
    return [target_out(t) for t in request.app.state.og.control.list_targets(caller)]


@router.put("/inventory/{name}", response_model=TargetOut, tags=["inventory"])
def put_target(name: TargetName, body: TargetIn, caller: Caller, request: Request) -> TargetOut:
    target = InventoryTarget(
        name=name,
        kind=body.kind,
        environment=Environment.parse(body.environment),
        access=body.access,
        match=tuple(body.match),
        connection=tuple(sorted(body.connection.items())),
    )
    return target_out(request.app.state.og.control.put_target(caller, target))


@router.delete("/inventory/{name}", status_code=204, tags=["inventory"])
def delete_target(name: TargetName, caller: Caller, request: Request) -> Response:
    request.app.state.og.control.delete_target(caller, name)
    return Response(status_code=204)
