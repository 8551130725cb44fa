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
from opsgate.models import Effect, Environment, Finding, Impact

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["HARMLESS_FLAGS", "harmless_words", "sniff"]

# Verbs that lose data wherever they run.  A prefix is enough: `deleteall`, `dropdb`.
DESTRUCTIVE_VERBS = frozenset(
    {"delete", "del", "destroy", "drop", "purge", "remove", "rm", "reset", "flush", "wipe",
     "prune", "terminate", "truncate", "erase", "nuke", "teardown", "rollback", "downgrade",
     "revoke", "fresh", "obliterate", "zap", "shred", "deregister", "decommission",
     "unregister", "evict", "expunge", "revert", "undeploy", "undefine", "rb", "rmr",
     "deleteall", "dropall", "removeall", "purgeall", "delall"}
)  # fmt: skip
_DESTRUCTIVE_PREFIXES = ("delete", "drop", "purge", "remove", "destroy", "wipe", "truncate")
# Verbs that change something elsewhere: deploying, publishing, migrating a database.
# Generic verbs (create, update, install, start …) are everyday local work for tools
# opsgate doesn't know, and count only with evidence of a remote or production target.
REMOTE_VERBS = frozenset(
    {"deploy", "publish", "promote", "migrate", "provision", "failover", "submit", "upload",
     "distribute", "apply", "scale", "cordon", "drain", "redeploy"}
)  # fmt: skip
CHANGE_VERBS = frozenset(
    {"push", "put", "set", "update", "upgrade", "create", "write", "insert", "import",
     "restore", "sync", "exec", "execute", "kill", "rotate", "enable", "disable", "grant",
     "mount", "unmount", "attach", "detach", "patch", "replace", "up", "down", "load", "send",
     "trigger", "invoke", "edit", "restart", "stop", "shutdown", "start", "run"}
)  # fmt: skip
_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[:._\-][A-Za-z0-9]+)*$")
_SPLIT = re.compile(r"[:._\-]")
# Short flags whose next word is a value in test runners and linters (`pytest -k delete`).
_VALUE_FLAGS = re.compile(r"^-[A-Za-z]$")
_PROD_ENV = (
    "RAILS_ENV", "RACK_ENV", "NODE_ENV", "APP_ENV", "MIX_ENV", "FLASK_ENV", "DJANGO_ENV",
    "ENVIRONMENT", "ENV", "STAGE", "DEPLOY_ENV", "ASPNETCORE_ENVIRONMENT",
)  # fmt: skip


# Flags that make a run change nothing (shared with the dispatcher's check of modelled tools).
HARMLESS_FLAGS = frozenset({"--help", "-help", "--version", "--dry-run", "--dryrun",
                            "--what-if", "--noop", "--simulate", "--dry-run=client",
                            "--dry-run=server"})  # fmt: skip
# Release tools also build a local snapshot without publishing.
_HARMLESS_HERE = HARMLESS_FLAGS | {"--snapshot"}


def _harmless_mode(cmd: Command) -> bool:
    """``--help``, ``--version``, ``--dry-run``, ``--snapshot``: nothing changes."""
    return harmless_words(cmd.words, _HARMLESS_HERE)


# ``--version`` asks the tool for its own version only before a subcommand; after one
# it is often that subcommand's option (``cargo yank --version 1.0.0`` yanks 1.0.0).
_VERSION_FLAGS = frozenset({"--version", "-version"})


def harmless_words(words: tuple[str, ...] | list[str], flags: frozenset[str]) -> bool:
    """True when ``words`` hold a flag that makes the run change nothing."""
    seen_positional = False
    for word in words:
        if word in flags and not (word in _VERSION_FLAGS and seen_positional):
            return True
        if not word.startswith("-"):
            seen_positional = True
    return False


def _verbs(cmd: Command) -> list[str]:
    """Subcommand words: the leading bare words, and long flags that are verbs."""
    out: list[str] = []
    previous = ""
    for index, arg in enumerate(cmd.args[:6]):
        word = arg.value
        if word.startswith("--") and len(word) > 2:
            name = word[2:].split("=", 1)[0]
            if _destructive(name) or name in REMOTE_VERBS or name in CHANGE_VERBS:
                out.append(name)
        elif index < 3 and _WORD.match(word) and not _VALUE_FLAGS.match(previous):
            out.extend(t.lower() for t in _SPLIT.split(word))
        previous = word
    return out


def _environment(cmd: Command, w: Walker) -> tuple[Environment | None, str | None]:
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


