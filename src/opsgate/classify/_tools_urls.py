"""Web fetches: cloud metadata endpoints and local files by URL."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from opsgate.classify._tools_files import _f
from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = ["classify_url"]


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_metadata_host(host: str) -> bool:
    from opsgate.classify.families.network import is_metadata_host as check

    return check(host)


# Unauthenticated admin APIs that listen on loopback: Docker, kubelet, etcd, Consul,
# Nomad, Vault, the Kubernetes API proxy.  Their answers carry secrets
# (container environments, key-value data) and their writes change infrastructure.
_ADMIN_PORTS = frozenset({2375, 2376, 10250, 10255, 2379, 8500, 4646, 8200, 8001})


def classify_url(url: str) -> list[Finding]:
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        host = parts.hostname or ""
    except ValueError:
        return [_f("unknown", Impact.CAUTION, Effect.UNKNOWN, url, "a URL that does not parse")]
    try:
        port = parts.port
    except ValueError:
        port = None
    if port in _ADMIN_PORTS:
        reason = f"talks to a local infrastructure admin API on port {port}"
        return [_f("network.admin_api", Impact.CAUTION, Effect.UNKNOWN, url, reason, host)]
    if is_metadata_host(host):
        return [
            _f(
                "secrets.cloud_metadata",
                Impact.CAUTION,
                Effect.SECRET,
                url,
                "reads the cloud metadata service, which hands out instance credentials",
                host,
            )
        ]
    from opsgate.classify.families._network_cluster import cluster_api_findings

    cluster = cluster_api_findings(url, host, url[:200])
    if cluster is not None:
        return cluster
    ip = _ip(host)
    if ip is not None and ip.is_private and not ip.is_loopback:
        return [
            _f(
                "network.internal",
                Impact.CAUTION,
                Effect.UNKNOWN,
                url,
                f"fetches from the internal address {host}",
                host,
            )
        ]
    if parts.scheme == "file":
        return classify_url_file(parts.path)
    return [_f("network.read", Impact.SAFE, Effect.READ, url, f"fetches {host}")]


def classify_url_file(path: str) -> list[Finding]:
    if is_secret_path(path):
        return [_f("secrets.read", Impact.CAUTION, Effect.SECRET, path, "reads a secret file")]
    return [_f("filesystem.read", Impact.SAFE, Effect.READ, path, "reads a local file")]
