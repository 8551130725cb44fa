"""Local runners of the project's pipelines and containers: ``act``, ``gitlab-runner
exec``, ``dagger run``, ``devcontainer``.  What they run is read from the project and
judged by ``classify._run_ci_local``; here they are only given their names."""

from __future__ import annotations

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Finding

__all__ = ["CI_RUNNER_HANDLERS"]


def _act(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_ci_local import act_findings

    return act_findings(cmd, ctx)


def _gitlab_runner(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_ci_local import gitlab_runner_findings

    return gitlab_runner_findings(cmd, ctx)


def _dagger(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_ci_local import dagger_findings

    return dagger_findings(cmd, ctx)


def _devcontainer(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify._run_ci_local import devcontainer_findings

    return devcontainer_findings(cmd, ctx)


CI_RUNNER_HANDLERS: dict[str, Handler] = {
    "act": _act,
    "gitlab-runner": _gitlab_runner,
    "dagger": _dagger,
    "devcontainer": _devcontainer,
}
