"""Findings shared by the network clients: URLs, uploads, outputs and option scanning."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from opsgate.classify._command import Command, Context
from opsgate.classify.families._network_addresses import (
    _words,
    is_loopback_host,
    is_metadata_host,
    url_host,
)
from opsgate.classify.families._network_cluster import cluster_api_findings
from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Finding, Impact

__all__ = [
    "_L",
    "_R",
    "_S",
    "_U",
    "_W",
    "_exfil",
    "_finding",
    "_has",
    "_output_findings",
    "_scan",
    "_values",
    "_with_env",
    "classify_url",
]

_R, _L, _W, _U, _S = Effect.READ, Effect.LOCAL, Effect.WRITE, Effect.UNKNOWN, Effect.SECRET


# ── findings ───────────────────────────────────────────────────────────────
_READ_METHODS = _words("GET HEAD OPTIONS TRACE CONNECT PROPFIND")


def _finding(
    effect: Effect,
    category: str,
    evidence: str,
    reason: str,
    target: str | None = None,
    impact: Impact | None = None,
) -> Finding:
    if impact is None:
        impact = Impact.SAFE if effect in (_R, _L) else Impact.CAUTION
    return Finding(category, impact, effect, evidence, reason, target)


def _with_env(findings: Iterable[Finding], ctx: Context) -> list[Finding]:
    """Fill in the environment of each finding's target host from the inventory
    or its name; a remote host's unknown environment is left for the policy."""
    out = []
    for f in findings:
        if f.target and f.environment is None:
            env = ctx.environment_of(f.target)
            if env is not None:
                f = dataclasses.replace(f, environment=env[0], env_source=env[1])
        out.append(f)
    return out


def classify_url(url: str, method: str = "GET", evidence: str | None = None) -> list[Finding]:
    """One HTTP request by method and URL (also the WebFetch tool's verdict)."""
    evidence = evidence or url
    method = method.upper()
    scheme = url.split("://", 1)[0].lower() if "://" in url else "http"
    host = url_host(url)
    if scheme not in ("http", "https", "ftp", "ftps", "ws", "wss", "sftp", "scp") or not host:
        reason = f"a {scheme}: URL reaches something other than a web server"
        return [_finding(_U, "network.request", evidence, reason, host)]
    if is_metadata_host(host):
        reason = "the cloud metadata service hands out live credentials"
        return [_finding(_S, "secrets.cloud_metadata", evidence, reason, host)]
    cluster = cluster_api_findings(url, host, evidence)
    if cluster is not None:
        return cluster
    if is_loopback_host(host):
        effect = _R if method in _READ_METHODS else _L
        return [_finding(effect, "network.request", evidence, "request to this machine", host)]
    if method in _READ_METHODS:
        return [_finding(_R, "network.request", evidence, f"{method} is a read", host)]
    impact = Impact.DESTRUCTIVE if method == "DELETE" else Impact.CAUTION
    reason = f"{method} changes state on {host}"
    return [_finding(_W, "network.request.write", evidence, reason, host, impact)]


# Places a download must not land: they run code or hold trust.
_PROTECTED = re.compile(
    r"^(/etc|/usr|/bin|/sbin|/lib\w*|/boot|/var/spool/cron|/System|/Library)(/|$)"
    r"|^~?/?(\.bashrc|\.bash_profile|\.bash_login|\.profile|\.zshrc|\.zprofile|\.zshenv"
    r"|\.config/fish/config\.fish|\.ssh/.*|\.local/bin/.*|\.config/autostart/.*)$"
    r"|(^|/)\.git/(hooks/|config$)"
)


def _output_findings(cmd: Command, ctx: Context, paths: Iterable[str | None]) -> list[Finding]:
    out = []
    for path in paths:
        if not path or path == "-":
            continue
        rel = path[len(ctx.home) :] if path.startswith(ctx.home + "/") else path
        if _PROTECTED.search(rel.removeprefix("~")) or _PROTECTED.search(rel):
            reason = f"writes a download to a protected place ({path})"
            out.append(_finding(_W, "filesystem.write_protected", cmd.text, reason, path))
    return out


def _exfil(cmd: Command, host: str, files: Iterable[str]) -> list[Finding]:
    """Files sent to ``host``: secrets are disclosed; anything else leaves the
    machine, which is a write unless the other end is this machine."""
    out = []
    for path in files:
        if is_secret_path(path):
            reason = f"sends the secret file {path} to {host}"
            out.append(_finding(_S, "secrets.exfiltration", cmd.text, reason, host))
        elif not is_loopback_host(host):
            reason = f"uploads {path} to {host}"
            out.append(_finding(_W, "network.upload", cmd.text, reason, host))
    return out


# ── option scanning ────────────────────────────────────────────────────────


def _scan(
    words: Iterable[str], short: str, long: frozenset[str], stop_at_positional: bool = False
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(options, positionals) for getopt-style words, where a cluster may end in
    a valued option (``-sX PUT``, ``-XPOST``, ``-fNR 80:x:80``)."""
    opts: list[tuple[str, str | None]] = []
    pos: list[str] = []
    items = iter(words)
    for word in items:
        if pos and stop_at_positional:
            pos.append(word)
        elif word == "--":
            pos.extend(items)
        elif word.startswith("--"):
            name, eq, value = word.partition("=")
            opts.append((name, value if eq else next(items, "") if name in long else None))
        elif word.startswith("-") and len(word) > 1:
            for i, ch in enumerate(word[1:], 1):
                if ch in short:
                    opts.append((f"-{ch}", word[i + 1 :] or next(items, "")))
                    break
                opts.append((f"-{ch}", None))
        else:
            pos.append(word)
    return opts, pos


def _values(opts: list[tuple[str, str | None]], *names: str) -> list[str]:
    return [v for k, v in opts if k in names and v is not None]


def _has(opts: list[tuple[str, str | None]], *names: str) -> bool:
    return any(k in names for k, _ in opts)
