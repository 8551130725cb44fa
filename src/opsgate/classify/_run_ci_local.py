"""Local runners of the project's pipelines and containers: what they run is read from
the file they run, and judged step by step where it runs.

* ``act [EVENT] [-j JOB] [-W FILE|DIR]`` runs GitHub Actions jobs from
  ``.github/workflows/``: with ``-j``, that job (whatever its triggers) and the jobs
  it ``needs``; else every job of the workflows the event (default ``push``) triggers.
  Steps run in a container, judged by the hosted-runner rule (what reaches beyond it
  counts: clusters, registries, remote branches, production databases, secrets, and
  deleting where data lives); a job whose ``runs-on`` label ``-P LABEL=-self-hosted``
  maps to the host runs on this machine, where everything counts.
* ``gitlab-runner exec EXECUTOR [OPTIONS] JOB`` runs one job of ``.gitlab-ci.yml`` (with the
  ``default:``/top-level ``before_script`` and ``after_script`` it does not
  override): the ``shell`` executor on this machine, the others in a container or
  elsewhere (the runner rule).
* ``dagger run CMD …`` runs CMD on this machine, with a Dagger session: judged as CMD.
* ``devcontainer up`` runs ``initializeCommand`` on this machine, then the container's
  lifecycle commands (``onCreateCommand`` … ``postAttachCommand``, the rule for a
  container); ``run-user-commands``/``set-up`` only the container's; ``exec CMD``
  runs CMD in the container.  The configuration is ``--config``, else the workspace
  folder's ``.devcontainer/devcontainer.json`` or ``.devcontainer.json``.  A container
  given the host's Docker socket (or ``--privileged``) reaches the host: destroying
  containers and volumes there counts too.

Listing, graphing and dry runs (``act -l``/``-g``/``-n``, ``devcontainer
read-configuration``) run nothing.  A file that cannot be read is ``unknown``; one
that is not there runs nothing (the runner fails).
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from opsgate.classify._autorun import Runs, Step, included, step_findings
from opsgate.classify._autorun_json import reaches_host
from opsgate.classify._command import Arg, Command, Context
from opsgate.classify._run_files import Loaded, cannot, load
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["act_findings", "dagger_findings", "devcontainer_findings", "gitlab_runner_findings"]

_MAX_WORKFLOWS = 32
_MAX_JOBS = 64


def _walker(ctx: Context) -> Walker | None:
    from opsgate.classify.shell import Walker

    return ctx if isinstance(ctx, Walker) and ctx.remote is None else None


def _judged(w: Walker, steps: list[Step], shown: str | None, via: str, cwd: str | None) -> (
        list[Finding]):  # fmt: skip
    """Each step's findings, counted by where it runs, named by the file and step (or,
    for a command the agent gave, by its words)."""
    from opsgate.classify._autorun_tools import ShellJudge

    judge = ShellJudge(w.session, cwd, w.depth, lambda path: w.read_text(path, None))
    out = []
    for step in steps:
        for f in step_findings(step, judge):
            named = f"{shown} {step.where}" if shown else step.script[:120]
            evidence = f"file {shown}: {step.where}" if shown else f"{via} {named}"
            reason = f"{via} runs {named} ({step.runs.value}): {f.reason}"
            env = f.environment if f.environment is not None or step.env is None else step.env
            out.append(replace(f, evidence=evidence, reason=reason, environment=env))
    return out


def _base(w: Walker, cmd: Command, directory: str | None) -> str | None:
    cwd = cmd.cwd or w.scope.cwd
    if directory is None:
        return cwd
    return w.workspace.expand(directory, cwd)


# --- act --------------------------------------------------------------------------------
_ACT_VALUED = frozenset({
    "-j", "--job", "-W", "--workflows", "-P", "--platform", "-s", "--secret", "--var",
    "-e", "--eventpath", "--env", "--env-file", "--secret-file", "--var-file", "-C",
    "--directory", "--input", "--input-file", "--container-architecture", "-a", "--actor",
    "--artifact-server-path", "--artifact-server-addr", "--artifact-server-port",
    "--cache-server-path", "--cache-server-addr", "--cache-server-port", "--defaultbranch",
    "--remote-name", "--github-instance", "--network", "--matrix", "--userns",
    "--container-daemon-socket", "--container-options", "--container-cap-add",
    "--container-cap-drop", "--action-cache-path", "--concurrent-jobs", "--local-repository",
    "--replace-ghe-action-token-with-github-com", "--log-prefix-job-id",
})  # fmt: skip
_ACT_READS = frozenset({"-l", "--list", "-n", "--dryrun", "-g", "--graph", "-h", "--help",
                        "--version", "--bug-report", "--man-page", "--list-options",
                        "--validate"})  # fmt: skip


def act_findings(cmd: Command, ctx: Context) -> list[Finding]:
    w = _walker(ctx)
    if w is None or cmd.has(*_ACT_READS):
        return []
    base = _base(w, cmd, cmd.option("-C", "--directory"))
    if base is None:
        return [unknown("act runs workflows in a directory opsgate cannot place", cmd.text)]
    files = _workflow_files(w, cmd, base)
    if files is None:
        return [unknown("act runs workflows opsgate cannot list", cmd.text)]
    positional = cmd.positionals(_ACT_VALUED)
    event = positional[0].value if positional else "push"
    jobs = set(cmd.options("-j", "--job"))
    host = {
        m.split("=", 1)[0] for m in cmd.options("-P", "--platform") if m.endswith("=-self-hosted")
    }
    out: list[Finding] = []
    for path in files:
        loaded = load(w, path, None)
        if loaded.state == "missing":
            continue
        if loaded.text is None:
            out.append(cannot(loaded, "act"))
            continue
        out += _workflow(w, loaded, event, jobs, host, base)
    return out


def _workflow_files(w: Walker, cmd: Command, base: str) -> tuple[str, ...] | None:
    from opsgate.classify._run_listing import collected

    named = cmd.option("-W", "--workflows") or ".github/workflows/"
    full = w.workspace.expand(named, base)
    if full is None:
        return None
    if full.endswith((".yml", ".yaml")) and w.session.files.kind(full) != "dir":
        return (full,)
    listed = collected(w, full, ("*.yml", "*.yaml"), recursive=False)
    return listed[:_MAX_WORKFLOWS] if listed is not None else None


def _workflow(w: Walker, loaded: Loaded, event: str, jobs: set[str], host: set[str],
              base: str) -> list[Finding]:  # fmt: skip
    from opsgate.classify._autorun_tools import ShellJudge
    from opsgate.classify._autorun_yaml import SHAPES, _load, yaml_steps

    doc = _load(loaded.text or "")
    table = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(table, dict):
        return []
    if jobs:
        chosen = _needed(table, jobs & table.keys())
    elif _triggered(doc.get("on", doc.get(True)), event):
        chosen = set(table)
    else:
        return []
    if not chosen:
        return []
    # act runs what it is told, whatever the workflow's triggers or branch conditions.
    steps = yaml_steps(loaded.text or "", replace(SHAPES["github"], gate=None), Runs.RUNNER)
    if steps is None:
        return [cannot(loaded, "act")]
    picked = []
    for step in steps:
        job = step.where.split(".", 2)[1] if step.where.startswith("jobs.") else None
        if job not in chosen:
            continue
        if _on_host(table.get(job), host):
            step = replace(step, runs=Runs.HERE)
        picked.append(step)
    judge = ShellJudge(w.session, base, w.depth, lambda path: w.read_text(path, None))
    picked = included(picked, base, judge)
    return _judged(w, picked, loaded.shown, "act", base)


def _needed(table: dict[str, Any], jobs: set[str]) -> set[str]:
    """The jobs and, transitively, the jobs they ``needs``: act runs those first."""
    chosen: set[str] = set()
    pending = list(jobs)
    while pending and len(chosen) < _MAX_JOBS:
        job = pending.pop()
        if job in chosen or job not in table:
            continue
        chosen.add(job)
        node = table[job]
        needs = node.get("needs") if isinstance(node, dict) else None
        pending += [needs] if isinstance(needs, str) else needs if isinstance(needs, list) else []
    return chosen


def _triggered(on: Any, event: str) -> bool:
    if isinstance(on, str):
        return on == event
    if isinstance(on, (list, dict)):
        return event in on
    return True  # no readable trigger: taken as triggered


def _on_host(job: Any, host: set[str]) -> bool:
    if not host or not isinstance(job, dict):
        return False
    labels = job.get("runs-on")
    if isinstance(labels, dict):
        labels = labels.get("labels")
    values = [labels] if isinstance(labels, str) else labels if isinstance(labels, list) else []
    if any(isinstance(v, str) and "${{" in v for v in values):
        return True  # a label chosen at run time may be the host's
    return any(v in host for v in values)


# --- gitlab-runner exec ------------------------------------------------------------------
_GITLAB_HOOKS = ("before_script", "after_script")


def gitlab_runner_findings(cmd: Command, ctx: Context) -> list[Finding]:
    w = _walker(ctx)
    words = [a.value for a in cmd.positionals()]
    if w is None or words[:1] != ["exec"]:
        return _sniff(cmd, ctx)
    if len(words) < 3 or cmd.has("-h", "--help"):
        return []
    executor, job = words[1], words[-1]  # the job comes last, after the executor's options
    base = cmd.cwd or w.scope.cwd
    loaded = load(w, ".gitlab-ci.yml", base)
    if loaded.state == "missing":
        return []
    if loaded.text is None:
        return [cannot(loaded, "gitlab-runner exec")]
    from opsgate.classify._autorun_yaml import SHAPES, _load, yaml_steps

    doc = _load(loaded.text)
    node = doc.get(job) if isinstance(doc, dict) else None
    if not isinstance(node, dict):
        return []
    runs = Runs.HERE if executor == "shell" else Runs.RUNNER
    steps = yaml_steps(loaded.text, replace(SHAPES["gitlab"], gate=None), runs) or []
    inherited = tuple(
        prefix + hook for hook in _GITLAB_HOOKS if hook not in node for prefix in ("default.", "")
    )
    picked = [
        s for s in steps
        if s.where.startswith(f"{job}.") or s.where.split("[", 1)[0] in inherited
    ]  # fmt: skip
    return _judged(w, picked, loaded.shown, f"gitlab-runner exec {executor}", base)


def _sniff(cmd: Command, ctx: Context) -> list[Finding]:
    from opsgate.classify import _unknown_tools
    from opsgate.classify.shell import Walker

    return _unknown_tools.sniff(cmd, ctx) if isinstance(ctx, Walker) else []


# --- dagger run -------------------------------------------------------------------------
_DAGGER_VALUED = frozenset({"--progress", "-m", "--mod", "--workdir", "--interactive-command",
                            "--model", "-W"})  # fmt: skip


def dagger_findings(cmd: Command, ctx: Context) -> list[Finding]:
    """``dagger run CMD``: CMD runs here, given a Dagger session; the rest by its words."""
    w = _walker(ctx)
    args = list(cmd.args)
    i = 0
    while i < len(args) and args[i].value.startswith("-"):
        i += 2 if args[i].value in _DAGGER_VALUED else 1
    if w is None or i >= len(args) or args[i].value != "run":
        return _sniff(cmd, ctx)
    program = _program(args[i + 1 :], _DAGGER_VALUED)
    if not program:
        return []
    if not all(a.static for a in program):
        return [unknown("dagger run runs a command built at run time", cmd.text)]
    line = shlex.join(a.value for a in program)
    return w.classify_shell(line, via="dagger run", cwd=cmd.cwd)


def _program(args: list[Arg], valued: frozenset[str], after: str = "") -> list[Arg]:
    """The command a runner is given: the words from its first operand on (after the
    subcommand ``after``, when named), past the runner's own options and ``--``."""
    if after:
        seen = _program(args, valued)
        while seen and seen[0].value != after:
            seen = _program(seen[1:], valued)
        args = seen[1:]
    i = 0
    while i < len(args) and args[i].value.startswith("-") and args[i].value != "--":
        i += 2 if args[i].value in valued else 1
    if i < len(args) and args[i].value == "--":
        i += 1
    return args[i:]


