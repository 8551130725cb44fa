"""Organisation settings and the inventory (SPEC §4, §6): effective at once (read
from the store on every decision), role-checked here, audited with old and new."""

from __future__ import annotations

import dataclasses
from typing import Any

from opsgate.approvals._control_base import pinned_over
from opsgate.approvals._control_rejudge import RejudgeMixin
from opsgate.approvals.model import Denied, Role, Settings, can_change_settings
from opsgate.approvals.service import Principal
from opsgate.audit import EventType
from opsgate.environments import CREDENTIAL_KEYS, Inventory, InventoryTarget, is_secret_ref
from opsgate.models import Environment
from opsgate.policy.model import MAX_TTL_SECONDS, MIN_TTL_SECONDS
from opsgate.store import _org as org

__all__ = ["OrgMixin"]

KINDS = frozenset({"server", "site", "database", "backup", "cluster", "target"})
ACCESS = ("no_access", "read_only", "full")  # ordered: narrowest first


def _connection_problems(connection: tuple[tuple[str, str], ...]) -> list[str]:
    """Credentials only as ``secret:NAME``: a value stored here would be served to
    every reader of the inventory and written into the audit trail.  Besides the
    credential settings, any value the redactor would mask (a password inside a
    URL, a token-shaped string) is refused wherever it is put."""
    from opsgate.audit.redact import Redactor

    scrub = Redactor().text
    problems = []
    for key, value in connection:
        if key in CREDENTIAL_KEYS:
            if not is_secret_ref(value):
                problems.append(
                    f"connection setting {key!r} as 'secret:NAME' (store the value with "
                    "`opsgate secrets set NAME`), never the value itself"
                )
        elif is_secret_ref(value):
            problems.append(f"no secret reference in {key!r}: it is not a credential setting")
        elif scrub(value) != value:
            problems.append(
                f"no credential in connection setting {key!r}: put it in the secret store "
                "and refer to it from a credential setting"
            )
    return problems


def _validate(changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name == "approval_ttl_seconds":
            if type(value) is not int or not MIN_TTL_SECONDS <= value <= MAX_TTL_SECONDS:
                raise Denied(
                    f"approval_ttl_seconds is a whole number of seconds from "
                    f"{MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}",
                    status=422,
                    code="invalid_setting",
                )
        elif type(value) is not bool:
            raise Denied(f"{name} is true or false", status=422, code="invalid_setting")


def _target_json(target: InventoryTarget | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {
        "name": target.name,
        "kind": target.kind,
        "environment": target.environment.label,
        "access": target.access,
        "match": list(target.match),
    }


def _weakens(old: InventoryTarget | None, new: InventoryTarget | None) -> bool:
    """Taking a production target out of production, removing it, or widening its
    access is as strong as turning Production Protection off: owners only."""
    if old is None or old.environment is not Environment.PRODUCTION:
        return False
    if new is None or new.environment is not Environment.PRODUCTION:
        return True
    return ACCESS.index(new.access) > ACCESS.index(old.access)


class OrgMixin(RejudgeMixin):
    def settings(self) -> Settings:
        with self.store.read() as conn:
            return pinned_over(org.load_settings(conn), self._file_policy())

    def change_settings(self, actor: Principal, changes: dict[str, Any]) -> Settings:
        if not changes:
            raise Denied("no settings to change", status=422, code="invalid_setting")
        file_policy = self._file_policy()
        with self.store.write() as conn:
            actor = self._fresh(conn, actor)
            can_change_settings(actor.role, changes)
            _validate(changes)
            if pinned := sorted(set(changes) & file_policy.pinned):
                raise Denied(
                    f"{', '.join(pinned)} is set in the policy file ({file_policy.source}): "
                    "change it there, so that every opsgate reading the file agrees",
                    status=409,
                    code="set_in_policy_file",
                )
            old = pinned_over(org.load_settings(conn), file_policy)
            diff = {k: v for k, v in changes.items() if getattr(old, k) != v}
            if not diff:
                return old
            org.save_settings(conn, diff, actor.id, self.clock())
            new = dataclasses.replace(old, **diff)
            self._append(
                EventType.SETTINGS_CHANGED,
                actor,
                result={"old": {k: getattr(old, k) for k in diff}, "new": diff},
            )
            cancelled = self._rejudge(conn, actor)  # every open card, at once
        self._tell("card.cancelled", cancelled)
        return new

    def list_targets(self, actor: Principal) -> list[InventoryTarget]:
        """Agents get names, environments and access levels, never ``connection``:
        hosts, accounts and backup locations are the executor's business (the MCP
        server's ``list_targets`` shows the same)."""
        with self.store.read() as conn:
            found = org.list_targets(conn)
        if actor.role is Role.AGENT:
            return [dataclasses.replace(t, connection=()) for t in found]
        return found

    def put_target(self, actor: Principal, target: InventoryTarget) -> InventoryTarget:
        self._check_target(target)
        with self.store.write() as conn:
            actor = self._fresh(conn, actor)
            self._require(actor, Role.ADMIN, "changing the inventory")
            old = org.get_target(conn, target.name)
            if _weakens(old, target):
                self._require(
                    actor,
                    Role.OWNER,
                    "moving a production target out of production or widening its access",
                )
            org.put_target(conn, target, self.clock(), actor.id)
            self._append(
                EventType.INVENTORY_CHANGED,
                actor,
                target=target.name,
                environment=target.environment.label,
                result={"inventory": "put", "old": _target_json(old), "new": _target_json(target)},
            )
            cancelled = self._rejudge(conn, actor)
        self._tell("card.cancelled", cancelled)
        return target

    def delete_target(self, actor: Principal, name: str) -> None:
        with self.store.write() as conn:
            actor = self._fresh(conn, actor)
            self._require(actor, Role.ADMIN, "changing the inventory")
            old = org.get_target(conn, name)
            if old is None:
                raise Denied(f"no inventory target {name!r}", status=404, code="not_found")
            if _weakens(old, None):
                self._require(actor, Role.OWNER, "removing a production target")
            org.delete_target(conn, name)
            self._append(
                EventType.INVENTORY_CHANGED,
                actor,
                target=name,
                environment=old.environment.label,
                result={"inventory": "delete", "old": _target_json(old), "new": None},
            )
            cancelled = self._rejudge(conn, actor)
        self._tell("card.cancelled", cancelled)

    def inventory(self) -> Inventory:
        with self.store.read() as conn:
            return Inventory.of(org.list_targets(conn))

    @staticmethod
    def _check_target(target: InventoryTarget) -> None:
        problems = []
        if not target.name.strip() or len(target.name) > 255:
            problems.append("a name of 1–255 characters")
        if target.kind not in KINDS:
            problems.append(f"a kind among {', '.join(sorted(KINDS))}")
        if target.access not in ACCESS:
            problems.append(f"an access level among {', '.join(ACCESS)}")
        if not isinstance(target.environment, Environment):
            problems.append("an environment (production, staging, development, local)")
        if any(not isinstance(p, str) or not p for p in target.match):
            problems.append("match patterns that are non-empty strings")
        problems.extend(_connection_problems(target.connection))
        if problems:
            raise Denied(
                "an inventory target needs " + "; ".join(problems),
                status=422,
                code="invalid_target",
            )
