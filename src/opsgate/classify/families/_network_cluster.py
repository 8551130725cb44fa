"""The Kubernetes API as seen from inside a pod: ``kubernetes.default.svc``.

A pod's service account token authenticates any request to it, so a fetch of
``/api/v1/namespaces/prod/secrets`` returns secret values and any other request is a
call on the cluster's infrastructure, whatever the method.
"""

from __future__ import annotations

import re

from opsgate.models import Effect, Finding, Impact

__all__ = ["cluster_api_findings"]

_HOSTS = re.compile(
    r"^(kubernetes|kubernetes\.default|kubernetes\.default\.svc"
    r"|kubernetes\.default\.svc\.cluster\.local)\.?$",
    re.I,
)
_HOST_VARS = re.compile(r"\$\{?KUBERNETES_(SERVICE_HOST|PORT_443_TCP_ADDR|PORT)\b")
_SECRETS = re.compile(r"/secrets(\b|/|\?|$)|/serviceaccounts/[^/]+/token\b", re.I)
TARGET = "kubernetes API (in-cluster)"


def cluster_api_findings(url: str, host: str, evidence: str) -> list[Finding] | None:
    """Findings for a request to the in-cluster API, or None when ``url`` is elsewhere."""
    if not (_HOSTS.match(host.strip("[]")) or _HOST_VARS.search(url)):
        return None
    if _SECRETS.search(url):
        reason = "reads Kubernetes secrets through the in-cluster API"
        return [Finding("secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason, TARGET)]
    reason = "calls the cluster's API with the pod's service account"
    return [Finding("kubernetes.api", Impact.CAUTION, Effect.UNKNOWN, evidence, reason, TARGET)]
