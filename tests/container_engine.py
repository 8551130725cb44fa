"""Podman as the container tests use it: which OCI runtime and which resource limits
let it run a container on this host, or why none can (the reason the tests skip with).

Two things stop a stock rootful podman in sandboxed hosts (a Firecracker VM whose
root lacks CAP_SYS_RESOURCE, a CI container), and neither needs a change to the host:

- **Limits.** For a root container podman asks for ``nofile`` and ``nproc`` of
  1048576.  Without CAP_SYS_RESOURCE no process may raise a hard limit, so the
  runtime's ``setrlimit`` fails with EPERM.  Worse, podman (containers/common's
  default ulimits) first lowers its *own* ``nproc`` to ``kernel.pid_max``, which
  it may, and cannot take it back: the runtime, its child, can then be given no
  more than that, whatever ``ulimit -Hu`` said before podman started.  So the
  containers are given this process's hard limits, ``nproc`` at most ``pid_max``.
- **Runtime.** crun (Debian's default) refuses a hybrid cgroup hierarchy whose
  cgroup v2 mount still has a controller (``cgroups in hybrid mode not supported,
  drop all controllers from cgroupv2``), even with ``--cgroups=disabled``; runc
  runs there.  The runtimes are tried in order and the first that runs wins.
"""

from __future__ import annotations

import os
import resource
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# podman's own default for a root container's nofile/nproc, and the cap used when a
# hard limit is unlimited.
PODMAN_DEFAULT_LIMIT = 1048576
# None: podman's configured runtime (crun on Debian); then Debian's runc.
RUNTIMES: tuple[str | None, ...] = (None, "runc")
NO_RUNTIME_HINT = (
    "crun refuses a hybrid cgroup hierarchy whose cgroup v2 has controllers; "
    "Debian's runc runs there (apt-get install runc)"
)


