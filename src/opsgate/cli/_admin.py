"""The administrative commands' two backends, with one set of answers: the control
plane in this process (a machine that holds the data directory) or a control plane
over its HTTP API (``url``).  Both answer with the API's JSON shapes
(``server.schemas``), so ``--json`` prints the same thing either way, and every rule
(roles, own requests, typed confirmation, agents never approve) is the service's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from opsgate.errors import InputError

if TYPE_CHECKING:
    from opsgate.approvals.service import ControlPlane, Principal
    from opsgate.cli._http import Client

__all__ = ["Local", "Remote"]

Json = dict[str, Any]


def _dump(model: Any) -> Json:
    data: Json = model.model_dump(mode="json")
    return data


class Local:
    """The control plane opened from the data directory (or the configured database)."""

    def __init__(self, control: ControlPlane, me: Principal, public_url: str) -> None:
        self.control = control
        self.me = me
        self.public_url = public_url
        self.where = "local"

    def cards(self, states: list[str], limit: int) -> Json:
        from opsgate.approvals.model import CardState
        from opsgate.approvals.service import CardFilter
        from opsgate.server.schemas import card_out

        filters = CardFilter(states=tuple(CardState(s) for s in states))
        page = self.control.list_cards(self.me, filters, limit=limit)
        items = [_dump(card_out(c, self.public_url)) for c in page.items]
        return {"items": items, "next_cursor": page.next_cursor, "total": page.total}

    def approve(self, card_id: str, confirm: str | None) -> Json:
        from opsgate.server.schemas import card_out

        return _dump(card_out(self.control.approve(self.me, card_id, confirm), self.public_url))

    def deny(self, card_id: str, reason: str) -> Json:
        from opsgate.server.schemas import card_out

        return _dump(card_out(self.control.deny(self.me, card_id, reason), self.public_url))

    def users(self) -> list[Json]:
        from opsgate.server.schemas import user_out

        return [_dump(user_out(u)) for u in self.control.list_users(self.me)]

    def add_user(self, name: str, password: str, role: str) -> Json:
        from opsgate.approvals.model import Role
        from opsgate.server.schemas import user_out

        return _dump(user_out(self.control.create_user(self.me, name, password, Role(role))))

    def set_role(self, user_id: str, role: str) -> Json:
        from opsgate.approvals.model import Role
        from opsgate.server.schemas import user_out

        return _dump(user_out(self.control.set_role(self.me, user_id, Role(role))))

    def tokens(self) -> list[Json]:
        from opsgate.server.schemas import token_out

        return [_dump(token_out(t)) for t in self.control.list_tokens(self.me)]

    def create_token(self, name: str, role: str) -> Json:
        from opsgate.approvals.model import Role
        from opsgate.server.schemas import token_out

        info, secret = self.control.create_token(self.me, name, Role(role))
        return {"token": _dump(token_out(info)), "secret": secret}

    def revoke_token(self, token_id: str) -> Json:
        from opsgate.server.schemas import token_out

        return _dump(token_out(self.control.revoke_token(self.me, token_id)))

    def targets(self) -> list[Json]:
        from opsgate.server.schemas import target_out

        return [_dump(target_out(t)) for t in self.control.list_targets(self.me)]

    def put_target(self, name: str, body: Json) -> Json:
        from opsgate.environments import InventoryTarget
        from opsgate.models import Environment
        from opsgate.server.schemas import target_out

        target = InventoryTarget(
            name, body["kind"], Environment.parse(body["environment"]), body["access"],
            tuple(body["match"]), tuple(sorted(body["connection"].items())),
        )  # fmt: skip
        return _dump(target_out(self.control.put_target(self.me, target)))

    def delete_target(self, name: str) -> None:
        self.control.delete_target(self.me, name)

    def _executor(self) -> Any:
        from opsgate.execute import Executor

        return Executor(self.control)  # type: ignore[arg-type]  # the local one is SQL

    def secrets(self) -> list[Json]:
        found = self._executor().list_secrets(self.me)
        return [{"name": s.name, "created_at": s.created_at, "updated_at": s.updated_at,
                 **({"source": s.source} if s.source else {})} for s in found]  # fmt: skip

    def set_secret(self, name: str, value: str) -> None:
        self._executor().set_secret(self.me, name, value)

    def set_secret_command(self, name: str, spec: Any) -> None:
        self._executor().set_secret_command(self.me, name, spec)

    def check_secret(self, name: str) -> int:
        return int(self._executor().check_secret(self.me, name))

    def delete_secret(self, name: str) -> bool:
        return bool(self._executor().delete_secret(self.me, name))

    def lockdown(self) -> Json:
        from opsgate.approvals.service import LockdownReport

        return LockdownReport(lockdown=self.control.lockdown_status()).to_json()

    def lock_down(self, reason: str, revoke_tokens: bool) -> Json:
        return self.control.lock_down(self.me, reason, revoke_tokens=revoke_tokens).to_json()

    def lift_lockdown(self, reason: str) -> Json:
        return self.control.lift_lockdown(self.me, reason).to_json()


class Remote:
    """A control plane over its HTTP API, as the person (or token) acting."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.where = client.url

    def cards(self, states: list[str], limit: int) -> Json:
        page: Json = self.client.get("/cards", state=states or None, limit=limit)
        return page

    def approve(self, card_id: str, confirm: str | None) -> Json:
        body = {"confirm": confirm} if confirm is not None else {}
        card: Json = self.client.call("POST", f"/cards/{quote(card_id)}/approve", body)
        return card

    def deny(self, card_id: str, reason: str) -> Json:
        card: Json = self.client.call("POST", f"/cards/{quote(card_id)}/deny", {"reason": reason})
        return card

    def users(self) -> list[Json]:
        found: list[Json] = self.client.get("/users")
        return found

    def add_user(self, name: str, password: str, role: str) -> Json:
        body = {"name": name, "password": password, "role": role}
        user: Json = self.client.call("POST", "/users", body)
        return user

    def set_role(self, user_id: str, role: str) -> Json:
        user: Json = self.client.call("PATCH", f"/users/{quote(user_id)}", {"role": role})
        return user

    def tokens(self) -> list[Json]:
        found: list[Json] = self.client.get("/tokens")
        return found

    def create_token(self, name: str, role: str) -> Json:
        created: Json = self.client.call("POST", "/tokens", {"name": name, "role": role})
        return created

    def revoke_token(self, token_id: str) -> Json:
        token: Json = self.client.call("DELETE", f"/tokens/{quote(token_id)}")
        return token

    def targets(self) -> list[Json]:
        found: list[Json] = self.client.get("/inventory")
        return found

    def put_target(self, name: str, body: Json) -> Json:
        target: Json = self.client.call("PUT", f"/inventory/{quote(name, safe='')}", body)
        return target

    def delete_target(self, name: str) -> None:
        self.client.call("DELETE", f"/inventory/{quote(name, safe='')}")

    def secrets(self) -> list[Json]:
        found: list[Json] = self.client.get("/secrets")
        return found

    def set_secret(self, name: str, value: str) -> None:
        self.client.call("PUT", f"/secrets/{quote(name, safe='')}", {"value": value})

    def set_secret_command(self, name: str, spec: Any) -> None:
        body = {"command": list(spec.argv), "timeout": spec.timeout, "env": list(spec.env)}
        self.client.call("PUT", f"/secrets/{quote(name, safe='')}", body)

    def check_secret(self, name: str) -> int:
        raise InputError(
            "--check resolves a secret where it runs, which is the server here",
            hint="run `opsgate secrets set NAME --check …` on the server, or use the secret "
            "in an operation",
        )

    def delete_secret(self, name: str) -> bool:
        self.client.call("DELETE", f"/secrets/{quote(name, safe='')}")
        return True

    def lockdown(self) -> Json:
        found: Json = self.client.get("/lockdown")
        return found

    def lock_down(self, reason: str, revoke_tokens: bool) -> Json:
        body = {"reason": reason, "revoke_tokens": revoke_tokens}
        report: Json = self.client.call("POST", "/lockdown", body)
        return report

    def lift_lockdown(self, reason: str) -> Json:
        report: Json = self.client.call("POST", "/lockdown/lift", {"reason": reason})
        return report
