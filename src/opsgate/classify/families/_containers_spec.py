"""What a container does, from how it is started: ``docker run``'s flags or a compose
service's keys, reduced to one ``Spec`` and judged the same way.

A container that holds no host directory is thrown away like an image build's, so
what its command changes inside it does not count; what reaches further does
(``_autorun._counts``: databases other than the stack's own services, clouds,
clusters, secrets it prints).  One that holds a host directory (the project) may
change it: everything its command does counts, but the stack's own database.  Handed the host
(privileged, host namespaces, a bind mount of ``/``, a home or the docker socket) it is
the host.  Handed credentials (a bind mount of ``~/.aws``, ``~/.ssh`` …) it acts as the
developer: its command is judged in full as the program it is, which needs the image's
entrypoint to be known (``amazon/aws-cli`` runs ``aws``); one whose entrypoint is not
known, or whose command names the mounted credentials, is ``unknown``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from opsgate.classify._command import Context
from opsgate.classify.families._containers_engine import Engine, _finding
from opsgate.classify.families._containers_tables import (
    _C,
    _CREDENTIAL_DIRS,
    _ESCAPE_MOUNTS,
    Rule,
    Scope,
    _infra,
    _names,
)
from opsgate.models import Effect, Finding, Impact

__all__ = ["Spec", "image_program", "judge_spec"]


@dataclass(frozen=True, slots=True)
class Spec:
    """A container about to start.  ``argv``: the command line it runs, None when it is
    the image's own; ``known``: whether the image's entrypoint is known."""

    image: str
    argv: tuple[str, ...] | None
    known: bool
    env: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[tuple[str, str], ...] = ()  # (host source, container target)
    escapes: tuple[str, ...] = ()  # flags that hand it the host: --privileged, --pid=host
    services: frozenset[str] = frozenset()  # the compose stack's own services (hosts)


# Images whose entrypoint is a program: what follows the image is that program's words.
_PROGRAMS = {
    "amazon/aws-cli": "aws", "public.ecr.aws/aws-cli/aws-cli": "aws", "curlimages/curl": "curl",
    "bitnami/kubectl": "kubectl", "rancher/kubectl": "kubectl", "alpine/helm": "helm",
    "hashicorp/terraform": "terraform", "minio/mc": "mc", "alpine/git": "git",
    "rclone/rclone": "rclone", "bitnami/git": "git", "hashicorp/vault": "vault",
}  # fmt: skip
# Images with no entrypoint of their own (or one that runs the words it is given): what
# follows the image is the command line.
_PLAIN = frozenset(_names(
    "alpine busybox debian ubuntu fedora centos rockylinux almalinux amazonlinux archlinux "
    "python node golang ruby php perl rust openjdk eclipse-temurin bash docker postgres mysql "
    "mariadb redis mongo nginx httpd google/cloud-sdk gcr.io/google.com/cloudsdktool/cloud-sdk "
    "mcr.microsoft.com/azure-cli bitnami/postgresql bitnami/redis"
))  # fmt: skip


# Host files a container is commonly given to share the host's clock and time zone.
_CLOCK = frozenset(_names("/etc/localtime /etc/timezone /usr/share/zoneinfo"))


def image_program(image: str, entrypoint: list[str] | None, words: list[str]) -> Spec:
    """The command line an image runs given ``words`` after it (and ``--entrypoint``)."""
    if entrypoint:
        return Spec(image, (*entrypoint, *words), True)
    name = _image_name(image)
    program = _PROGRAMS.get(name)
    if program is not None:
        return Spec(image, (program, *words), True)
    argv = tuple(words) if words else None
    return Spec(image, argv, name in _PLAIN)


def _image_name(image: str) -> str:
    """``docker.io/library/python:3.12@sha256:…`` → ``python``."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    if head and "/" not in tail:
        name = head
    name = name.lower().removeprefix("docker.io/").removeprefix("index.docker.io/")
    return name.removeprefix("library/")


def judge_spec(
    ctx: Context,
    spec: Spec,
    engine: Engine,
    evidence: str,
    *,
    base: Rule | None,
    cwd: str | None,
    via: str,
) -> list[Finding]:
    """Findings for starting the container ``spec`` describes (``base``: the verb's own
    rule, None when the caller has judged the verb)."""
    from opsgate.classify.families._containers_docker import _in_workspace

    sources = [s for s, _ in spec.mounts]
    credentials = [t for s, t in spec.mounts if _CREDENTIAL_DIRS.search(s)]
    escapes = [*spec.escapes] + [
        s
        for s in sources
        if _ESCAPE_MOUNTS.match(s)
        and not _CREDENTIAL_DIRS.search(s)
        and s not in _CLOCK
        and not _in_workspace(s, ctx, cwd)
    ]
    script = _script(spec)
    if escapes:
        rule = _infra(_C, f"hands the container the host ({', '.join(escapes)})",
                      "containers.host_escape")  # fmt: skip
        return [_finding(rule, engine, evidence)]
    if credentials:
        inner = ctx.classify_shell(script, via=via, cwd=cwd) if script else []
        # A variable pointing the program at the mount (``KUBECONFIG=/kube/config``) is
        # how it uses the credentials; a command that names them may print them.
        words = shlex.join(spec.argv or ())
        if not spec.known or script is None or any(t in words for t in credentials):
            why = (
                "mounts credentials into a container; what it does with them can't be seen"
                if not script or not spec.known
                else "mounts credentials into a container whose command names them"
            )
            rule = Rule(Scope.UNKNOWN, _C, "secrets.read", why)
            return [_finding(rule, engine, evidence), *inner]
        # It acts with the developer's credentials: everything it does counts.
        return [*_base(base, engine, evidence), *inner]
    found = _base(base, engine, evidence)
    if not script:
        return found
    nested = ctx.classify_shell(script, via=via, cwd=cwd)
    # The command can change a mounted project directory: judge it as local work.
    if any(s.startswith(("/", ".", "$", "~")) for s in sources) and not engine.remote:
        return found + [f for f in nested if not _stack_data(f, spec)]
    return found + [f for f in nested if _reaches_out(f, spec, script)]


def _base(base: Rule | None, engine: Engine, evidence: str) -> list[Finding]:
    return [_finding(base, engine, evidence)] if base is not None else []


def _script(spec: Spec) -> str | None:
    if not spec.argv:
        return None
    # A value compose fills in from the environment or ``.env`` (``${DATABASE_URL}``)
    # is left to the program's own lookup, not taken as the literal text.
    prefix = [
        f"{k}={shlex.quote(v)}"
        for k, v in spec.env.items()
        if k.isidentifier() and not v.startswith("$") and "${" not in v
    ]
    return " ".join([*prefix, shlex.join(spec.argv)])


def _stack_data(f: Finding, spec: Spec) -> bool:
    """Work on a database that is one of the stack's own services (``db:5432``)."""
    from opsgate.classify._autorun import _DATA, _HOST

    match = _HOST.match((f.target or "").lower())
    host = match.group(1) if match else ""
    own = host in spec.services
    return own and f.category.startswith(_DATA) and f.impact is not Impact.DESTRUCTIVE


def _reaches_out(f: Finding, spec: Spec, script: str) -> bool:
    """What a container that holds no host directory does beyond itself: as an image
    build's step, its files are its own; what it prints reaches the agent."""
    from opsgate.classify._autorun import Runs, Step, _counts

    if f.effect is Effect.SECRET:
        return True
    return _counts(f, Step("container", script, "sh", Runs.BUILD, services=spec.services))
