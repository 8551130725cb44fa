"""Container verb tables: which docker, compose and podman subcommands read, change
the local engine, or change infrastructure.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

from opsgate.models import Impact

__all__ = [
    "_ALIASES",
    "_BUILD",
    "_C",
    "_COMPOSE",
    "_COMPOSE_VALUED",
    "_CREDENTIAL_DIRS",
    "_D",
    "_DOCKER",
    "_ESCAPE_FLAGS",
    "_ESCAPE_MOUNTS",
    "_GLOBAL_VALUED",
    "_GROUPS",
    "_INTERACTIVE",
    "_LOCAL_CONTEXTS",
    "_LOCAL_HOST",
    "_NO_VALUE_T",
    "_PODMAN",
    "_PODMAN_ALIASES",
    "_REVEALS_ENV",
    "_RUN_VALUED",
    "_S",
    "_UNKNOWN",
    "Rule",
    "Scope",
    "_engine",
    "_infra",
    "_names",
    "_read",
]


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
    **{("container", v): ("", v) for v in _names("run create update start stop restart kill")},
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
