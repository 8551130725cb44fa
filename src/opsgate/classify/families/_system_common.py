"""Shared machinery of the host handlers: findings, verb tables and flag tables."""

from __future__ import annotations

from dataclasses import dataclass

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Effect, Finding, Impact

__all__ = [
    "_DESTRUCTIVE",
    "_R",
    "_U",
    "_W",
    "_Flags",
    "_Verbs",
    "_finding",
    "_flag_handler",
    "_verb_handler",
    "_words",
]

_R, _W, _U = Effect.READ, Effect.WRITE, Effect.UNKNOWN
_SAFE, _CAUTION, _DESTRUCTIVE = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE


def _finding(
    cmd: Command,
    ctx: Context,
    effect: Effect,
    category: str,
    reason: str,
    *,
    impact: Impact | None = None,
    target: str | None = None,
    host: str | None = None,
) -> Finding:
    """One finding; a named or enclosing remote host becomes the target, with its
    environment evidence, because that is what the change lands on."""
    if impact is None:
        impact = _SAFE if effect in (_R, Effect.LOCAL) else _CAUTION
    host = host or ctx.remote
    env = ctx.environment_of(host) if host else None
    return Finding(
        category=category,
        impact=impact,
        effect=effect,
        evidence=cmd.text,
        reason=reason,
        target=host or target,
        environment=env[0] if env else None,
        env_source=env[1] if env else None,
    )


@dataclass(frozen=True, slots=True)
class _Verbs:
    """A tool whose positional word picks the action (``systemctl restart x``)."""

    category: str
    read: frozenset[str]
    write: frozenset[str]
    destructive: frozenset[str] = frozenset()
    takes_value: frozenset[str] = frozenset()
    verb_at: int = 0  # index of the verb among the positionals
    bare: Effect = _R  # no verb at all (``systemctl`` alone lists units)
    read_flags: frozenset[str] = frozenset()  # flags that make any call a read
    host_option: tuple[str, ...] = ()  # options naming a remote host


def _words(*groups: str) -> frozenset[str]:
    return frozenset(w for g in groups for w in g.split())


def _verb_handler(spec: _Verbs) -> Handler:
    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        pos = [a.value for a in cmd.positionals(spec.takes_value)]
        host = cmd.option(*spec.host_option) if spec.host_option else None
        if spec.read_flags and cmd.has(*spec.read_flags):
            return [_finding(cmd, ctx, _R, spec.category, "read-only query", host=host)]
        if len(pos) <= spec.verb_at:
            return [_finding(cmd, ctx, spec.bare, spec.category, "no action given", host=host)]
        verb = pos[spec.verb_at]
        others = pos[: spec.verb_at] + pos[spec.verb_at + 1 :]
        target = " ".join(others) or cmd.name
        if verb in spec.read or verb.startswith(("list-", "is-", "show-", "get-")):
            return [_finding(cmd, ctx, _R, spec.category, f"{verb} is read-only", host=host)]
        if verb in spec.destructive:
            reason = f"{verb} irreversibly removes {target}"
            return [
                _finding(
                    cmd,
                    ctx,
                    _W,
                    spec.category,
                    reason,
                    impact=_DESTRUCTIVE,
                    target=target,
                    host=host,
                )
            ]
        if verb in spec.write or verb.startswith("set-"):
            reason = f"{cmd.name} {verb} changes host state ({target})"
            return [_finding(cmd, ctx, _W, spec.category, reason, target=target, host=host)]
        reason = f"unrecognised {cmd.name} action {verb!r}"
        return [_finding(cmd, ctx, _U, spec.category, reason, target=target, host=host)]

    return handle


@dataclass(frozen=True, slots=True)
class _Flags:
    """A tool whose flags decide.  Checked in order: destructive flags, write
    flags, read flags (which beat ``always``: ``modprobe -n`` is a dry run), then
    ``always`` / enough positionals / a ``name=value`` assignment."""

    category: str
    write: frozenset[str] = frozenset()
    read: frozenset[str] = frozenset()
    destructive: frozenset[str] = frozenset()
    writes_from: int = 0  # this many positionals mean a change (``ifconfig eth0 down`` → 2)
    always: bool = False
    assign_writes: bool = False  # ``sysctl key=value``
    takes_value: frozenset[str] = frozenset()
    reason: str = "changes host state"
    target: str | None = None  # a fixed target; else the last positional


def _flag_handler(spec: _Flags) -> Handler:
    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        pos = [a.value for a in cmd.positionals(spec.takes_value)]
        target = spec.target or (pos[-1] if pos else None)
        if spec.destructive and cmd.has(*spec.destructive):
            reason = f"{cmd.name}: irreversible — {spec.reason}"
            return [
                _finding(cmd, ctx, _W, spec.category, reason, impact=_DESTRUCTIVE, target=target)
            ]
        if not (spec.write and cmd.has(*spec.write)) and spec.read and cmd.has(*spec.read):
            return [_finding(cmd, ctx, _R, spec.category, "read-only query")]
        writes = (
            spec.always
            or (spec.write and cmd.has(*spec.write))
            or (spec.writes_from > 0 and len(pos) >= spec.writes_from)
            or (spec.assign_writes and any("=" in p for p in pos))
        )
        if writes:
            reason = f"{cmd.name} {spec.reason}"
            return [_finding(cmd, ctx, _W, spec.category, reason, target=target)]
        return [_finding(cmd, ctx, _R, spec.category, "read-only query")]

    return handle
