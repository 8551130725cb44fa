"""docker, podman and nerdctl subcommands, and compose."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace

from opsgate.classify._command import Command, Context
from opsgate.classify.families._containers_engine import (
    Engine,
    _engine_of,
    _finding,
    _positionals,
    _split,
)
from opsgate.classify.families._containers_spec import image_program, judge_spec
from opsgate.classify.families._containers_tables import (
    _ALIASES,
    _C,
    _COMPOSE,
    _COMPOSE_VALUED,
    _D,
    _DOCKER,
    _ESCAPE_FLAGS,
    _GLOBAL_VALUED,
    _GROUPS,
    _INTERACTIVE,
    _NO_VALUE_T,
    _PODMAN,
    _PODMAN_ALIASES,
    _REVEALS_ENV,
    _RUN_VALUED,
    _UNKNOWN,
    Rule,
    Scope,
    _engine,
    _infra,
    _names,
    _read,
)
from opsgate.models import Effect, Finding

__all__ = ["_compose_cli", "_docker", "_exec"]

# Verbs whose targets are container names: their names are environment evidence.
_NAMED = frozenset(_names("containers.lifecycle containers.remove"))
_EXEC_VALUED = frozenset(_names("-e --env --env-file -u --user -w --workdir --detach-keys --index"))
_IMAGE_REF = re.compile(r"[:/@]")


def _docker(cmd: Command, ctx: Context) -> list[Finding]:
    args = list(cmd.words)
    i = _split(args, 0, _GLOBAL_VALUED)
    if i >= len(args):
        return [_finding(_read("shows help"), _engine_of(cmd, ctx, []), cmd.name)]
    head = replace(cmd, args=cmd.args[:i])  # global options name the daemon
    group = args[i]
    if group == "compose":
        return _compose(cmd, ctx, args, i + 1)
    if group in _GROUPS:
        j = _split(args, i + 1, _RUN_VALUED)
        key = (group, args[j] if j < len(args) else "")
    else:
        j, key = i, ("", group)
    key = _ALIASES.get(key, key)
    if cmd.name == "podman" and key not in _DOCKER:
        key = _PODMAN_ALIASES.get(key, key)
    verb = key[1]
    rest = args[j + 1 :]
    evidence = " ".join([cmd.name, *[k for k in key if k]])
    if verb == "exec" and key[0] in ("", "container"):
        return _exec(cmd, head, ctx, rest, "docker exec", evidence)
    table = _PODMAN if cmd.name == "podman" and key in _PODMAN else _DOCKER
    rule = table.get(key, _UNKNOWN)
    valued = _RUN_VALUED - {"-t"} if verb in _NO_VALUE_T else _RUN_VALUED
    targets = _positionals(rest, valued)
    names = targets if rule.category in _NAMED else []
    engine = _engine_of(head, ctx, names)
    # The verb's own options end where a run's image (and its command) starts.
    end = j + 1 + (_split(rest, 0, valued) if verb in _NO_VALUE_T else len(rest))
    opts = replace(cmd, args=cmd.args[j + 1 : end])
    rule = _refine(opts, key, rule, targets)
    autostart = [_finding(_AUTOSTART, engine, evidence)] if _starts_with_daemon(opts, key) else []
    if verb == "run" and rule.scope == Scope.ENGINE:
        return autostart + _run(opts, ctx, rest, engine, evidence)
    if verb in ("build", "bake") and key[0] in ("", "buildx", "image", "builder"):
        return _build(cmd.name, verb, opts, ctx, rule, engine, evidence)
    return [*autostart, _finding(rule, engine, evidence)]


# Restart policies under which the daemon starts the container again whenever it starts
# (``on-failure`` and ``no`` do not): the container outlives the session, as a service.
_AUTOSTART_POLICIES = frozenset(_names("always unless-stopped"))
_AUTOSTART = _infra(_C, "sets a restart policy: the container starts with the daemon (persistence)",
                    "host.autostart")  # fmt: skip


def _starts_with_daemon(cmd: Command, key: tuple[str, str]) -> bool:
    """``run``/``create``/``update --restart=always|unless-stopped``."""
    return key in (("", "run"), ("", "create"), ("", "update")) and any(
        policy.split(":", 1)[0] in _AUTOSTART_POLICIES for policy in cmd.options("--restart")
    )


def _build(
    tool: str, verb: str, opts: Command, ctx: Context, rule: Rule, engine: Engine, evidence: str
) -> list[Finding]:
    """An image build runs its Dockerfile's steps; bake's outputs may publish
    (``classify._run_containers``)."""
    from opsgate.classify import _run_containers
    from opsgate.classify.shell import Walker

    if not isinstance(ctx, Walker) or ctx.remote is not None:
        return [_finding(rule, engine, evidence)]
    if verb == "bake":
        publishes, found = _run_containers.bake_findings(ctx, opts)
        if publishes and rule.scope is not Scope.INFRA:
            rule = _infra(_C, "builds and publishes images (the bake file's output)",
                          "registry.publish")  # fmt: skip
    else:
        found = _run_containers.build_findings(ctx, opts, tool)
    return [_finding(rule, engine, evidence), *found]


def _refine(cmd: Command, key: tuple[str, str], rule: Rule, targets: list[str]) -> Rule:
    """Flags and arguments that change a verb's class."""
    verb = key[1]
    if verb in ("build", "bake") and (
        cmd.has("--push")
        or re.search(r"type=registry|push=true", cmd.option("--output", "-o") or "") is not None
    ):
        return _infra(_C, "builds and publishes an image", "registry.publish")
    if verb in ("rm", "rmi", "stop", "kill") and key[0] in ("", "container", "image"):
        if verb == "rm" and cmd.has("-v", "--volumes"):
            return _infra(_D, "removes containers and their anonymous volumes", "containers.delete")
        if cmd.has("-a", "--all") or not all(a.static for a in cmd.args):
            # Every container or image on the engine, other projects' included.
            return _infra(
                _C if verb != "rm" else _D,
                f"{verb} of every container or image on the engine",
                "containers.remove",
            )
    if key == ("image", "prune") and cmd.has("-a", "--all"):
        return _infra(
            _D, "removes every unused image, other projects' included", "containers.delete"
        )
    if verb == "inspect" and key[0] in ("", "container"):
        return _inspect_rule(cmd, targets, rule)
    if verb == "cp":
        into = len(targets) >= 2 and ":" in targets[1] and not targets[1].startswith(("/", "."))
        if into:
            return _engine(_C, "writes files into a container")
        if targets and _copies_secret(targets[0]):
            return Rule(Scope.SECRET, _C, "secrets.read", "copies a credentials file out")
        return rule
    return rule


