"""Container engines: docker (and ``docker compose``), docker-compose, podman,
podman-compose, nerdctl, crictl, skopeo.

The rule that separates allowed local work from gated writes is *where the
daemon is*, not which verb runs.  Restarting or removing a container of the
developer's own engine stays in the workspace (``Effect.LOCAL``); the same verb
against a remote daemon (``-H``/``DOCKER_HOST``/``--context``/``--connection``),
inside ``ssh host …``, on a Kubernetes node's containerd, or on a stack whose
compose file, project or container name says staging/production is a write on
infrastructure.  Swarm objects (service, stack, secret, node) live in a cluster,
so they are infrastructure wherever the CLI runs.  Whatever a daemon is, losing
volumes (data) or pruning every project's images is destructive.
"""

from __future__ import annotations

import enum
import re
import shlex
from dataclasses import dataclass, replace
from typing import NamedTuple

from opsgate.classify._command import Command, Context, Handler
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["HANDLERS"]


def _names(text: str) -> list[str]:
    """Table rows written as one space-separated string."""
    return text.split()


class Scope(enum.StrEnum):
    READ = "read"  # changes nothing
    ENGINE = "engine"  # LOCAL on the developer's engine, WRITE on a remote one
    INFRA = "infra"  # WRITE wherever the engine is (registries, swarm, data loss)
    SECRET = "secret"  # noqa: S105 - a scope name, not a password
    UNKNOWN = "unknown"


class Rule(NamedTuple):
    scope: Scope
    impact: Impact
    category: str
    reason: str
    remote_impact: Impact | None = None  # when a remote engine makes it worse


def _read(reason: str) -> Rule:
    return Rule(Scope.READ, Impact.SAFE, "containers.read", reason)


def _engine(impact: Impact, reason: str, category: str = "containers.lifecycle") -> Rule:
    return Rule(Scope.ENGINE, impact, category, reason)


def _infra(impact: Impact, reason: str, category: str = "containers.write") -> Rule:
    return Rule(Scope.INFRA, impact, category, reason)


_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE
_UNKNOWN = Rule(Scope.UNKNOWN, _C, "containers.unknown", "unrecognised subcommand")
_BUILD = _engine(_S, "builds or fetches images on this machine", "containers.build")

