"""Programs with no family table: ordinary local work, unless they are asked to
destroy or to change something elsewhere.

``etcdctl del --prefix /``, ``consul kv delete``, ``kafka-topics --delete``,
``sam deploy``: opsgate cannot know every CLI, but a subcommand or flag that *says*
delete, drop, purge, deploy or migrate is evidence enough that a human should look.
Such a command becomes ``unknown`` (never auto-allowed); build, test and lint
tools, which never say those words as a subcommand, pass as before.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.models import Effect, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["sniff"]

DESTRUCTIVE_VERBS = frozenset(
    {"delete", "del", "destroy", "drop", "purge", "remove", "rm", "reset", "flush", "flushall",
     "flushdb", "wipe", "prune", "terminate", "truncate", "uninstall", "erase", "nuke",
     "teardown", "rollback", "downgrade", "revoke", "fresh", "obliterate", "zap", "shred",
     "deregister", "decommission", "unregister", "evict", "expunge", "clear", "rb", "rmr"}
)  # fmt: skip
CHANGE_VERBS = frozenset(
    {"deploy", "apply", "publish", "release", "promote", "migrate", "scale", "restart", "stop",
     "shutdown", "provision", "push", "put", "set", "update", "upgrade", "create", "write",
     "insert", "import", "restore", "sync", "exec", "execute", "kill", "failover", "rotate",
     "enable", "disable", "grant", "mount", "unmount", "attach", "detach", "patch", "replace",
     "up", "down", "load", "send", "trigger", "invoke", "cordon", "drain", "edit"}
)  # fmt: skip
_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[:._\-][A-Za-z0-9]+)*$")
_SPLIT = re.compile(r"[:._\-]")
# Short flags whose next word is a value in test runners and linters (`pytest -k delete`).
_VALUE_FLAGS = re.compile(r"^-[A-Za-z]$")
_PROD_ENV = (
    "RAILS_ENV", "RACK_ENV", "NODE_ENV", "APP_ENV", "MIX_ENV", "FLASK_ENV", "DJANGO_ENV",
    "ENVIRONMENT", "ENV", "STAGE", "DEPLOY_ENV", "ASPNETCORE_ENVIRONMENT",
)  # fmt: skip


def _verbs(cmd: Command) -> list[str]:
    """Subcommand words: the leading bare words, and long flags that are verbs."""
    out: list[str] = []
    previous = ""
    for index, arg in enumerate(cmd.args[:6]):
        word = arg.value
        if word.startswith("--") and len(word) > 2:
            name = word[2:].split("=", 1)[0]
            if name in DESTRUCTIVE_VERBS or name in CHANGE_VERBS:
                out.append(name)
        elif index < 3 and _WORD.match(word) and not _VALUE_FLAGS.match(previous):
            out.extend(t.lower() for t in _SPLIT.split(word))
        previous = word
    return out


def _environment(cmd: Command, w: Walker) -> tuple[object, str | None]:
    for key in _PROD_ENV:
        value = cmd.env.get(key)
        if value:
            found = w.environment_of(value)
            if found is not None:
                return found[0], f"{key}={value}"
    for name in ("--env", "--environment", "--stage", "--profile", "--context", "-e"):
        value = cmd.option(name)
        if value:
            found = w.environment_of(value)
            if found is not None:
                return found[0], f"{name} {value}"
    return None, None


# Programs whose arguments are data or file names, never subcommands.
_DATA_COMMANDS = frozenset(
    {"echo", "printf", "print", "test", "[", "[[", "expr", "let", "read", "logger", "say",
     "notify-send", "figlet", "banner", "cowsay", "yes", "seq", "sleep", "date", "basename",
     "dirname", "realpath", "readlink", "stat", "ls", "tree", "du", "df", "wc", "file", "touch",
     "mkdir", "cd", "pwd", "exit", "return", "shift", "wait", "local", "readonly", "unset",
     "export", "declare", "typeset", "getopts", "hash", "type", "which", "man", "tldr", "help",
     "info", "apropos", "whatis", "ping", "dig", "host", "nslookup", "traceroute", "whoami",
     "id", "uname", "hostname", "uptime", "free", "top", "htop", "ps", "pgrep", "lsof", "netstat",
     "ss", "md5sum", "sha256sum", "sha1sum", "cksum", "base64", "xxd", "od", "tput", "clear",
     "history", "fc", "jobs", "fg", "bg", "disown", "umask", "ulimit", "times", "caller",
     "pytest", "py.test", "jest", "vitest", "mocha", "eslint", "prettier", "black", "isort",
     "flake8", "pylint", "mypy", "pyright", "tsc", "rspec", "phpunit", "shellcheck", "hadolint"}
)  # fmt: skip


def sniff(cmd: Command, w: Walker) -> list[Finding]:
    if cmd.name in _DATA_COMMANDS:
        return []
    verbs = _verbs(cmd)
    destructive = [v for v in verbs if v in DESTRUCTIVE_VERBS]
    change = [v for v in verbs if v in CHANGE_VERBS]
    if not destructive and not change:
        return []
    env, source = _environment(cmd, w)
    verb = (destructive or change)[0]
    impact = Impact.DESTRUCTIVE if destructive else Impact.CAUTION
    return [
        Finding(
            "unknown.tool",
            impact,
            Effect.UNKNOWN,
            cmd.text,
            f"{cmd.name} is not a tool opsgate models, and it was asked to {verb}",
            target=f"{cmd.name} (unrecognised tool)",
            environment=env,  # type: ignore[arg-type]  # Environment | None from environment_of
            env_source=source,
        )
    ]
