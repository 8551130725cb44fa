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

from opsgate.classify._command import Command, Context, Handler
from opsgate.classify.families._containers_docker import _compose_cli, _docker, _exec
from opsgate.classify.families._containers_engine import (
    Engine,
    _engine_of,
    _finding,
    _most_sensitive,
    _split,
)
from opsgate.classify.families._containers_tables import (
    _BUILD,
    _C,
    _D,
    _S,
    _UNKNOWN,
    Rule,
    _engine,
    _infra,
    _names,
    _read,
)
from opsgate.models import Finding

__all__ = ["HANDLERS"]


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
