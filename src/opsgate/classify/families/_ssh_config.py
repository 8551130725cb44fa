"""What ssh's configuration file makes it do on this machine, and where it connects.

``ssh -F ./ssh_config bastion uptime`` reads that file (and only it); without ``-F``,
ssh reads ``~/.ssh/config``.  A ``Host`` block that matches the destination may run
programs here before anything reaches the other machine (``ProxyCommand``,
``LocalCommand`` with ``PermitLocalCommand yes``, ``KnownHostsCommand``; a ``Match
exec`` line runs while the file is read) and may name the real machine
(``HostName web-prod-1``).  Each program is judged as the command it is; the host
name decides the target's environment.  ssh keeps the first value it finds, so
options on the command line win over the file.
"""

from __future__ import annotations

import fnmatch
import re

from opsgate.classify._command import Command, Context
from opsgate.models import Finding

__all__ = ["config_commands", "config_settings"]

_LINE = re.compile(r"^\s*(\w+)\s*(?:=\s*|\s+)(.*?)\s*$")
_MATCH_EXEC = re.compile(r"""\bexec\s+(?:"([^"]*)"|'([^']*)'|(\S+))""", re.IGNORECASE)
_RUNS = ("proxycommand", "localcommand", "knownhostscommand")


def config_settings(cmd: Command, ctx: Context, config: str | None, alias: str) -> dict[str, str]:
    """The settings (lower-cased keys, first value kept) the configuration gives
    ``alias``; ``config`` is ``-F``'s file, None for ``~/.ssh/config``."""
    text = _text(cmd, ctx, config)
    if not text:
        return {}
    settings: dict[str, str] = {}
    applies = True  # lines before the first Host/Match apply to every host
    for line in text.splitlines():
        found = _LINE.match(line)
        if found is None or line.lstrip().startswith("#"):
            continue
        key, value = found.group(1).lower(), found.group(2)
        if key == "host":
            applies = _matches(value.split(), alias)
        elif key == "match":
            applies = "all" in value.lower().split() or "exec" in value.lower()
        elif applies:
            settings.setdefault(key, value.strip().strip('"'))
    return settings


def config_commands(cmd: Command, ctx: Context, config: str | None, alias: str,
                    settings: dict[str, str]) -> list[Finding]:  # fmt: skip
    """Findings for the programs the configuration runs on this machine."""
    findings: list[Finding] = []
    text = _text(cmd, ctx, config) or ""
    for line in text.splitlines():
        found = _LINE.match(line)
        if found is not None and found.group(1).lower() == "match":
            for m in _MATCH_EXEC.finditer(found.group(2)):
                program = next(g for g in m.groups() if g is not None)
                findings += ctx.classify_shell(program, via="ssh config Match exec")
    for key in _RUNS:
        value = settings.get(key, "none")
        if value.lower() == "none":
            continue
        if key == "localcommand" and settings.get("permitlocalcommand", "no").lower() != "yes":
            continue
        findings += ctx.classify_shell(value, via=f"ssh config {key} for {alias}")
    return findings


def _text(cmd: Command, ctx: Context, config: str | None) -> str | None:
    if config is not None:
        return ctx.read_text(config, cmd.cwd)
    home = ctx.home
    return ctx.read_text(f"{home.rstrip('/')}/.ssh/config", None) if home else None


def _matches(patterns: list[str], alias: str) -> bool:
    """ssh's ``Host`` patterns: any positive match, no negated one (``!bastion``)."""
    hit = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if fnmatch.fnmatchcase(alias, pattern.lstrip("!")):
            if negated:
                return False
            hit = True
    return hit