# --- devcontainer -----------------------------------------------------------------------
_DC_VALUED = frozenset({
    "--workspace-folder", "--config", "--override-config", "--container-id", "--id-label",
    "--remote-env", "--docker-path", "--docker-compose-path", "--log-level", "--log-format",
    "--mount", "--user-data-folder", "--container-data-folder", "--container-system-data-folder",
    "--cache-from", "--cache-to", "--buildkit", "--additional-features", "--terminal-columns",
    "--terminal-rows", "--default-user-env-probe", "--secrets-file", "--dotfiles-repository",
    "--dotfiles-install-command", "--dotfiles-target-path", "--workspace-mount-consistency",
    "--gpu-availability", "--omit-syntax-directive", "--container-session-data-folder",
})  # fmt: skip
_CONTAINER_HOOKS = ("onCreateCommand", "updateContentCommand", "postCreateCommand",
                    "postStartCommand", "postAttachCommand")  # fmt: skip


def devcontainer_findings(cmd: Command, ctx: Context) -> list[Finding]:
    w = _walker(ctx)
    words = cmd.positionals(_DC_VALUED)
    verb = words[0].value if words else ""
    if w is None or verb not in ("up", "run-user-commands", "set-up", "exec"):
        return [] if verb in _DC_READS else _sniff(cmd, ctx)
    if cmd.has("-h", "--help"):
        return []
    folder = _base(w, cmd, cmd.option("--workspace-folder"))
    if folder is None:
        return [unknown("devcontainer runs in a folder opsgate cannot place", cmd.text)]
    loaded = _devcontainer_config(w, cmd, folder)
    text = loaded.text if loaded is not None else None
    if loaded is not None and text is None and loaded.state != "missing":
        return [cannot(loaded, f"devcontainer {verb}")]
    from opsgate.classify._autorun_json import _devcontainer_steps, _json

    doc = _json(text) if text else {}
    if not isinstance(doc, dict):
        return [unknown(f"devcontainer {verb} reads a configuration opsgate cannot parse",
                        cmd.text)]  # fmt: skip
    if verb == "exec":
        steps = _exec(cmd)
        if steps is None:
            return [unknown("devcontainer exec runs a command built at run time", cmd.text)]
    else:
        hooks: tuple[str, ...] = ("initializeCommand",) if verb == "up" else ()
        if not cmd.has("--skip-post-create"):
            hooks += _CONTAINER_HOOKS if not cmd.has("--skip-post-attach") else _CONTAINER_HOOKS[:4]
        steps = [s for s in _devcontainer_steps(doc) if s.where.split(".", 1)[0] in hooks]
    shown = loaded.shown if loaded is not None and verb != "exec" else None
    via = f"devcontainer {verb}"
    out = _judged(w, steps, shown, via, folder)
    if _reaches_host(doc, cmd):
        # Through the host's Docker daemon, what the container destroys there (other
        # containers, volumes, the host's files through a new bind mount) is the host's.
        daemon = [replace(s, runs=Runs.HERE) for s in steps if s.runs is Runs.CONTAINER]
        out += [
            f
            for f in _judged(w, daemon, shown, f"{via} (the host's Docker daemon)", folder)
            if f.category.startswith("containers.") and f.impact is Impact.DESTRUCTIVE
        ]
    if cmd.option("--dotfiles-repository") and verb in ("up", "set-up"):
        reason = f"{via} clones a dotfiles repository and runs its install script"
        out.append(Finding("network.fetch_exec", Impact.CAUTION, Effect.UNKNOWN, cmd.text[:200],
                           reason))  # fmt: skip
    return out


_DC_READS = frozenset({"read-configuration", "build", "features", "templates", "outdated",
                       "upgrade", "--help", "--version", ""})  # fmt: skip


def _devcontainer_config(w: Walker, cmd: Command, folder: str) -> Loaded | None:
    named = cmd.option("--config")
    if named is not None:
        return load(w, named, cmd.cwd or w.scope.cwd)
    for name in (".devcontainer/devcontainer.json", ".devcontainer.json"):
        loaded = load(w, posixpath.join(folder, name), None)
        if loaded.state != "missing":
            return loaded
    return None


def _exec(cmd: Command) -> list[Step] | None:
    """``devcontainer exec CMD``: CMD runs in the container (the rule for a container)."""
    program = _program(list(cmd.args), _DC_VALUED, after="exec")
    if not all(a.static for a in program):
        return None
    line = shlex.join(a.value for a in program)
    return [Step("exec", line, "sh", Runs.CONTAINER)] if program else []


def _reaches_host(doc: dict[str, Any], cmd: Command) -> bool:
    """The container is given the host's Docker daemon, or the host itself."""
    return reaches_host(doc, cmd.options("--mount"))
