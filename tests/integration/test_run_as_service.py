"""Ways to run opsgate: the container image, the compose file and the systemd unit.

Where a container engine runs (Debian's podman, as root or rootless), the image is
built from this tree and two replicas of it are started on one PostgreSQL database
(a throwaway cluster on the host, reached over the host network) with one shared
signing key: both must be ready, run as the image's user, answer a decision each,
pass the image's own health check, and leave one audit chain each verifies.  The
runtime and the resource limits that let podman run a container on the host are
found by ``container_engine``; where none runs, that test is skipped with the
reason.  The compose file and the Dockerfile are checked as data
everywhere; the systemd unit by
``systemd-analyze verify`` and against protected mode's unit, which it must not
be weaker than.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from container_engine import (
    Engine,
    built_image,
    compose_stack,
    engine_or_skip,
    podman_or_skip,
    trusting_host_cas,
    write_containers_conf,
)
from servers import free_port, postgres_or_skip

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "opsgate.service"
PROTECTED = ROOT / "src" / "opsgate" / "system" / "units" / "opsgate-server.service"
TEST_BASE = "localhost/opsgate-test-base:bookworm"
STAND_IN_POSTGRES = ROOT / "tests" / "containers" / "postgres"
SAFE = {"tool": "Bash", "input": {"command": "ls -la"}, "cwd": "/tmp"}
# Where the service and protected mode's may differ: who runs it and where its data is.
PER_INSTALL = {"User", "Group", "ExecStart", "ReadWritePaths", "Description", "After"}


def directives(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def test_systemd_unit_is_valid_and_as_hardened_as_protected_mode(tmp_path: Path) -> None:
    unit, protected = directives(UNIT), directives(PROTECTED)
    for key, value in protected.items():
        if key not in PER_INSTALL:
            assert unit.get(key) == value, f"{key}={value} (protected mode) vs {unit.get(key)}"
    assert unit["ReadWritePaths"] == "/var/lib/opsgate" == unit["Environment"].split("=", 1)[1]
    assert unit["User"] == "opsgate" and "--host 127.0.0.1" in unit["ExecStart"]
    # OPSGATE_HOME names the data directory: a --data-dir flag would beat the
    # OPSGATE_DATABASE_URL of /etc/opsgate/opsgate.env and serve a local SQLite store.
    assert "--data-dir" not in unit["ExecStart"]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the directives were checked, not parsed")
    # verify wants an executable ExecStart: point it at this environment's opsgate.
    import sys

    here = Path(sys.executable).parent / "opsgate"
    local = tmp_path / "opsgate.service"
    local.write_text(UNIT.read_text().replace("/opt/opsgate/bin/opsgate", str(here)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=60
    )
    complaints = [line for line in done.stderr.splitlines() if str(local) in line]
    assert done.returncode == 0 and not complaints, done.stderr


def compose() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_runs_two_replicas_on_one_database_with_one_key() -> None:
    data = compose()
    services = data["services"]
    assert isinstance(services, dict)
    replicas = {k: v for k, v in services.items() if k.startswith("opsgate")}
    assert len(replicas) == 2
    envs = [v["environment"] for v in replicas.values()]
    assert envs[0] == envs[1]
    assert envs[0]["OPSGATE_DATABASE_URL"].startswith("postgresql://")
    assert "@db:5432/" in envs[0]["OPSGATE_DATABASE_URL"]
    assert envs[0]["OPSGATE_AUDIT_KEY"] == "/run/secrets/opsgate_audit_key"
    assert envs[0]["OPSGATE_SECRET_KEY"].startswith("${OPSGATE_SECRET_KEY:?")  # shared too
    ports = [v["ports"][0] for v in replicas.values()]
    assert len(set(ports)) == 2 and all(p.startswith("127.0.0.1:") for p in ports)
    for replica in replicas.values():
        assert replica["depends_on"]["db"]["condition"] == "service_healthy"
        assert replica["secrets"] == ["opsgate_audit_key"]
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    # Debian's podman-compose (1.0.3) has no ``config``, and its ``--dry-run up``
    # creates volumes and networks: the file is checked as data only.


def test_dockerfile_builds_a_non_root_runtime_with_a_readiness_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) >= 2  # multi-stage
    assert "COPY --from=build /opt/opsgate /opt/opsgate" in lines
    user = next(line for line in lines if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    health = text[text.index("HEALTHCHECK") :].split("\n\n")[0]
    assert "/readyz" in health
    # The health check asks the port the server listens on: both from OPSGATE_PORT,
    # never a port fixed in the command.
    assert "OPSGATE_PORT" in health and ":8470/" not in health
    command = next(line for line in lines if line.startswith("CMD "))
    assert "--port" not in command and "--host" not in command
    assert "OPSGATE_PORT=8470" in text and "OPSGATE_HOST=0.0.0.0" in text
    assert "-c constraints.txt" in text and '".[server,postgres,execute]"' in text
    assert "[dev]" not in text and "test]" not in text
    for copied in ("pyproject.toml", "README.md", "LICENSE", "constraints.txt", "bin", "src"):
        assert (ROOT / copied).exists()


# --- the image itself, where a container engine runs ------------------------------------------


def _present(image: str) -> bool:
    return subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0


def _available(image: str) -> bool:
    """Here already, or pulled now (no registry answers from this project's machines)."""
    if _present(image):
        return True
    pulled = subprocess.run(["podman", "pull", "-q", image], capture_output=True, timeout=300)
    return pulled.returncode == 0


def base_image() -> str:
    """The Dockerfile's base (Debian bookworm): the registry's if it can be had, else
    one built here from Debian's packages with mmdebstrap (only Debian's archive and
    PyPI are reachable from this project's machines)."""
    official = "docker.io/library/debian:bookworm-slim"
    for image in (official, TEST_BASE):
        if _present(image):
            return image
    if _available(official):
        return official
    if shutil.which("mmdebstrap") is None:
        pytest.skip(
            "no base image: the registry cannot be reached and mmdebstrap is not "
            "installed to build one from Debian's packages (apt-get install mmdebstrap)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        subprocess.run(
            ["mmdebstrap", "--variant=minbase", "--include=ca-certificates", "bookworm",
             str(rootfs)],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip
        subprocess.run(["podman", "import", str(rootfs), TEST_BASE], check=True, timeout=600)
    return TEST_BASE


@pytest.fixture(scope="module")
def engine() -> tuple[Engine, str]:
    """podman as it runs containers here, and the base image."""
    podman_or_skip()
    base = base_image()
    found = engine_or_skip(base)
    print(f"podman: {found.describe()}")
    return found, base


@pytest.fixture(scope="module")
def image(
    engine: tuple[Engine, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, str]]:
    podman, base = engine
    # A tag of its own: other checkouts may build at the same time.
    tag = f"localhost/opsgate:test-{os.urandom(3).hex()}"
    scratch = tmp_path_factory.mktemp("build")
    with (
        trusting_host_cas(podman, base, scratch) as build_base,
        built_image(podman, tag, ROOT, "--build-arg", f"BASE={build_base}"),
    ):
        yield podman, tag


def _ready(url: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never became ready"
        time.sleep(0.5)


def _ids(status: str) -> tuple[int, int]:
    """(real uid, real gid) from a /proc/PID/status text."""
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def _owner_password(engine: Engine, names: list[str]) -> str:
    """The first owner's password, from whichever replica created that owner."""
    for name in names:
        found = engine("exec", name, "cat", "/var/lib/opsgate/initial-owner-password", check=False)
        if found.strip():
            return found.strip()
    raise AssertionError(f"no replica of {names} holds initial-owner-password")


def _two_replicas_serve_one_chain(engine: Engine, names: list[str], urls: list[str]) -> None:
    """Both ready, the server (PID 1) running as the image's user, a session made
    by one used on the other, a decision each, the image's health check, and one
    audit chain that each replica verifies."""
    for url in urls:
        _ready(url)
    for name in names:
        assert _ids(engine("exec", name, "cat", "/proc/1/status")) == (10001, 10001)
    password = _owner_password(engine, names)
    first, second = urls
    session = httpx.post(f"{first}/api/v1/session", json={"name": "owner", "password": password})
    assert session.status_code == 200, session.text
    owner = {"Cookie": f"opsgate_session={session.cookies['opsgate_session']}"}
    token = httpx.post(f"{second}/api/v1/tokens", headers=owner, json={"name": "in-a-container"})
    assert token.status_code == 201, token.text
    agent = {"Authorization": f"Bearer {token.json()['secret']}"}
    for url in urls:
        r = httpx.post(f"{url}/api/v1/evaluate", json=SAFE, headers=agent)
        assert r.status_code == 200 and r.json()["decision"] == "allow", r.text
        assert r.headers["x-request-id"]
    for name in names:
        engine("healthcheck", "run", name)  # the image's HEALTHCHECK: /readyz
    reports = [httpx.get(f"{url}/api/v1/audit/verify", headers=owner) for url in urls]
    for report in reports:
        assert report.status_code == 200 and report.json()["ok"], report.text
    assert reports[0].json()["head_seq"] == reports[1].json()["head_seq"]
    assert reports[0].json()["entries"] >= 2


@pytest.fixture
def replicas(image: tuple[Engine, str], tmp_path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """Two containers of the image on one PostgreSQL database (a throwaway cluster
    on the host, over the host network), as compose.yaml runs them: one signing key,
    one secret-store key, JSON logs.  Each listens on a free port of its own, set by
    ``OPSGATE_PORT`` so that the image's health check follows it."""
    engine, tag = image
    with postgres_or_skip(max_connections=60) as url:
        key = tmp_path / "audit-key.pem"
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True
        )
        secret_key = base64.b64encode(os.urandom(32)).decode()
        names: list[str] = []
        urls: list[str] = []
        run = os.urandom(3).hex()
        try:
            for n in range(2):
                home = tmp_path / f"home{n}"
                home.mkdir(mode=0o700)
                shutil.copy(key, home / "key.pem")
                (home / "key.pem").chmod(0o600)
                for path in (home, home / "key.pem"):
                    os.chown(path, 10001, 10001)
                port, name = free_port(), f"opsgate-test-{run}-{n}"
                names.append(name)
                engine(
                    "run", "-d", "--name", name, "--network", "host", *engine.ulimits(),
                    "-v", f"{home}:/var/lib/opsgate:Z",
                    "-e", f"OPSGATE_DATABASE_URL={url}",
                    "-e", "OPSGATE_AUDIT_KEY=/var/lib/opsgate/key.pem",
                    "-e", f"OPSGATE_SECRET_KEY={secret_key}",
                    "-e", "OPSGATE_LOG_FORMAT=json",
                    "-e", "OPSGATE_HOST=127.0.0.1", "-e", f"OPSGATE_PORT={port}",
                    tag,
                )  # fmt: skip
                urls.append(f"http://127.0.0.1:{port}")
            yield names, urls
        finally:
            for name in names:
                print(f"--- {name}\n{engine.logs(name)[-4000:]}")
                engine("rm", "-f", "-t", "5", name, check=False, timeout=120)


@pytest.mark.slow
def test_the_image_runs_two_ready_replicas_on_one_database(
    image: tuple[Engine, str], replicas: tuple[list[str], list[str]]
) -> None:
    _two_replicas_serve_one_chain(image[0], *replicas)


@pytest.fixture(scope="module")
def postgres_image(engine: tuple[Engine, str]) -> Iterator[str]:
    """The compose file's PostgreSQL: the official image where the registry answers,
    else Debian's PostgreSQL behind the same first-start contract
    (``tests/containers/postgres``)."""
    podman, base = engine
    official = "docker.io/library/postgres:16-bookworm"
    if _available(official):
        yield official
        return
    tag = f"localhost/opsgate-test-postgres:{os.urandom(3).hex()}"
    with built_image(podman, tag, STAND_IN_POSTGRES, "--build-arg", f"BASE={base}"):
        yield tag


@pytest.fixture(scope="module")
def podman_compose() -> None:
    """Before the images are built for nothing."""
    if shutil.which("podman-compose") is None:
        pytest.skip("podman-compose is not installed (apt-get install podman-compose)")


@pytest.mark.slow
@pytest.mark.usefixtures("podman_compose")
def test_the_compose_stack_runs_two_replicas_on_its_database(
    image: tuple[Engine, str], postgres_image: str, tmp_path: Path
) -> None:
    """compose.yaml itself, copied beside a fresh signing key and run by
    podman-compose: its database, its network, its secret and its volumes."""
    engine, tag = image
    project = tmp_path / f"opsgate-test-{os.urandom(3).hex()}"
    project.mkdir()
    shutil.copy(ROOT / "compose.yaml", project / "compose.yaml")
    key = project / "opsgate-audit-key.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True)
    key.chmod(0o600)
    os.chown(key, 10001, 10001)
    ports = [free_port(), free_port()]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")},
        "CONTAINERS_CONF": str(write_containers_conf(engine, tmp_path / "containers.conf")),
        "POSTGRES_PASSWORD": os.urandom(12).hex(),
        "OPSGATE_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "OPSGATE_IMAGE": tag,
        "OPSGATE_POSTGRES_IMAGE": postgres_image,
        "OPSGATE_1_PORT": str(ports[0]),
        "OPSGATE_2_PORT": str(ports[1]),
    }
    names = [f"{project.name}_opsgate-{n}_1" for n in (1, 2)]
    with compose_stack(engine, env, project):
        try:
            _two_replicas_serve_one_chain(engine, names, [f"http://127.0.0.1:{p}" for p in ports])
            # The operator's check, inside a replica with the key of the compose secret.
            verified = engine("exec", names[0], "opsgate", "audit", "verify", "--json")
            assert json.loads(verified)["ok"], verified
        finally:
            for name in [f"{project.name}_db_1", *names]:
                print(f"--- {name}\n{engine.logs(name)[-4000:]}")
