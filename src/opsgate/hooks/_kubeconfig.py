"""What the Kubernetes context resolves to, for a grant to bind (issue 13.5).

A context is only a name: ``kubectl config set-cluster c1 --server=https://prod…``
(or another file behind the same ``$KUBECONFIG`` path) points the same name at
another cluster, identity or namespace.  So the grant binds what the names resolve
to in the merged kubeconfig, as kubectl merges it (the first file that sets
``current-context`` or defines a name wins):

- ``kube.server`` and ``kube.namespace``: the current context's cluster address and
  namespace, shown on the card (an address with ``@`` in it is left out: it could
  carry credentials);
- ``kube.cluster``: ``sha256:…`` over every context's cluster (name, server, TLS
  server name, proxy) and user (name, exec plugin and its arguments, auth provider,
  certificate and token *file paths*, impersonation) and namespace — so
  ``kubectl --context other`` is bound as well as the current one.

Credentials in the file (tokens, keys, passwords, an auth provider's cached tokens)
are never part of it: a token refreshed between the card and the retry changes
nothing, and no secret is hashed.  A file that is not a mapping of the expected
shape is bound by its raw hash instead: a change still needs a new card.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["resolve"]

_MAX_FILES = 8
_MAX_NODES = 20_000  # values hashed, all contexts together
_SECTIONS = (("contexts", "context"), ("clusters", "cluster"), ("users", "user"))
_CLUSTER_KEYS = ("server", "tls-server-name", "proxy-url", "certificate-authority")
_USER_KEYS = ("username", "client-certificate", "client-key", "tokenFile", "as", "as-groups",
              "as-uid")  # fmt: skip


def resolve(paths: Iterable[str], read: Callable[[str], str | None]) -> dict[str, str]:
    """``kube.server``, ``kube.namespace`` and ``kube.cluster`` for the kubeconfig
    files at ``paths`` (read with ``read``, bounded by the caller); {} when none."""
    texts = [t for t in (read(p) for p in list(paths)[:_MAX_FILES]) if t]
    if not texts:
        return {}
    merged = _merge(texts)
    if merged is None:
        return {"kube.cluster": "sha256:" + _raw(texts)}
    current, sections = merged
    every = {name: _resolved(name, sections) for name in sorted(sections["contexts"])}
    try:
        # YAML aliases share one value however often they appear: copied out within a
        # bound, so a file of nested aliases cannot make this expand without end.
        plain = _plain(every, [_MAX_NODES])
    except _TooLarge:
        return {"kube.cluster": "sha256:" + _raw(texts)}
    body = json.dumps(plain, sort_keys=True, separators=(",", ":"))
    found = {"kube.cluster": "sha256:" + hashlib.sha256(body.encode()).hexdigest()}
    here = every.get(current or "")
    if here is not None:
        server = here["cluster"].get("server")
        if isinstance(server, str) and server and "@" not in server:
            found["kube.server"] = server[:200]
        if isinstance(here["namespace"], str) and here["namespace"]:
            found["kube.namespace"] = here["namespace"][:200]
    return found


def _raw(texts: list[str]) -> str:
    return hashlib.sha256("\x00".join(texts).encode("utf-8", "replace")).hexdigest()


class _TooLarge(Exception):
    pass


def _plain(value: object, budget: list[int]) -> object:
    """``value`` as plain JSON data, counting every node against ``budget``."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    if isinstance(value, dict):
        return {str(k): _plain(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, budget) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _merge(texts: list[str]) -> tuple[str | None, dict[str, dict[str, Any]]] | None:
    """(current-context, {section: {name: body}}) merged as kubectl does, or None
    when a file is not a kubeconfig mapping."""
    current: str | None = None
    sections: dict[str, dict[str, Any]] = {plural: {} for plural, _ in _SECTIONS}
    for text in texts:
        data = _load(text)
        if not isinstance(data, dict):
            return None
        if current is None and isinstance(data.get("current-context"), str):
            current = data["current-context"] or None
        for plural, singular in _SECTIONS:
            items = data.get(plural) or []
            if not isinstance(items, list):
                return None
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    body = item.get(singular)
                    named = sections[plural]
                    named.setdefault(item["name"], body if isinstance(body, dict) else {})
    return current, sections


def _resolved(name: str, sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    context = sections["contexts"][name]
    cluster_name, user_name = context.get("cluster"), context.get("user")
    cluster = sections["clusters"].get(cluster_name) if isinstance(cluster_name, str) else None
    user = sections["users"].get(user_name) if isinstance(user_name, str) else None
    return {
        "cluster_name": cluster_name,
        "cluster": {k: (cluster or {}).get(k) for k in _CLUSTER_KEYS},
        "user_name": user_name,
        "user": _identity(user or {}),
        "namespace": context.get("namespace"),
    }


def _identity(user: dict[str, Any]) -> dict[str, Any]:
    """What selects the identity, without a credential: an exec plugin's command,
    arguments and environment, an auth provider's name, file paths, impersonation."""
    shown: dict[str, Any] = {k: user.get(k) for k in _USER_KEYS}
    plugin = user.get("exec")
    if isinstance(plugin, dict):
        shown["exec"] = {k: plugin.get(k) for k in ("command", "args", "env", "apiVersion")}
    provider = user.get("auth-provider")
    if isinstance(provider, dict):
        shown["auth-provider"] = provider.get("name")
    return shown


def _load(text: str) -> object:
    import yaml  # only when a card is due: the hook's hot path never gets here

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
