"""git: pushes, history rewrites, and the commands that discard uncommitted work.

Local git work (status, diff, add, commit, switching and creating branches,
pushing a feature branch) passes.  Stopped: force and delete pushes, pushes to
protected branches, ``reset --hard``, ``clean -f``, discarding the worktree,
dropping stashes, deleting branches by force, rewriting history, and config
values that git runs as shell commands.
"""

from __future__ import annotations

import posixpath
import shlex

from opsgate.classify._command import Arg, Command, Context, Handler
from opsgate.classify._shell_nodes import unknown
from opsgate.classify.families._git_common import (
    GIT_COMMANDS,
    PROTECTED_BRANCHES,
    is_protected_branch,
)
from opsgate.classify.families._git_pushcfg import (
    UNKNOWN_KEY,
    UNKNOWN_VALUE,
    configured_alias,
    env_configs,
    git_variable,
    parameters_env,
    push_settings,
)
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


def _split_global(cmd: Command, ctx: Context) -> tuple[list[tuple[str, str]], list[Arg]]:
    """Global ``-c key=value`` and ``--config-env key=VAR`` settings (keys as written),
    and the words from the subcommand on."""
    configs: list[tuple[str, str]] = []
    args = list(cmd.args)
    i = 0
    while i < len(args) and args[i].value.startswith("-"):
        word = args[i].value
        if word in ("-c", "--config-env") and i + 1 < len(args):
            configs.append(_setting(cmd, ctx, word, args[i + 1]))
        elif word.startswith("--config-env="):
            configs.append(_setting(cmd, ctx, "--config-env", Arg(word[13:], args[i].static)))
        if word in _GLOBAL_VALUED:
            i += 1
        i += 1
    return configs, args[i:]


def _setting(cmd: Command, ctx: Context, flag: str, arg: Arg) -> tuple[str, str]:
    """One ``-c key[=value]`` (no ``=``: true) or ``--config-env key=VAR`` (the value
    of VAR); a part built at run time is unknown."""
    key, sep, value = arg.value.partition("=")
    if not arg.static and any(c in key for c in "$`"):
        return UNKNOWN_KEY, UNKNOWN_VALUE
    if flag == "--config-env":
        found = git_variable(cmd, ctx, value) if arg.static else None
        return key, UNKNOWN_VALUE if found is None else found
    if not arg.static:
        return key, UNKNOWN_VALUE
    return key, value if sep else "true"


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


def _exec_path(cmd: Command) -> list[Finding]:
    """``git --exec-path=DIR …`` or ``GIT_EXEC_PATH=DIR``: git runs its helper programs
    (``git-lfs``, and ``git-fetch`` under ``pull``) from DIR, which may hold anything."""
    chosen = [w.split("=", 1)[1] for w in cmd.words if w.startswith("--exec-path=")]
    chosen += [cmd.env["GIT_EXEC_PATH"]] if cmd.env.get("GIT_EXEC_PATH") else []
    odd = [d for d in chosen if not d.startswith(("/usr/lib/git-core", "/usr/libexec/git-core"))]
    if not odd:
        return []
    return [unknown(f"git runs its helper programs from {odd[-1]}", cmd.text)]


def _expand_alias(
    cmd: Command, ctx: Context, configs: dict[str, str], rest: list[Arg]
) -> list[Arg] | None:
    """``git -c alias.ship='push --force origin HEAD:main' ship`` runs the alias's words
    (in turn an alias, up to a few levels); so does an alias from git's configuration
    (``git config alias.ship …`` earlier, ``.git/config``), for a name that is not one
    of git's own commands (those win over an alias).  None when the expansion does not
    end or runs words opsgate cannot name."""
    for _ in range(8):
        if not rest or not rest[0].static:
            return rest
        name = rest[0].value.lower()
        value = configs.get(f"alias.{name}")
        if value is None and name not in GIT_COMMANDS:
            value = configured_alias(cmd, ctx, name)
        if value is None:
            return rest
        if value == UNKNOWN_VALUE:
            return None
        if value.startswith("!"):
            return [Arg(value, True), *rest[1:]]
        try:
            words = shlex.split(value)
        except ValueError:
            words = value.split()
        if not words:
            return rest
        rest = [*(Arg(w, True) for w in words), *rest[1:]]
    return None


def _git(cmd: Command, ctx: Context) -> list[Finding]:
    given, rest = _split_global(cmd, ctx)
    # ``git -c`` after the environment: it wins.  Git passes it on in the environment.
    configs = env_configs(cmd) + [(k.lower(), v) for k, v in given]
    env = parameters_env(cmd.env, given)
    findings: list[Finding] = []
    for key in _EXEC_ENV:
        value = cmd.env.get(key)
        if value and key != "GIT_SEQUENCE_EDITOR":
            findings += ctx.classify_shell(value, via=f"{key} for git")
    for key, value in configs:
        findings += _exec_config(cmd, ctx, key, value)
    findings += transport_findings(cmd, configs, rest, ctx)
    findings += _exec_path(cmd)
    if not rest:
        return findings
    expanded = _expand_alias(cmd, ctx, dict(configs), rest)
    if expanded is None:
        return [*findings, unknown("a git alias that opsgate cannot expand", cmd.text)]
    rest = expanded
    if not rest[0].static:  # ``git "$verb" --force origin main``
        return [*findings, unknown("git runs a subcommand chosen at run time", cmd.text)]
    sub = rest[0].value
    if sub.startswith("!"):  # ``alias.x='!sh -c …'``: git runs it in the shell
        script = " ".join([sub[1:], *(shlex.quote(a.value) for a in rest[1:])])
        inherited = parameters_env({}, push_settings(given))
        if inherited:  # the git it runs pushes as the ``-c`` settings say
            params = shlex.quote(inherited["GIT_CONFIG_PARAMETERS"])
            script = f"export GIT_CONFIG_PARAMETERS={params}; {script}"
        return [*findings, *ctx.classify_shell(script, via="a git alias")]
    where = _work_dir(cmd, ctx)
    sub_cmd = Command(f"git {sub}", tuple(rest[1:]), cmd.text, env, cmd.stdin, where)
    handler = _SUBCOMMANDS.get(sub)
    if handler is not None:
        findings += handler(sub_cmd, ctx)
    return findings


HANDLERS: dict[str, Handler] = {
    "git": _git,
    "bfg": _rewrite,
    "git-filter-repo": _rewrite,
}
