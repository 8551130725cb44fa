"""Target resolution and environment evidence (SPEC §3).

Order: the inventory, then explicit evidence in the action (a kube context named
``prod-…``, ``RAILS_ENV=production``, ``--profile prod``), then name heuristics.
A remote target whose environment can't be established is ``production``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opsgate.models import Environment

__all__ = [
    "CREDENTIAL_KEYS",
    "AccessLevel",
    "Inventory",
    "InventoryTarget",
    "guess_environment",
    "is_secret_ref",
]

AccessLevel = str  # "full" | "read_only" | "no_access"

_TOKEN = re.compile(r"[a-z0-9]+")
_TOKENS: dict[str, Environment] = {}
for _env, _names in {
    Environment.PRODUCTION: ("prod", "production", "prd", "live"),
    Environment.STAGING: ("staging", "stage", "stg", "preprod", "uat", "qa"),
    Environment.DEVELOPMENT: ("dev", "development", "test", "testing", "sandbox", "preview"),
    Environment.LOCAL: ("local", "localhost", "minikube", "kind", "k3d"),
}.items():
    for _name in _names:
        _TOKENS[_name] = _env
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|::1|localhost|0\.0\.0\.0)$")


def guess_environment(name: str) -> Environment | None:
    """The environment a name suggests (``prod-eu-1`` → production), or None.

    The most sensitive token wins: ``prod-dev-mirror`` is production.
    """
    lowered = name.lower()
    if _LOOPBACK.match(lowered):
        return Environment.LOCAL
    found = [_TOKENS[t] for t in _TOKEN.findall(lowered) if t in _TOKENS]
    return max(found) if found else None


# Connection settings that hold credentials: only ever ``secret:NAME`` references
# (a value here would be served to every reader of the inventory).
CREDENTIAL_KEYS = frozenset({"key", "backup_key", "dsn", "token", "password"})
_SECRET_REF = re.compile(r"^secret:[A-Za-z0-9_.-]{1,128}$")


def is_secret_ref(value: str) -> bool:
    return bool(_SECRET_REF.match(value))


@dataclass(frozen=True, slots=True)
class InventoryTarget:
    name: str
    kind: str  # server, site, database, backup, cluster
    environment: Environment
    access: AccessLevel = "full"
    match: tuple[str, ...] = ()
    # How opsgate's executor reaches the target (host, port, user, key, host_key,
    # dsn, url, backup_user, backup_key, backup_dir, runner), as sorted pairs so the
    # value stays hashable.  Credentials are ``secret:NAME`` references, never values.
    connection: tuple[tuple[str, str], ...] = ()

    def setting(self, key: str) -> str | None:
        return dict(self.connection).get(key)

    def matches(self, text: str) -> bool:
        lowered = text.lower()
        if lowered == self.name.lower():
            return True
        return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in self.match)


@dataclass(frozen=True, slots=True)
class Inventory:
    targets: tuple[InventoryTarget, ...] = ()

    @classmethod
    def of(cls, targets: Iterable[InventoryTarget]) -> Inventory:
        return cls(tuple(targets))

    def find(self, text: str) -> InventoryTarget | None:
        for target in self.targets:
            if target.matches(text):
                return target
        return None

    def find_in(self, texts: Sequence[str]) -> InventoryTarget | None:
        """The first inventory target named by any of ``texts`` (hosts, URLs, words)."""
        if not self.targets:
            return None
        for text in texts:
            for candidate in _candidates(text):
                hit = self.find(candidate)
                if hit is not None:
                    return hit
        return None

    def environment_of(self, text: str) -> tuple[Environment, str] | None:
        hit = self.find_in([text])
        if hit is not None:
            return hit.environment, f"inventory: {hit.kind} {hit.name}"
        guessed = guess_environment(text)
        if guessed is not None:
            return guessed, f"name heuristic: {text!r}"
        return None


_URL_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)", re.IGNORECASE)


def _candidates(text: str) -> list[str]:
    """A text, its words, and the host inside each: ``postgresql://u@db/x`` → ``db``,
    ``ops@web-1`` → ``web-1``, ``db.internal:postgresql`` → ``db.internal``."""
    out = [text]
    for word in text.split()[:32] if " " in text else [text]:
        word = word.strip("'\"")
        if word != text:
            out.append(word)
        m = _URL_HOST.match(word)
        if m:
            out.append(m.group(1).strip("[]"))
            continue
        host = word.rsplit("@", 1)[-1]
        out.append(host.split(":", 1)[0])
    return list(dict.fromkeys(out))
