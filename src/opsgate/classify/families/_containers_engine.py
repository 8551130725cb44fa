"""Where the daemon is: the engine a command talks to, and findings scoped by it."""

from __future__ import annotations

from dataclasses import dataclass

from opsgate.classify._command import Command, Context
from opsgate.classify.families._containers_tables import _LOCAL_CONTEXTS, _LOCAL_HOST, Rule, Scope
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["Engine", "_engine_of", "_finding", "_most_sensitive", "_positionals", "_split"]


@dataclass(frozen=True, slots=True)
class Engine:
    """Where the daemon is.  ``remote`` is False only for the developer's own engine."""

    target: str
    remote: bool
    environment: Environment | None = None
    env_source: str | None = None


def _engine_of(cmd: Command, ctx: Context, names: list[str]) -> Engine:
    """Find the daemon from flags, variables and the stack's names."""
    host = (
        cmd.option("-H", "--host", "--url")
        or cmd.env.get("DOCKER_HOST")
        or cmd.env.get("CONTAINER_HOST")
    )
    context = cmd.option("--context", "--connection") or cmd.env.get("DOCKER_CONTEXT")
    if cmd.name in ("docker", "podman") and context is None:
        context = cmd.option("-c")
    namespace = cmd.option("-n", "--namespace") if cmd.name in ("nerdctl", "ctr") else None
    evidence = [v for v in (host, context, namespace, *names) if v]
    best = _most_sensitive(ctx, evidence)
    env = best[0] if best else None
    remote_reasons = [
        ctx.remote,
        host if host and not _LOCAL_HOST.match(host) else None,
        context
        if context and context not in _LOCAL_CONTEXTS and env is not Environment.LOCAL
        else None,
        "podman --remote" if cmd.name == "podman" and cmd.has("--remote", "-r") else None,
        # A Kubernetes node's containerd namespace: node infrastructure.
        f"containerd namespace {namespace}" if namespace and "k8s" in namespace else None,
        "Kubernetes node runtime" if cmd.name == "crictl" else None,
        # The stack or container itself says it is staging/production.
        "shared environment" if env is not None and env >= Environment.STAGING else None,
    ]
    reason = next((r for r in remote_reasons if r), None)
    target = (
        reason
        if reason and reason != "shared environment"
        else (evidence[0] if evidence else "local container engine")
    )
    return Engine(
        target=target,
        remote=reason is not None,
        environment=env,
        env_source=best[1] if best else None,
    )


def _most_sensitive(ctx: Context, texts: list[str]) -> tuple[Environment, str] | None:
    best: tuple[Environment, str] | None = None
    for text in texts:
        found = ctx.environment_of(text)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def _finding(rule: Rule, engine: Engine, evidence: str, reason: str | None = None) -> Finding:
    effect = {
        Scope.READ: Effect.READ,
        Scope.SECRET: Effect.SECRET,
        Scope.INFRA: Effect.WRITE,
        Scope.ENGINE: Effect.WRITE if engine.remote else Effect.LOCAL,
    }.get(rule.scope, Effect.UNKNOWN)
    impact = rule.impact
    if effect is Effect.WRITE:
        # A write on infrastructure is never "safe", even a build pushed remotely.
        impact = (
            max(rule.remote_impact or impact, Impact.CAUTION)
            if engine.remote
            else max(impact, Impact.CAUTION)
        )
    local = effect is Effect.LOCAL
    return Finding(
        category=rule.category,
        impact=impact,
        effect=effect,
        evidence=evidence,
        reason=reason or rule.reason,
        target=None if local else engine.target,
        environment=Environment.LOCAL if local else engine.environment,
        env_source="the developer's own container engine" if local else engine.env_source,
    )


def _positionals(args: list[str], valued: frozenset[str]) -> list[str]:
    """The words that are neither flags nor flag values."""
    out: list[str] = []
    i = _split(args, 0, valued)
    while i < len(args):
        out.append(args[i])
        i = _split(args, i + 1, valued)
    return out


def _split(args: list[str], start: int, valued: frozenset[str] | list[str]) -> int:
    """Index of the first positional word at or after ``start`` (len(args) if none)."""
    i = start
    while i < len(args):
        word = args[i]
        if word == "--":
            return i + 1
        if not word.startswith("-") or word == "-":
            return i
        i += 2 if word in valued else 1
    return i