# (management group, verb); group "" is the top-level verb.  Aliases are folded
# in _ALIASES below so ``docker container rm`` and ``docker rm`` share a row.
_DOCKER: dict[tuple[str, str], Rule] = {
    **{
        ("", v): _read("reads container state")
        for v in _names("ps images logs inspect stats top version info history events port diff")
    },
    **{("", v): _read("reads or exports locally") for v in _names("search save export")},
    **{("", v): _BUILD for v in _names("build pull tag load import commit init")},
    ("", "login"): _engine(_S, "stores registry credentials locally", "containers.login"),
    ("", "logout"): _engine(_S, "forgets registry credentials", "containers.login"),
    ("", "create"): _engine(_S, "creates a container"),
    ("", "run"): _engine(_S, "runs a container"),
    **{
        ("", v): _engine(_C, "changes a running container")
        for v in _names("start stop restart kill pause unpause update rename wait attach")
    },
    ("", "rm"): _engine(_C, "removes containers", "containers.remove")._replace(remote_impact=_D),
    ("", "rmi"): _engine(_C, "removes images (they can be pulled or rebuilt)", "containers.remove"),
    ("", "cp"): _engine(_S, "copies files out of a container"),
    ("", "push"): _infra(_C, "publishes an image to a registry", "registry.publish"),
    ("container", "prune"): _engine(_C, "removes stopped containers", "containers.remove"),
    ("image", "prune"): _engine(_S, "removes dangling images", "containers.remove"),
    ("builder", "prune"): _engine(_S, "clears the build cache (rebuilt on demand)"),
    ("buildx", "prune"): _engine(_S, "clears the build cache (rebuilt on demand)"),
    **{("buildx", v): _read("reads builder state") for v in _names("ls inspect du version")},
    **{("buildx", v): _BUILD for v in _names("build bake create use rm stop")},
    **{
        (g, v): _read("reads state")
        for g in _names("volume network context")
        for v in ("ls", "inspect")
    },
    ("volume", "create"): _engine(_S, "creates a volume"),
    ("network", "create"): _engine(_S, "creates a network"),
    **{
        ("network", v): _engine(_S, "changes local networking")
        for v in _names("connect disconnect")
    },
    ("network", "rm"): _engine(_C, "removes a network", "containers.remove"),
    ("network", "prune"): _engine(_C, "removes unused networks", "containers.remove"),
    # Volumes hold the data (databases, uploads): removing them is lost data.
    ("volume", "rm"): _infra(_D, "deletes volumes and the data in them", "containers.delete"),
    ("volume", "prune"): _infra(
        _D, "deletes every unused volume and its data", "containers.delete"
    ),
    # Machine-wide: removes other projects' containers, images and caches too.
    ("system", "prune"): _infra(
        _D, "prunes containers, images and networks machine-wide", "containers.delete"
    ),
    ("system", "df"): _read("reads disk usage"),
    ("system", "info"): _read("reads engine info"),
    ("system", "events"): _read("reads engine events"),
    **{
        ("context", v): _engine(_S, "changes local CLI contexts")
        for v in _names("use create rm update import")
    },
    **{("context", v): _read("reads CLI contexts") for v in _names("show export")},
    ("manifest", "inspect"): _read("reads a manifest"),
    ("manifest", "push"): _infra(_C, "publishes a manifest list", "registry.publish"),
    ("trust", "inspect"): _read("reads signatures"),
    ("trust", "sign"): _infra(_C, "signs and publishes an image", "registry.publish"),
    **{("plugin", v): _read("reads plugins") for v in _names("ls inspect")},
    **{
        ("plugin", v): _infra(_C, "changes engine plugins (privileged)")
        for v in _names("install enable disable rm upgrade set")
    },
    **{("", v): _read("reads state") for v in _names("scout sbom")},
    # Swarm objects live in the cluster: every change is infrastructure.
    **{
        (g, v): _read("reads swarm state")
        for g in _names("service stack node secret config")
        for v in _names("ls ps logs inspect services")
    },
    **{
        (g, v): _infra(_C, "changes swarm objects")
        for g in _names("service stack node secret config swarm")
        for v in _names(
            "create update scale rollback deploy up promote demote init join leave unlock-key ca"
        )
    },
    **{
        (g, v): _infra(_D, "removes swarm objects", "containers.delete")
        for g in _names("service stack node secret config")
        for v in ("rm",)
    },
}

# Folded to their top-level twins.
_ALIASES = {
    ("container", "ls"): ("", "ps"),
    ("container", "list"): ("", "ps"),
    ("image", "ls"): ("", "images"),
    ("image", "list"): ("", "images"),
    ("image", "rm"): ("", "rmi"),
    ("image", "push"): ("", "push"),
    ("volume", "list"): ("volume", "ls"),
}
_GROUPS = frozenset(
    _names(
        "container image volume network builder buildx system context manifest "
        "trust plugin service stack node secret config swarm compose"
    )
)

_COMPOSE: dict[str, Rule] = {
    **{
        v: _read("reads compose stack state")
        for v in _names("ps logs ls images top port version events stats")
    },
    **{v: _BUILD for v in _names("build pull create")},
    **{
        v: _engine(_C, "changes containers of the compose stack")
        for v in _names("up start stop restart pause unpause kill run scale wait attach watch")
    },
    "down": _engine(_C, "stops and removes the compose stack's containers"),
    "rm": _engine(_C, "removes the compose stack's stopped containers", "containers.remove"),
    "cp": _engine(_S, "copies files in or out of a service container"),
    "push": _infra(_C, "publishes the stack's images", "registry.publish"),
    # ``config`` prints the resolved file, with values interpolated from .env.
    "config": Rule(
        Scope.SECRET, _C, "secrets.read", "prints the resolved compose file, .env values included"
    ),
    "convert": Rule(
        Scope.SECRET, _C, "secrets.read", "prints the resolved compose file, .env values included"
    ),
}

