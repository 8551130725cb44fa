"""Shared pieces for the verb-table families (``platforms``, ``dataplatforms``).

A tool is described by a table ``"verb" / "group verb" → Rule`` and a function
that names its target; everything else (positionals, environment evidence,
the finding itself) is here.  This module has no ``HANDLERS``: it is not a family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["Rule", "RuleSet", "Where", "finding", "flags", "locate", "read", "table", "tool",
           "words"]  # fmt: skip


class Rule(NamedTuple):
    effect: Effect
    impact: Impact
    category: str
    reason: str


def read(reason: str, category: str = "platform.read") -> Rule:
    return Rule(Effect.READ, Impact.SAFE, category, reason)


def words(text: str) -> list[str]:
    """Table rows written as one space-separated string."""
    return text.split()


class RuleSet:
    """A family's usual rules, named by its categories (``iac.apply``, ``kubernetes.delete``)."""

    def __init__(self, family: str, *, write: str = "write", destroy: str = "destroy") -> None:
        self.family = family
        self._write = f"{family}.{write}"
        self._destroy = f"{family}.{destroy}"

    def read(self, reason: str) -> Rule:
        return Rule(Effect.READ, Impact.SAFE, f"{self.family}.read", reason)

    def local(self, reason: str) -> Rule:
        return Rule(Effect.LOCAL, Impact.SAFE, f"{self.family}.local", reason)

    def write(self, reason: str) -> Rule:
        return Rule(Effect.WRITE, Impact.CAUTION, self._write, reason)

    def destroy(self, reason: str) -> Rule:
        return Rule(Effect.WRITE, Impact.DESTRUCTIVE, self._destroy, reason)

    def secret(self, reason: str) -> Rule:
        return Rule(Effect.SECRET, Impact.CAUTION, "secrets.read", reason)

    def unknown(self, reason: str) -> Rule:
        return Rule(Effect.UNKNOWN, Impact.CAUTION, f"{self.family}.unknown", reason)


def flags(text: str) -> tuple[str, ...]:
    """A list of option names written as one space-separated string."""
    return tuple(text.split())


def table(spec: Mapping[Rule, str]) -> dict[str, Rule]:
    """Rows written as ``rule: "verb other-verb"``; ``"a b,c d"`` (with commas)
    lists two-word keys."""
    out: dict[str, Rule] = {}
    for rule, names in spec.items():
        for name in names.split(",") if "," in names else names.split():
            key = " ".join(name.split())
            if len(key.split()) > 2:
                raise ValueError(f"table row {key!r}: separate keys with commas")
            if key:
                out[key] = rule
    return out


def locate(
    ctx: Context, names: Iterable[str | None], default: str
) -> tuple[str, Environment | None, str | None]:
    """Target (the first name given, else ``default``) and the most sensitive
    environment any name carries."""
    given = [n for n in names if n]
    best: tuple[Environment, str] | None = None
    for name in given:
        found = ctx.environment_of(name)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return (
        (given[0] if given else default),
        (best[0] if best else None),
        (best[1] if best else None),
    )


def finding(
    rule: Rule,
    evidence: str,
    where: tuple[str, Environment | None, str | None],
    reason: str | None = None,
) -> Finding:
    target, env, source = where
    local = rule.effect in (Effect.LOCAL,) and env is None
    return Finding(
        category=rule.category,
        impact=rule.impact,
        effect=rule.effect,
        evidence=evidence[:200],
        reason=reason or rule.reason,
        target=None if local else target,
        environment=Environment.LOCAL if local else env,
        env_source="the developer's own machine" if local else source,
    )


Where = Callable[[Command, Context], tuple[str, Environment | None, str | None]]


def tool(
    rules: Mapping[str, Rule],
    where: Where,
    *,
    valued: Iterable[str] = (),
    default: Rule | None = None,
    empty: Rule | None = None,
    adjust: Callable[[Command, list[str], Rule], Rule] | None = None,
) -> Handler:
    """A handler judging ``TOOL [GROUP] VERB …`` by the first two positional words
    (``"group verb"`` rows win over ``"verb"`` rows)."""
    flags = tuple(valued)
    unknown = default or Rule(
        Effect.UNKNOWN, Impact.CAUTION, "platform.unknown", "unrecognised subcommand"
    )

    def handle(cmd: Command, ctx: Context) -> list[Finding]:
        words = [a.value for a in cmd.positionals(flags)]
        if not words:
            rule = empty or unknown
        else:
            two = " ".join(words[:2])
            rule = rules.get(two) or rules.get(words[0]) or unknown
        if adjust is not None:
            rule = adjust(cmd, words, rule)
        evidence = " ".join([cmd.name, *words[:2]])
        return [finding(rule, evidence, where(cmd, ctx))]

    return handle
