"""git: pushes, history rewrites, and the commands that discard uncommitted work.

Local git work (status, diff, add, commit, switching and creating branches,
pushing a feature branch) passes.  Stopped: force and delete pushes, pushes to
protected branches, ``reset --hard``, ``clean -f``, discarding the worktree,
dropping stashes, deleting branches by force, rewriting history, and config
values that git runs as shell commands.
"""

from __future__ import annotations

import posixpath

from opsgate.classify._command import Arg, Command, Context, Handler
from opsgate.classify.families._git_common import PROTECTED_BRANCHES, is_protected_branch
from opsgate.classify.families._git_subcommands import _SUBCOMMANDS, _exec_config, _rewrite
from opsgate.classify.families._git_transports import transport_findings
from opsgate.models import Finding

__all__ = ["HANDLERS", "PROTECTED_BRANCHES", "is_protected_branch"]


# git global options that take a value (git -C DIR, git -c k=v …).
_GLOBAL_VALUED = frozenset(
    {
        "-C",
        "-c",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--exec-path",
        "--config-env",
        "--super-prefix",
    }
)


def _split_global(cmd: Command) -> tuple[list[tuple[str, str]], list[Arg]]:
    """Global ``-c key=value`` settings, and the words from the subcommand on."""
    configs: list[tuple[str, str]] = []
    args = list(cmd.args)
    i = 0
    while i < len(args) and args[i].value.startswith("-"):
        word = args[i].value
        if word == "-c" and i + 1 < len(args):
            key, _, value = args[i + 1].value.partition("=")
            configs.append((key.lower(), value))
        if word in _GLOBAL_VALUED:
            i += 1
        i += 1
    return configs, args[i:]


# Environment variables whose value git runs as a command.
_EXEC_ENV = ("GIT_SSH_COMMAND", "GIT_SSH", "GIT_EDITOR", "GIT_PAGER", "GIT_SEQUENCE_EDITOR",
             "GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "GIT_PROXY_COMMAND", "EDITOR", "VISUAL",
             "PAGER")  # fmt: skip


def _work_dir(cmd: Command, ctx: Context) -> str | None:
    """Where ``git -C DIR …`` runs: each ``-C`` is taken relative to the one before."""
    where = cmd.cwd
    args = cmd.args
    i = 0
    while i + 1 < len(args) and args[i].value.startswith("-"):
        value = args[i + 1]
        if args[i].value == "-C" and value.static and value.value:
            step = value.value
            step = ctx.home + step[1:] if step == "~" or step.startswith("~/") else step
            where = posixpath.normpath(posixpath.join(where or ctx.project_dir or "/", step))
        i += 2 if args[i].value in _GLOBAL_VALUED else 1
    return where


def _git(cmd: Command, ctx: Context) -> list[Finding]:
    configs, rest = _split_global(cmd)
    findings: list[Finding] = []
    for key in _EXEC_ENV:
        value = cmd.env.get(key)
        if value and key != "GIT_SEQUENCE_EDITOR":
            findings += ctx.classify_shell(value, via=f"{key} for git")
    for key, value in configs:
        findings += _exec_config(cmd, ctx, key, value)
    findings += transport_findings(cmd, configs, rest, ctx)
    if not rest:
        return findings
    sub = rest[0].value
    where = _work_dir(cmd, ctx)
    sub_cmd = Command(f"git {sub}", tuple(rest[1:]), cmd.text, cmd.env, cmd.stdin, where)
    handler = _SUBCOMMANDS.get(sub)
    if handler is not None:
        findings += handler(sub_cmd, ctx)
    return findings


HANDLERS: dict[str, Handler] = {
    "git": _git,
    "bfg": _rewrite,
    "git-filter-repo": _rewrite,
}