_REMOTE_ARG = re.compile(
    r"^([a-z][a-z0-9+.-]*://(?!localhost|127\.)|[\w.-]+@[\w.-]+:|"
    r"[a-z][\w-]+:(?!//)[\w./-]+$)|"
    r"--(prod|production|remote|host|server|endpoint|url|cluster)\b"
)


def _destructive(verb: str) -> bool:
    return verb in DESTRUCTIVE_VERBS or verb.startswith(_DESTRUCTIVE_PREFIXES)


def sniff(cmd: Command, w: Walker) -> list[Finding]:
    if cmd.name in _DATA_COMMANDS or _harmless_mode(cmd):
        return []
    if cmd.name == "opsgate":
        # opsgate's own CLI is judged whole by the guard (``_guard._opsgate_cli``): its
        # reads pass, every other verb is tampering; its filters' words
        # (``--filter action:shell.exec``) are no verbs of an unknown tool.
        return []
    verbs = _verbs(cmd)
    destructive = [v for v in verbs if _destructive(v)]
    remote = [v for v in verbs if v in REMOTE_VERBS]
    env, source = _environment(cmd, w)
    remote_env = env is not None and env is not Environment.LOCAL
    # ``nx run api:build``: a build tool's ``project:target`` is no ``host:path``.
    from opsgate.classify._run_buildfiles import BUILD_TOOLS

    remote_args = cmd.name not in BUILD_TOOLS and any(_REMOTE_ARG.match(a) for a in cmd.words)
    elsewhere = remote_env or remote_args
    change = [v for v in verbs if v in CHANGE_VERBS] if elsewhere else []
    if not destructive and not remote and not change:
        return []
    verb = (destructive or remote or change)[0]
    impact = Impact.DESTRUCTIVE if destructive else Impact.CAUTION
    return [
        Finding(
            "unknown.tool",
            impact,
            Effect.UNKNOWN,
            cmd.text,
            f"{cmd.name} is not a tool opsgate models, and it was asked to {verb}",
            target=f"{cmd.name} (unrecognised tool)",
            environment=env,
            env_source=source,
        )
    ]


# Tools that publish a release or an app build when run, with the words that do it.
PUBLISHERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "semantic-release": ((),), "release-it": ((),), "np": ((),),
    "changeset": (("publish",),), "lerna": (("publish",),), "deno": (("publish",),),
    "jsr": (("publish",),), "fastlane": (("deliver",), ("pilot",), ("supply",),
                                        ("upload_to_app_store",), ("upload_to_play_store",),
                                        ("release",), ("beta",)),
    "eas": (("submit",), ("update",)), "expo": (("publish",),), "altool": (("--upload-app",),),
    "xcrun": (("altool", "--upload-app"), ("notarytool", "submit")),
    "goreleaser": (("release",),), "vsce": (("publish",),), "ovsx": (("publish",),),
    "cargo": (("release",),), "rake": (("release",),), "envoy": (("run",),),
    "firebase": (("appdistribution:distribute",),), "helm": (("push",),), "gh": (),
}  # fmt: skip


def may_publish(name: str) -> bool:
    """Whether ``publishes`` looks at program ``name`` (keep in step with it:
    ``_cross_cutting`` skips it for other names)."""
    return name in PUBLISHERS or name in ("pnpm", "yarn", "bun")


def publishes(cmd: Command) -> list[Finding]:
    """A release or store upload; dry runs and snapshots excluded."""
    if cmd.name in ("pnpm", "yarn", "bun") and cmd.args and cmd.words[0] in PUBLISHERS:
        inner = Command(cmd.words[0], cmd.args[1:], cmd.text, cmd.env, cmd.stdin, cmd.cwd)
        return publishes(inner)
    paths = PUBLISHERS.get(cmd.name)
    if not paths or _harmless_mode(cmd) or "--skip=publish" in cmd.words:
        return []
    if cmd.name == "cargo" and not ({"--execute", "-x"} & set(cmd.words)):
        return []  # cargo-release only shows what it would do unless told to execute
    words = [w for w in cmd.words if not w.startswith("-") or w == "--upload-app"]
    for path in paths:
        if tuple(words[: len(path)]) == path or (path and path[0] in cmd.words and
                                                  path[0].startswith("--")):  # fmt: skip
            what = " ".join((cmd.name, *path)).strip()
            return [
                Finding(
                    "release.publish",
                    Impact.CAUTION,
                    Effect.WRITE,
                    cmd.text,
                    f"{what} publishes a release",
                    f"{cmd.name} (release channel)",
                )
            ]
    return []
