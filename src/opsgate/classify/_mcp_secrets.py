"""MCP tools that hand a secret's value to the agent: secret managers and the tools of
any server whose name says it reads a secret.

``mcp__vault__read_secret {path: secret/data/shop/prod}`` is ``vault kv get`` by
another route, and ``mcp__k8s__get_secret`` is ``kubectl get secret -o yaml``: secret
reads (SPEC safeguard 2.1), whatever the server is called in the agent's
configuration.  A server is a secret manager by its name (Vault, 1Password,
Bitwarden, Doppler, Infisical, cloud secret and key vaults …); there every tool that
reads is a secret read, except those that only list or describe (names, versions,
metadata: no values).  On any other server a tool is one when its name pairs a
reading verb with a secret noun (``get_secret_value``, ``read_password``,
``access_secret_version``).  A Kubernetes server's generic get/list tool is one when
its arguments name the Secret kind.  Writes fall through to the verb tables, which
stop them for a person as any other MCP write.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opsgate.models import Effect, Finding, Impact

__all__ = ["is_secret_manager", "secret_read"]

_MANAGER = re.compile(
    r"vault|openbao|1password|onepassword|^op$|bitwarden|^bws?$|doppler|infisical|keeper|"
    r"lastpass|dashlane|akeyless|conjur|cyberark|secret|key[-_]?vault|sops|passbolt|gopass|"
    r"^pass$|keychain|keyring|credential|password|psono|delinea|thycotic|beyondtrust"
)
_WORD = r"(?:^|[_\-])(?:{})(?:[_\-]|$)"
# Verbs that return what is stored (on a secret manager, any of them).
_REVEALS = re.compile(
    _WORD.format(
        r"get|read|reveal|fetch|retrieve|access|show|view|export|copy|download|dump|value|"
        r"decrypt|unwrap|resolve|lookup|inject|load|open|use|generate_env|env"
    )
)
# Tools that answer with names and metadata only.
_METADATA = re.compile(
    _WORD.format(
        r"list|search|find|describe|metadata|exists|count|versions|policies|status|"
        r"health|whoami|mounts|tree"
    )
)
_NOUN = re.compile(
    r"secret|password|passwd|credential|api_?key|private_?key|access_?token|auth_?token|"
    r"api_?token|client_?secret|connection_?string|ssh_?key"
)
_WRITES = re.compile(
    _WORD.format(
        r"create|update|set|put|write|delete|remove|destroy|rotate|patch|add|store|"
        r"save|upsert|import|revoke|disable|enable|move|rename"
    )
)


def is_secret_manager(server: str) -> bool:
    """A server named like a secret manager: its ``path`` arguments are secret paths,
    never files on this machine."""
    return _MANAGER.search(server.lower()) is not None


def secret_read(server: str, name: str, args: dict[str, Any]) -> list[Finding] | None:
    """The finding for an MCP tool that reads a secret's value, else None.  ``name``
    is the tool's name in words (``get_secret_value``)."""
    manager = is_secret_manager(server)
    if _kube_secret(server, name, args):
        evidence = f"mcp__{server}__{name} {json.dumps(args, sort_keys=True)[:160]}"
        reason = f"{name} returns Kubernetes Secret objects with their data"
        return [Finding("secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason,
                        f"mcp:{server}")]  # fmt: skip
    if _WRITES.search(name) or (_METADATA.search(name) and not _names_value(name)):
        return None
    if not (_REVEALS.search(name) and (manager or _NOUN.search(name))):
        return None
    evidence = f"mcp__{server}__{name} {json.dumps(args, sort_keys=True)[:160]}"
    where = "a secret manager" if manager else server
    reason = f"{name} reads a secret's value from {where}"
    target = f"mcp:{server}"
    return [Finding("secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason, target)]


# A Kubernetes server's generic resource tools name the kind in an argument
# (``resources_get {kind: Secret}``, ``kubectl_get {resourceType: secrets}``, MKP's
# ``get_resource {resource: secrets}``): getting or listing Secrets is
# ``kubectl get secret -o yaml``, unless only names are asked for.
_KUBE = re.compile(r"kube|k8s|kubectl|openshift|^oc$|^eks|^gke|^aks")
_KIND_KEYS = ("kind", "resourceType", "resource_type", "resource", "type", "resourceKind")
_KUBE_READS = re.compile(_WORD.format(r"get|list|read|fetch|watch|show|view|export|dump"))


def _kube_secret(server: str, name: str, args: dict[str, Any]) -> bool:
    if not (_KUBE.search(server.lower()) or _KUBE.search(name)):
        return False
    kinds = {str(args.get(key, "")).lower().split(".")[0] for key in _KIND_KEYS}
    if not kinds & {"secret", "secrets"} or _WRITES.search(name):
        return False
    return bool(_KUBE_READS.search(name)) and args.get("output") not in ("name", "wide")


def _names_value(name: str) -> bool:
    """A name that says ``value``, ``reveal`` or ``decrypt`` returns the value,
    whatever else it says (``describe_secret_value``)."""
    return re.search(_WORD.format("value|values|reveal|plaintext|decrypt"), name) is not None