_GLOBAL_VALUED = _names(
    "-H --host -c --context --config -l --log-level --connection --url "
    "--identity -n --namespace -a --address --tlscacert --tlscert --tlskey"
)
_COMPOSE_VALUED = _names(
    "-f --file -p --project-name --profile --env-file --project-directory "
    "--ansi --parallel --progress"
)
_RUN_VALUED = frozenset(
    _names(
        "-v --volume -e --env --env-file -p --publish --name -w --workdir -u "
        "--user --network --net"
        "--mount --entrypoint -l --label --platform --pid --ipc --restart -m "
        "--memory --cpus --device"
        "--cap-add --cap-drop --security-opt -h --hostname --add-host --dns --log-driver --log-opt "
        "--tmpfs --shm-size --ulimit --gpus --userns --cidfile --health-cmd --stop-signal --pull "
        "--runtime --link --expose --group-add --label-file --volumes-from --memory-swap -c "
        "--cpu-shares --cpuset-cpus --uts --cgroupns -a --attach --detach-keys --sysctl "
        "--network-alias --ip --mac-address --stop-timeout --pids-limit --storage-opt -f --format "
        "--filter --signal -s -t --time --since --until --tail -o --output --platform -q"
    )
)
# ``-t`` is a value only for stop/restart (``-t 10``); for run/exec it is --tty.
_NO_VALUE_T = frozenset(_names("run exec create"))

_LOCAL_CONTEXTS = frozenset(
    _names(
        "default desktop-linux docker-desktop colima rancher-desktop orbstack "
        "podman-machine-default"
    )
)
_LOCAL_HOST = re.compile(
    r"^(unix://|npipe://|fd://|(tcp://)?(localhost|127\.[\d.]+|\[?::1\]?)(:\d+)?/?$)"
)
# Host paths whose bind mount hands the container the host, or its credentials.
_ESCAPE_MOUNTS = re.compile(
    r"^(/|/etc|/root|/home|/proc|/sys|/dev|/boot|/var/run/docker\.sock|/run/docker\.sock|/var/lib/docker|/var/run|/run|~|\$HOME|\$\{HOME\})(/|$)"
)
_CREDENTIAL_DIRS = re.compile(r"(^|/)\.(aws|kube|ssh|docker|azure|gnupg|config/gcloud)(/|$)")
_ESCAPE_FLAGS = (
    ("--privileged", None),
    ("--pid", "host"),
    ("--ipc", "host"),
    ("--userns", "host"),
    ("--uts", "host"),
    ("--cap-add", "SYS_ADMIN"),
    ("--cap-add", "ALL"),
)
_INTERACTIVE = frozenset(_names("bash sh zsh ash dash ksh fish"))
_REVEALS_ENV = re.compile(r"Env|\.Config\s*\}\}|\{\{\s*(json\s+)?\.\s*\}\}")


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
    if verb == "run" and rule.scope == Scope.ENGINE:
        return _run(opts, ctx, rest, engine, evidence)
    return [_finding(rule, engine, evidence)]


