"""Project task runners' target names: ``make deploy ENV=prod``, ``npm run deploy:prod``.

What a target or script runs is read from the project's Makefile, package.json …
and judged by its contents (``classify._run_make``, ``_run_node``, ``_run_tasks``);
approvals bind to the hash of every file read, so an edit after approval needs a
new one.  On top of that, a target *named* for a deploy, a publish or a teardown is
the project's own way of changing infrastructure, so it is also judged by that
name — whatever its recipe says today, and when there is no file to read: a state
change on infrastructure in any environment (SPEC §3), production when the name or
a ``VAR=value`` argument says so.  Building a release locally (``make release``,
``MIX_ENV=prod mix release``) is not such a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from opsgate.classify._command import Command, Context
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["task_findings"]

# Words of a target name (split at : - _ . /) that mean "change a live system".
_CHANGES = frozenset(
    {"deploy", "deploys", "deployment", "redeploy", "publish", "rollout", "promote"}
    | {"provision", "ship"}
)
# …and the ones that mean "delete it".
_TEARS_DOWN = frozenset(["destroy", "teardown", "undeploy", "nuke", "decommission"])
_SPLIT = re.compile(r"[:\-_./]+")
_DRY_SETTING = re.compile(r"(DRY_?RUN|DRYRUN)=(1|true|yes)", re.IGNORECASE)


def task_findings(
    cmd: Command, ctx: Context, targets: Iterable[str], settings: Iterable[str] = ()
) -> list[Finding]:
    """A finding for each target whose name deploys or tears down; ``settings`` are
    the runner's ``VAR=value`` arguments, read for environment evidence."""
    settings = list(settings)
    if any(w in ("--dry-run", "--dryrun") for w in cmd.words) or any(
        _DRY_SETTING.fullmatch(s) for s in settings
    ):
        return []  # ``npm run deploy -- --dry-run``, ``make deploy DRY_RUN=1``
    findings: list[Finding] = []
    for target in targets:
        words = {w.lower() for w in _SPLIT.split(target) if w}
        if words & _TEARS_DOWN:
            impact, why = Impact.DESTRUCTIVE, "tears down infrastructure"
        elif words & _CHANGES:
            impact, why = Impact.CAUTION, "deploys or publishes"
        else:
            continue
        env, source = _environment(ctx, [target, *settings])
        findings.append(
            Finding(
                "deploy.task",
                impact,
                Effect.WRITE,
                cmd.text[:200],
                f"the project's {target!r} task {why}; opsgate judges it by its name",
                target=target,
                environment=env,
                env_source=source,
            )
        )
    return findings


def _environment(ctx: Context, names: list[str]) -> tuple[Environment | None, str | None]:
    best: tuple[Environment, str] | None = None
    for name in names:
        for part in [name, *re.split(r"[=:\-_./]+", name)]:
            hit = ctx.environment_of(part) if part else None
            if hit is not None and (best is None or hit[0] > best[0]):
                best = (hit[0], f"task name {name!r}")
    return (best[0], best[1]) if best else (None, None)