def _copies_secret(source: str) -> bool:
    """``api:/app/.env``: the container side of a copy names a credentials file."""
    from opsgate.classify.paths import is_secret_path

    _, sep, path = source.partition(":")
    return bool(sep) and bool(path) and is_secret_path(path)


def _inspect_rule(cmd: Command, targets: list[str], rule: Rule) -> Rule:
    template = cmd.option("-f", "--format")
    secret = Rule(
        Scope.SECRET, _C, "secrets.read", "prints a container's environment, secrets included"
    )
    if template is not None:
        return secret if _REVEALS_ENV.search(template) else rule
    if cmd.option("--type") in ("image", "volume", "network") or (
        targets and all(_IMAGE_REF.search(t) for t in targets)
    ):
        return rule
    # The full JSON of a container includes Config.Env in clear.
    return secret


def _run(
    cmd: Command, ctx: Context, rest: list[str], engine: Engine, evidence: str
) -> list[Finding]:
    """``docker run``: the container's own command is its business, unless the
    container is handed the host (privileged, host namespaces, host paths) or
    credentials, or a host directory it could change (``_containers_spec``)."""
    mounts = cmd.options("-v", "--volume") + [
        part.split("=", 1)[1]
        for m in cmd.options("--mount")
        for part in m.split(",")
        if part.startswith(("source=", "src="))
    ]
    flags = [
        flag if want is None else f"{flag}={want}"
        for flag, want in _ESCAPE_FLAGS
        if cmd.has(flag) and (want is None or want in cmd.options(flag))
    ]
    if "host" in cmd.options("--net", "--network") and cmd.has("-it", "-i", "-t"):
        flags.append("--network=host")
    image_at = _split(rest, 0, _RUN_VALUED - {"-t"})
    image = rest[image_at] if image_at < len(rest) else ""
    entrypoint = cmd.option("--entrypoint")
    spec = image_program(image, shlex.split(entrypoint) if entrypoint else None,
                         rest[image_at + 1 :])  # fmt: skip
    env = dict(e.split("=", 1) for e in cmd.options("-e", "--env") if "=" in e)
    spec = replace(spec, env=env, mounts=tuple(_mount(m) for m in mounts), escapes=tuple(flags))
    base = _DOCKER[("", "run")]
    return judge_spec(ctx, spec, engine, evidence, base=base, cwd=cmd.cwd, via="docker run")


def _mount(volume: str) -> tuple[str, str]:
    """``SRC:DST[:ro]`` → (SRC, DST); a bare ``DST`` is an anonymous volume."""
    parts = volume.split(":")
    return (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])


def _inner(
    ctx: Context, inner: list[str], via: str, cwd: str | None, *, keep_all: bool
) -> list[Finding]:
    """Findings of a container's own command: all of them, or only the secrets it
    would print (``printenv``, ``env``, ``cat .env``) when its writes stay inside it."""
    if not inner:
        return []
    nested = ctx.classify_shell(shlex.join(inner), via=via, cwd=cwd)
    return [f for f in nested if keep_all or f.effect is Effect.SECRET]


