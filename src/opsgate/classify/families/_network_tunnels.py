"""Local ports that lead into a cluster: ``kubectl proxy`` and ``kubectl port-forward``.

``kubectl proxy --port=8001 & curl -X DELETE localhost:8001/api/v1/namespaces/prod``
deletes a namespace, though the request goes to this machine.  A proxy or a
port-forward started earlier in the same command records its local port here, with
the cluster evidence of the kubectl command that opened it; a request to that port
on a loopback address is then judged as a call on that cluster: a read stays a read
(a read of secrets is a secret read), anything else is a change that needs a person.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from urllib.parse import urlsplit

from opsgate.classify._command import Command, Context
from opsgate.classify._files_listen import UNIDENTIFIED
from opsgate.models import Effect, Finding, Impact

__all__ = ["note_tunnel", "through_tunnel"]

ANY_PORT = "*"  # a random local port (``--port=0``, ``:80``): every loopback port
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECRETS = re.compile(r"/secrets(\b|/|\?|$)|/serviceaccounts/[^/]+/token\b", re.I)
_PROXY_VALUED = ("-p", "--port", "--address", "--accept-hosts", "--api-prefix", "-P", "-w",
                 "--www", "--www-prefix", "--reject-paths", "--reject-methods", "-u",
                 "--unix-socket")  # fmt: skip


def note_tunnel(cmd: Command, ctx: Context, verb: str, words: list[str], opened: Finding) -> None:
    """Record the local ports ``kubectl proxy``/``port-forward`` (``cmd``) opens."""
    tunnels = _tunnels(ctx)
    if tunnels is None:
        return
    if verb == "proxy":
        port = cmd.option("-p", "--port") or "8001"
        kind = "the Kubernetes API through kubectl proxy"
        tunnels[ANY_PORT if port == "0" else port] = dataclasses.replace(opened, reason=kind)
        return
    kind = f"{words[1] if len(words) > 1 else 'a pod'} in the cluster through kubectl port-forward"
    for spec in words[2:]:
        local = spec.split(":", 1)[0] if ":" in spec else spec
        if local == "" or local == "0":
            local = ANY_PORT
        if local == ANY_PORT or local.isdigit():
            tunnels[local] = dataclasses.replace(opened, reason=kind)


def through_tunnel(ctx: Context, url: str, method: str, evidence: str) -> list[Finding] | None:
    """The findings for a request to a loopback ``url`` whose port a tunnel opened in
    this command, or None."""
    tunnels = _tunnels(ctx)
    if tunnels is None:
        return None
    text = url if "://" in url else f"http://{url.lstrip(':') if url.startswith(':') else url}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    method = method.upper()
    opened = tunnels.get(str(port)) if port is not None else None
    opened = opened or tunnels.get(ANY_PORT)
    if opened is None:
        return _earlier_tunnel(ctx, parts.scheme, port, parts.path, method, evidence)
    where = opened.reason
    if method in _READS and _SECRETS.search(parts.path) and "proxy" in where:
        reason = f"reads Kubernetes secrets through {where}"
        return [_as(opened, "secrets.read", Impact.CAUTION, Effect.SECRET, evidence, reason)]
    if method in _READS:
        return [_as(opened, "kubernetes.read", Impact.SAFE, Effect.READ, evidence,
                    f"reads {where}")]  # fmt: skip
    impact = Impact.DESTRUCTIVE if method == "DELETE" else Impact.CAUTION
    reason = f"{method} changes {where}"
    return [_as(opened, "kubernetes.api", impact, Effect.WRITE, evidence, reason)]


# Programs that forward a local port somewhere else, by name: the words that make
# them do it (any: None).  A request to their port goes where they forward it.
_INTERPRETER = re.compile(r"^(?:python[\d.]*|node|nodejs|bash|sh|dash|perl|ruby)$")
_FORWARDERS: dict[str, tuple[str, ...] | None] = {
    "kubectl": ("proxy", "port-forward"), "oc": ("proxy", "port-forward"),
    "ssh": ("-L", "-D"), "autossh": ("-L", "-D"), "socat": None, "kubefwd": None,
    "cloud-sql-proxy": None, "cloud_sql_proxy": None, "gcloud": ("start-iap-tunnel",),
    "aws": ("start-session",), "session-manager-plugin": None, "tsh": ("proxy",),
    "boundary": ("connect",), "az": ("tunnel",), "telepresence": None,
}  # fmt: skip


def _earlier_tunnel(
    ctx: Context, scheme: str, port: int | None, path: str, method: str, evidence: str
) -> list[Finding] | None:
    """A request to a port that a tunnel started by an earlier command listens on
    (``kubectl proxy &`` in one call, ``curl -X DELETE localhost:8001/…`` in the
    next).  Only requests that could change something, or read secrets, look."""
    if method in _READS and not _SECRETS.search(path):
        return None
    files = getattr(getattr(ctx, "session", None), "files", None)
    if files is None:
        return None
    listening = files.listener(port or (443 if scheme == "https" else 80))
    if listening is None:
        return None
    if listening == UNIDENTIFIED:
        reason = f"a process opsgate could not identify in time listens on port {port}"
        return [Finding("unknown", Impact.CAUTION, Effect.UNKNOWN, evidence, reason)]
    argv = shlex.split(listening)
    while argv and _INTERPRETER.match(argv[0].rsplit("/", 1)[-1]):
        argv = [w for w in argv[1:] if w[:1] != "-"][:1] + argv[2:]  # ``python3 kubectl …``
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    if program not in _FORWARDERS:
        return None
    marks = _FORWARDERS[program]
    if marks is not None and not any(w in marks or w.startswith(marks) for w in argv[1:]):
        return None
    best = None
    for word in argv[1:]:
        found = (
            ctx.environment_of(word.split("=", 1)[-1]) if word[:1] != "-" or "=" in word else None
        )
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    where = f"what {program} forwards port {port} to ({listening[:120]})"
    if method in _READS:
        impact, effect, category = Impact.CAUTION, Effect.SECRET, "secrets.read"
        reason = f"reads Kubernetes secrets through {where}"
    else:
        impact = Impact.DESTRUCTIVE if method == "DELETE" else Impact.CAUTION
        effect, category, reason = Effect.WRITE, "network.tunnel", f"{method} changes {where}"
    return [
        Finding(
            category,
            impact,
            effect,
            evidence,
            reason,
            f"{program} tunnel",
            best[0] if best else None,
            best[1] if best else None,
        )
    ]


def _as(
    opened: Finding, category: str, impact: Impact, effect: Effect, evidence: str, reason: str
) -> Finding:
    return dataclasses.replace(
        opened, category=category, impact=impact, effect=effect, evidence=evidence, reason=reason
    )


def _tunnels(ctx: Context) -> dict[str, Finding] | None:
    session = getattr(ctx, "session", None)
    if session is None or getattr(ctx, "remote", None) is not None:
        return None
    tunnels: dict[str, Finding] = session.tunnels
    return tunnels