def _refine(cmd: Command, key: tuple[str, str], rule: Rule, targets: list[str]) -> Rule:
    """Flags and arguments that change a verb's class."""
    verb = key[1]
    if verb in ("build", "bake") and (
        cmd.has("--push") or "type=registry" in (cmd.option("--output", "-o") or "")
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
        return _engine(_C, "writes files into a container") if into else rule
    return rule


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
    credentials, or a host directory it could change."""
    mounts = cmd.options("-v", "--volume") + [
        part.split("=", 1)[1]
        for m in cmd.options("--mount")
        for part in m.split(",")
        if part.startswith(("source=", "src="))
    ]
    sources = [m.split(":", 1)[0] for m in mounts]
    flags = [
        (flag, want)
        for flag, want in _ESCAPE_FLAGS
        if cmd.has(flag) and (want is None or want in cmd.options(flag))
    ]
    net_host = "host" in cmd.options("--net", "--network") and cmd.has("-it", "-i", "-t")
    escapes = [s for s in sources if _ESCAPE_MOUNTS.match(s) and not _in_workspace(s, ctx, cmd)]
    if any(_CREDENTIAL_DIRS.search(s) for s in sources):
        rule = Rule(
            Scope.UNKNOWN,
            _C,
            "secrets.read",
            "mounts credentials into a container; what it does with them can't be seen",
        )
        return [_finding(rule, engine, evidence)]
    if flags or escapes or net_host:
        why = ", ".join([f for f, _ in flags] + escapes + (["--network=host"] if net_host else []))
        rule = _infra(_C, f"hands the container the host ({why})", "containers.host_escape")
        return [_finding(rule, engine, evidence)]
    found = [_finding(_DOCKER[("", "run")], engine, evidence)]
    image_at = _split(rest, 0, _RUN_VALUED - {"-t"})
    inner = rest[image_at + 1 :]
    host_dirs = [s for s in sources if s.startswith(("/", ".", "$", "~"))]
    # The command can change the mounted project directory: judge it as local work.
    # Whatever the container is, what it prints (``env``) reaches the agent.
    return found + _inner(
        ctx, inner, "docker run", cmd.cwd, keep_all=bool(host_dirs) and not engine.remote
    )


def _inner(
    ctx: Context, inner: list[str], via: str, cwd: str | None, *, keep_all: bool
) -> list[Finding]:
    """Findings of a container's own command: all of them, or only the secrets it
    would print (``printenv``, ``env``, ``cat .env``) when its writes stay inside it."""
    if not inner:
        return []
    nested = ctx.classify_shell(shlex.join(inner), via=via, cwd=cwd)
    return [f for f in nested if keep_all or f.effect is Effect.SECRET]


def _in_workspace(source: str, ctx: Context, cmd: Command) -> bool:
    """A bind mount of the project (or a scratch directory) is the project's own business."""
    from opsgate.classify.paths import Workspace, Zone

    ws = getattr(ctx, "workspace", None) or Workspace(ctx.project_dir, ctx.home)
    full = ws.expand(source, cmd.cwd)
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
    found = [_finding(rule, _engine_of(head, ctx, names), evidence)]
    return found + _inner(ctx, inner, "docker compose run", cmd.cwd, keep_all=False)


_COMPOSE_RUN_VALUED = frozenset(
    _names(
        "-e --env --env-from-file -l --label --name -p --publish -u --user -v --volume "
        "-w --workdir --entrypoint --pull --cap-add --cap-drop"
    )
)


def _compose_cli(cmd: Command, ctx: Context) -> list[Finding]:
    return _compose(cmd, ctx, list(cmd.words), 0)


_PODMAN_ALIASES = {("pod", "list"): ("pod", "ls")}
_PODMAN: dict[tuple[str, str], Rule] = {
    **{("pod", v): _read("reads pod state") for v in _names("ls ps inspect logs top stats exists")},
    **{
        ("pod", v): _engine(_C, "changes a pod")
        for v in _names("create start stop restart kill pause unpause")
    },
    **{("pod", v): _engine(_C, "removes pods", "containers.remove") for v in _names("rm prune")},
    **{
        ("machine", v): _engine(_S, "manages the local podman VM")
        for v in _names("init start stop ssh set os")
    },
    **{("machine", v): _read("reads the local podman VM") for v in _names("ls list inspect info")},
    ("machine", "rm"): _engine(_C, "removes the local podman VM", "containers.remove"),
    ("system", "reset"): _infra(
        _D, "deletes every container, image and volume", "containers.delete"
    ),
    ("system", "connection"): _engine(_S, "changes local connection settings"),
    **{
        (g, v): _engine(_C, "creates pods from Kubernetes YAML")
        for g in ("kube", "play")
        for v in ("play", "kube")
    },
    ("kube", "down"): _engine(_C, "removes pods created from Kubernetes YAML"),
    ("generate", "kube"): _read("renders Kubernetes YAML"),
}
_GROUPS = _GROUPS | {"pod", "machine", "kube", "play", "generate"}

# crictl talks to a Kubernetes node's runtime: every change is infrastructure.
_CRICTL: dict[str, Rule] = {
    **{
        v: _read("reads node runtime state")
        for v in _names(
            "ps pods images img inspect inspectp inspecti imagefsinfo logs stats "
            "statsp info version config"
        )
    },
    **{
        v: _infra(_D, "removes pods, containers or images from a node", "containers.delete")
        for v in _names("rm rmp rmi")
    },
    **{
        v: _infra(_C, "changes pods or containers on a node")
        for v in _names("stop stopp create start runp run update pull")
    },
}


def _crictl(cmd: Command, ctx: Context) -> list[Finding]:
    args = list(cmd.words)
    i = _split(args, 0, _names("-r --runtime-endpoint -i --image-endpoint -t --timeout --config"))
    verb = args[i] if i < len(args) else ""
    if verb == "exec":
        return _exec(cmd, cmd, ctx, args[i + 1 :], "crictl exec", "crictl exec")
    return [_finding(_CRICTL.get(verb, _UNKNOWN), _engine_of(cmd, ctx, []), f"crictl {verb}")]


_CTR_READ = frozenset(_names("ls list info check version plugins"))
_CTR_DELETE = frozenset(_names("rm delete del remove prune"))


def _ctr(cmd: Command, ctx: Context) -> list[Finding]:
    words = cmd.subcommand(_names("-n --namespace -a --address"), depth=2)
    verb = words[-1] if words else ""
    if verb in _CTR_READ or words[:1] == ("version",):
        rule = _read("reads containerd state")
    elif verb in _CTR_DELETE:
        rule = _engine(_C, "removes containerd objects", "containers.remove")._replace(
            remote_impact=_D
        )
    else:
        rule = _engine(_C, "changes containerd objects")
    return [_finding(rule, _engine_of(cmd, ctx, []), " ".join(["ctr", *words]))]


_LOCAL_TRANSPORTS = (
    "dir:",
    "oci:",
    "oci-archive:",
    "docker-archive:",
    "docker-daemon:",
    "containers-storage:",
)


def _skopeo(cmd: Command, ctx: Context) -> list[Finding]:
    words = [
        a.value
        for a in cmd.positionals(
            _names("--authfile --creds --src-creds --dest-creds --override-os --override-arch")
        )
    ]
    verb = words[0] if words else ""
    if verb in ("inspect", "list-tags", "standalone-verify"):
        rule = _read("reads an image from a registry")
    elif verb in ("login", "logout", "standalone-sign", "generate-sigstore-key"):
        rule = _engine(_S, "local registry credentials or signatures")
    elif verb == "delete":
        rule = _infra(_D, "deletes an image from a registry", "registry.delete")
    elif verb in ("copy", "sync") and len(words) >= 3 and words[-1].startswith(_LOCAL_TRANSPORTS):
        rule = _BUILD
    elif verb in ("copy", "sync"):
        rule = _infra(_C, "writes images to a registry", "registry.publish")
    else:
        rule = _UNKNOWN
    target = words[-1] if len(words) > 1 else "registry"
    engine = Engine(
        target=target, remote=False, environment=(_most_sensitive(ctx, [target]) or (None, None))[0]
    )
    return [_finding(rule, engine, f"skopeo {verb}")]


HANDLERS: dict[str, Handler] = {
    "docker": _docker,
    "podman": _docker,
    "nerdctl": _docker,
    "docker-compose": _compose_cli,
    "podman-compose": _compose_cli,
    "crictl": _crictl,
    "ctr": _ctr,
    "skopeo": _skopeo,
}