def _in_workspace(source: str, ctx: Context, cwd: str | None) -> bool:
    """A bind mount of the project (or a scratch directory) is the project's own business."""
    from opsgate.classify.paths import Workspace, Zone

    ws = getattr(ctx, "workspace", None) or Workspace(ctx.project_dir, ctx.home)
    full = ws.expand(source, cwd)
    if full is None:
        return False
    return ws.zone(full) in (Zone.PROJECT_ROOT, Zone.PROJECT, Zone.PROJECT_DISPOSABLE, Zone.TEMP)


def _exec(
    cmd: Command, head: Command, ctx: Context, rest: list[str], via: str, evidence: str
) -> list[Finding]:
    """``docker exec [OPTS] CONTAINER CMD…``: CMD is a script run in the container."""
    at = _split(rest, 0, _EXEC_VALUED)
    container = rest[at] if at < len(rest) else "container"
    inner = rest[at + 1 :]
    engine = _engine_of(head, ctx, [container])
    seen = _finding(_read("runs a command in a container"), engine, evidence)
    unknown = Rule(Scope.UNKNOWN, _C, "containers.exec", "")
    if not inner or (len(inner) == 1 and inner[0].rsplit("/", 1)[-1] in _INTERACTIVE):
        return [
            seen,
            _finding(
                unknown,
                engine,
                evidence,
                "opens an interactive shell; what runs in it can't be seen",
            ),
        ]
    script = shlex.join(inner)
    opts = replace(cmd, args=tuple(a for a in cmd.args if a.value in rest[:at]))
    if cmd.stdin is not None and opts.has("-i", "--interactive"):
        if cmd.stdin.text is None:
            return [
                seen,
                _finding(
                    unknown, engine, evidence, "feeds data produced at run time into the container"
                ),
            ]
        script = f"{script} <<'OPSGATE_STDIN_EOF'\n{cmd.stdin.text}\nOPSGATE_STDIN_EOF"
    remote = container if not engine.remote else f"{engine.target}/{container}"
    return [seen, *ctx.classify_shell(script, via=via, remote=remote)]


def _compose(cmd: Command, ctx: Context, args: list[str], start: int) -> list[Finding]:
    i = _split(args, start, _COMPOSE_VALUED)
    verb = args[i] if i < len(args) else ""
    rest = args[i + 1 :]
    evidence = f"{cmd.name} compose {verb}".replace("-compose compose", "-compose")
    head, cmd = replace(cmd, args=cmd.args[:i]), replace(cmd, args=cmd.args[i + 1 :])
    # The compose files and project name are the stack's names.
    names = head.options("-f", "--file", "-p", "--project-name") + [
        cmd.env[k] for k in ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME") if k in cmd.env
    ]
    if verb == "exec":
        return _exec(cmd, head, ctx, rest, "docker compose exec", evidence)
    inner: list[str] = []
    if verb == "run":  # ``run [OPTS] SERVICE CMD…``: CMD's output reaches the agent
        at = _split(rest, 0, _COMPOSE_RUN_VALUED)
        inner = rest[at + 1 :]
    rule = _COMPOSE.get(verb, _UNKNOWN)
    if verb in ("down", "rm") and cmd.has("-v", "--volumes"):
        rule = _infra(_D, "removes the stack's volumes and the data in them", "containers.delete")
    if verb in ("config", "convert") and cmd.has(
        *_names("--services --volumes --profiles --images --hash -q --quiet --networks")
    ):
        rule = _read("lists names from the compose file")
    if verb in ("build", "up") and cmd.has("--push"):
        rule = _infra(_C, "builds and publishes images", "registry.publish")
    engine = _engine_of(head, ctx, names)
    found = [_finding(rule, engine, evidence)]
    from opsgate.classify.shell import Walker

    if verb in _COMPOSE_STARTS and isinstance(ctx, Walker) and ctx.remote is None:
        from opsgate.classify._run_containers import compose_findings

        return found + compose_findings(ctx, head, cmd, verb, engine, evidence)
    return found + _inner(ctx, inner, "docker compose run", cmd.cwd, keep_all=False)


# Verbs that build or start the stack's services: what they run is read from the file.
_COMPOSE_STARTS = frozenset(_names("up create start restart run build watch"))


_COMPOSE_RUN_VALUED = frozenset(
    _names(
        "-e --env --env-from-file -l --label --name -p --publish -u --user -v --volume "
        "-w --workdir --entrypoint --pull --cap-add --cap-drop"
    )
)


def _compose_cli(cmd: Command, ctx: Context) -> list[Finding]:
    return _compose(cmd, ctx, list(cmd.words), 0)
