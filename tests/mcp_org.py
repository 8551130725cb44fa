"""A small organisation for the MCP tests: an owner, an admin, an agent token, a
staging and a production server, Production Protection on, and canaries: secret
values planted where a careless tool could echo them (an inventory connection URL,
the server's environment)."""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgate.approvals.control import open_control_plane
from opsgate.approvals.model import Role
from opsgate.approvals.service import ControlPlane, Principal
from opsgate.environments import InventoryTarget
from opsgate.models import Environment

ADMIN_PASSWORD = "admin password!"


@dataclass
class Org:
    home: Path
    control: ControlPlane
    admin: Principal
    agent: Principal
    agent_token: str
    admin_token: str
    inventory_canary: str
    env_canary: str

    @property
    def canaries(self) -> tuple[str, str]:
        return self.inventory_canary, self.env_canary

    def close(self) -> None:
        close = getattr(self.control, "close", None)
        if close is not None:
            close()


def _reachable() -> dict[str, Any]:
    """SSH connection settings (nothing listens there) where targets carry them: with
    the executor installed, proposing an operation needs to know how it would run."""
    if "connection" not in {f.name for f in dataclasses.fields(InventoryTarget)}:
        return {}
    settings = {"host": "127.0.0.1", "port": "9", "user": "opsgate", "key": "secret:web_key"}
    return {"connection": tuple(sorted(settings.items()))}


def make_org(home: Path) -> Org:
    control = open_control_plane(home)
    owner = control.create_user(None, "owner", "owner password!", Role.OWNER)
    _, session = control.login(owner.name, "owner password!")
    me = control.session(session)
    assert me is not None
    control.create_user(me, "ada", ADMIN_PASSWORD, Role.ADMIN)
    _, admin_session = control.login("ada", ADMIN_PASSWORD)
    admin = control.session(admin_session)
    assert admin is not None
    _, agent_token = control.create_token(me, "claude", Role.AGENT)
    _, admin_token = control.create_token(me, "automation", Role.ADMIN)
    agent = control.token(agent_token)
    assert agent is not None
    inventory_canary = f"invcanary{secrets.token_hex(8)}"
    env_canary = f"envcanary{secrets.token_hex(8)}"
    control.put_target(me, InventoryTarget("web-1", "server", Environment.STAGING, **_reachable()))
    control.put_target(
        me,
        InventoryTarget(
            "shop",
            "server",
            Environment.PRODUCTION,
            "full",
            ("shop.internal", f"postgresql://app:{inventory_canary}@shop.internal/app"),
            **_reachable(),
        ),
    )
    control.put_target(me, InventoryTarget("ledger", "database", Environment.PRODUCTION))
    control.change_settings(me, {"production_protection": True})
    return Org(home, control, admin, agent, agent_token, admin_token, inventory_canary, env_canary)


def clone_org(template: Org, home: Path) -> Org:
    """A private copy of ``template``'s data (closed first): password hashing makes
    building an organisation cost a second or two, copying it a few milliseconds."""
    template.close()
    shutil.copytree(template.home, home)
    return dataclasses.replace(template, home=home, control=open_control_plane(home))