@dataclass(frozen=True)
class Engine:
    """podman with the runtime and the ``--ulimit`` values that run containers here."""

    runtime: str | None
    limits: tuple[str, ...]

    def argv(self, *args: str) -> list[str]:
        runtime = ["--runtime", self.runtime] if self.runtime else []
        return ["podman", *runtime, *args]

    def ulimits(self) -> list[str]:
        return [flag for limit in self.limits for flag in ("--ulimit", limit)]

    def __call__(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        done = subprocess.run(
            self.argv(*args), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {done.stderr[-3000:]}")
        return done.stdout

    def logs(self, name: str) -> str:
        """A container's output, stdout and stderr (where uvicorn logs) as one."""
        done = subprocess.run(
            self.argv("logs", name), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=60, check=False,
        )  # fmt: skip
        return done.stdout

    def describe(self) -> str:
        return f"runtime {self.runtime or 'default'}, --ulimit {' '.join(self.limits)}"


def _hard_limit(kind: int, cap: int) -> int:
    hard = resource.getrlimit(kind)[1]
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


def container_limits() -> tuple[str, ...]:
    """The ``nofile`` and ``nproc`` a container can be given from this process."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    nofile = _hard_limit(resource.RLIMIT_NOFILE, PODMAN_DEFAULT_LIMIT)
    nproc = _hard_limit(resource.RLIMIT_NPROC, min(pid_max, PODMAN_DEFAULT_LIMIT))
    return (f"nofile={nofile}:{nofile}", f"nproc={nproc}:{nproc}")


def podman_or_skip() -> None:
    if shutil.which("podman") is None:
        pytest.skip("no container engine: podman is not installed (apt-get install podman)")
    done = subprocess.run(["podman", "info"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.skip(f"podman cannot run here: {done.stderr.strip()[-300:]}")


def engine_or_skip(base: str) -> Engine:
    """The first runtime that runs a container from ``base`` here; else skip with
    each runtime's error.  ``podman info`` answers on hosts where no container can
    be created, so only running one tells."""
    limits, failures = container_limits(), []
    for runtime in RUNTIMES:
        if runtime is not None and shutil.which(runtime) is None:
            failures.append(f"{runtime}: not installed")
            continue
        engine = Engine(runtime, limits)
        done = subprocess.run(
            engine.argv("run", "--rm", "--network", "host", *engine.ulimits(), base, "true"),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode == 0:
            return engine
        failures.append(f"{runtime or 'default runtime'}: {done.stderr.strip()[-300:]}")
    pytest.skip(f"podman cannot run a container here ({'; '.join(failures)}). {NO_RUNTIME_HINT}")


def _dangling(engine: Engine) -> set[str]:
    listed = engine("images", "-q", "--no-trunc", "--filter", "dangling=true", timeout=120)
    return set(listed.split())


@contextmanager
def built_image(engine: Engine, tag: str, context: Path, *build_args: str) -> Iterator[str]:
    """The Containerfile or Dockerfile in ``context`` built as ``tag``, for the
    ``with`` block; then that image and the untagged stage images the build left
    are removed (the base image stays)."""
    before = _dangling(engine)
    try:
        # docker format: OCI images drop HEALTHCHECK; host network: apt and pip
        # reach Debian's archive and PyPI as this machine does.
        engine(
            "build", "-t", tag, *engine.ulimits(), "--format", "docker", "--network", "host",
            *build_args, str(context), timeout=1800,
        )  # fmt: skip
        yield tag
    finally:
        engine("rmi", "-f", tag, check=False, timeout=300)
        left = sorted(_dangling(engine) - before)
        if left:
            engine("rmi", "-f", *left, check=False, timeout=300)


@contextmanager
def trusting_host_cas(engine: Engine, base: str, scratch: Path) -> Iterator[str]:
    """``base`` with this host's CA bundle trusted too, for the ``with`` block (just
    ``base`` where the host has no bundle).

    pip in the build reaches PyPI as this machine does, which may be through a
    TLS-inspecting proxy whose CA only this host's bundle holds.  The bundle goes
    where Debian keeps local CAs, so the image's own ``ca-certificates`` (installed
    or upgraded by the build) keeps it: the Dockerfile is built as it is, on this
    base, as on any mirror of Debian that carries an organisation's CA."""
    cafile = ssl.get_default_verify_paths().cafile
    if not cafile or not Path(cafile).is_file():
        yield base
        return
    shutil.copy(cafile, scratch / "host-ca.crt")
    (scratch / "Containerfile").write_text(
        f"FROM {base}\n"
        "COPY host-ca.crt /usr/local/share/ca-certificates/host-ca.crt\n"
        # debian:bookworm-slim has no ca-certificates yet: the build's apt installs it.
        "RUN ! command -v update-ca-certificates || update-ca-certificates\n"
    )
    tag = f"localhost/opsgate-test-base:hostca-{os.urandom(3).hex()}"
    with built_image(engine, tag, scratch):
        yield tag


def write_containers_conf(engine: Engine, path: Path) -> Path:
    """A containers.conf with the engine's runtime and limits, for tools that run
    podman themselves (podman-compose): ``CONTAINERS_CONF`` names it."""
    lines = ["[containers]", f"default_ulimits = {list(engine.limits)!r}".replace("'", '"')]
    if engine.runtime:
        lines += ["", "[engine]", f'runtime = "{engine.runtime}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def compose(env: dict[str, str], project: Path, *args: str, check: bool = True) -> str:
    """``podman-compose`` on ``project``'s compose.yaml, its output; raises with it
    on failure when ``check``."""
    done = subprocess.run(
        ["podman-compose", "-p", project.name, "-f", str(project / "compose.yaml"), *args],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"podman-compose {' '.join(args)}: {done.stdout[-3000:]}")
    return done.stdout


@contextmanager
def compose_stack(engine: Engine, env: dict[str, str], project: Path) -> Iterator[None]:
    """``podman-compose up -d`` of ``project`` (its directory name is the project
    name) for the ``with`` block; then ``down -v`` and the network, which
    podman-compose 1.0.3 leaves."""
    try:
        compose(env, project, "up", "-d", "--no-build")
        yield
    finally:
        compose(env, project, "down", "-v", "-t", "5", check=False)
        engine("network", "rm", "-f", f"{project.name}_default", check=False, timeout=120)
