"""Ways to run opsgate: the container image, the compose file and the systemd unit.

Where a container engine runs (Debian's podman, as root or rootless), the image is
built from this tree and two replicas of it are started on one PostgreSQL database
(a throwaway cluster on the host, reached over the host network) with one shared
signing key: both must be ready, answer a decision each, pass the image's own
health check, and leave one verifiable audit chain.  Where none runs, that test is
skipped with the reason.  The compose file and the Dockerfile are checked as data
everywhere; the systemd unit by
``systemd-analyze verify`` and against protected mode's unit, which it must not
be weaker than.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from servers import free_port, postgres_or_skip

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "opsgate.service"
PROTECTED = ROOT / "src" / "opsgate" / "system" / "units" / "opsgate-server.service"
IMAGE = "localhost/opsgate:test"
TEST_BASE = "localhost/opsgate-test-base:bookworm"
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
    health = text[text.index("HEALTHCHECK") :]
    assert "/readyz" in health.split("\n\n")[0]
    assert "-c constraints.txt" in text and '".[server,postgres,execute]"' in text
    assert "[dev]" not in text and "test]" not in text
    for copied in ("pyproject.toml", "README.md", "LICENSE", "constraints.txt", "bin", "src"):
        assert (ROOT / copied).exists()


# --- the image itself, where a container engine runs ------------------------------------------


def _podman(*args: str, timeout: float = 600, check: bool = True) -> str:
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {done.stderr[-3000:]}")
    return done.stdout


def engine_or_skip() -> None:
    if shutil.which("podman") is None:
        pytest.skip("no container engine: podman is not installed (apt-get install podman)")
    done = subprocess.run(["podman", "info"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.skip(f"podman cannot run here: {done.stderr.strip()[-300:]}")


def runs_containers_or_skip(base: str) -> None:
    """``podman info`` answers on hosts whose runtime still cannot create a container
    (crun under a hybrid cgroup hierarchy, for one): try one, and skip with its
    error when the engine itself cannot run anything here."""
    done = subprocess.run(
        ["podman", "run", "--rm", "--network", "host", base, "true"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"podman cannot run a container here: {done.stderr.strip()[-300:]}")


def base_image() -> str:
    """The Dockerfile's base (Debian bookworm): the registry's if it can be had, else
    one built here from Debian's packages with mmdebstrap (only Debian's archive and
    PyPI are reachable from this project's machines)."""
    official = "docker.io/library/debian:bookworm-slim"
    for image in (official, TEST_BASE):
        if subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0:
            return image
    pulled = subprocess.run(
        ["podman", "pull", "-q", official], capture_output=True, timeout=120, check=False
    )
    if pulled.returncode == 0:
        return official
    if shutil.which("mmdebstrap") is None:
        pytest.skip(
            "no base image: the registry cannot be reached and mmdebstrap is not "
            "installed to build one from Debian's packages (apt-get install mmdebstrap)"
        )
    with __import__("tempfile").TemporaryDirectory() as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        subprocess.run(
            ["mmdebstrap", "--variant=minbase", "--include=ca-certificates", "bookworm",
             str(rootfs)],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip
        _podman("import", str(rootfs), TEST_BASE)
    return TEST_BASE


@pytest.fixture(scope="module")
def image() -> str:
    engine_or_skip()
    base = base_image()
    runs_containers_or_skip(base)
    # docker format: OCI images drop HEALTHCHECK; host network: pip reaches PyPI as
    # this machine does.
    _podman(
        "build", "--format", "docker", "--network", "host", "--build-arg", f"BASE={base}",
        "-t", IMAGE, str(ROOT), timeout=1800,
    )  # fmt: skip
    return IMAGE


@pytest.fixture
def running(image: str, tmp_path: Path) -> Iterator[tuple[list[str], list[Path], list[str]]]:
    with postgres_or_skip(max_connections=60) as url:
        key = tmp_path / "audit-key.pem"
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True
        )
        names, urls, homes = [], [], []
        tag = os.urandom(3).hex()
        try:
            for n in range(2):
                home = tmp_path / f"home{n}"
                home.mkdir()
                os.chown(home, 10001, 10001)
                shutil.copy(key, home / "key.pem")
                os.chown(home / "key.pem", 10001, 10001)
                (home / "key.pem").chmod(0o600)
                port, name = free_port(), f"opsgate-test-{tag}-{n}"
                _podman(
                    "run", "-d", "--name", name, "--network", "host",
                    "-v", f"{home}:/var/lib/opsgate:Z",
                    "-e", f"OPSGATE_DATABASE_URL={url}",
                    "-e", "OPSGATE_AUDIT_KEY=/var/lib/opsgate/key.pem",
                    "-e", "OPSGATE_LOG_FORMAT=json",
                    image, "opsgate", "serve", "--host", "127.0.0.1", "--port", str(port),
                )  # fmt: skip
                names.append(name)
                urls.append(f"http://127.0.0.1:{port}")
                homes.append(home)
            yield urls, homes, names
        finally:
            for name in names:
                logs = _podman("logs", name, check=False, timeout=60)
                print(f"--- {name}\n{logs[-4000:]}")
                _podman("rm", "-f", "-t", "5", name, check=False, timeout=120)


def _ready(url: str, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never became ready"
        time.sleep(0.5)


@pytest.mark.slow
def test_the_image_runs_two_ready_replicas_on_one_database(
    running: tuple[list[str], list[Path], list[str]],
) -> None:
    urls, homes, names = running
    for url in urls:
        _ready(url)
    password = next(
        (h / "initial-owner-password").read_text().strip()
        for h in homes
        if (h / "initial-owner-password").exists()
    )  # whichever replica created the first owner
    session = httpx.post(f"{urls[0]}/api/v1/session", json={"name": "owner", "password": password})
    assert session.status_code == 200, session.text
    owner = {"Cookie": f"opsgate_session={session.cookies['opsgate_session']}"}
    token = httpx.post(f"{urls[1]}/api/v1/tokens", headers=owner, json={"name": "in-a-container"})
    agent = {"Authorization": f"Bearer {token.json()['secret']}"}
    for url in urls:
        r = httpx.post(f"{url}/api/v1/evaluate", json=SAFE, headers=agent)
        assert r.status_code == 200 and r.json()["decision"] == "allow", r.text
        assert r.headers["x-request-id"]
    for name in names:
        _podman("healthcheck", "run", name)  # the image's HEALTHCHECK: /readyz
    verified = httpx.get(f"{urls[0]}/api/v1/audit/verify", headers=owner)
    assert verified.status_code == 200 and verified.json()["ok"], verified.text
