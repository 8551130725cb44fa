"""Protected-mode tests: a real installation under a temporary root, a real service
user running the real decision service, and an agent that is a separate unprivileged
user (``useradd``, ``setpriv``) — everything torn down afterwards.

Tests run as root (here and in CI).  The service user must be able to run Python with
opsgate: when this venv's interpreter sits where other users cannot reach it (pyenv
under /root, say), ``python_for_everyone`` builds a tiny prefix around the system's
interpreter of the same version that loads this venv's site-packages.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

NOBODY = 65534


def skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("protected-mode tests create users: they run as root")
    for tool in ("setpriv", "useradd", "userdel"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def runs_for_others(python: str) -> bool:
    probe = [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-I", "-c",
             "import opsgate.hooks._daemon"]  # fmt: skip
    proc = subprocess.run(["setpriv", *probe], capture_output=True, check=False, timeout=60)
    return proc.returncode == 0


def python_for_everyone(base: Path) -> Path:
    """An interpreter every user can run that imports this venv's packages."""
    if runs_for_others(sys.executable):
        return Path(sys.executable)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin:/bin")
    if system is None:
        pytest.skip(f"no {version} that other users can run")
    prefix = base / "py"
    site = prefix / "lib" / version / "site-packages"
    site.mkdir(parents=True)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").symlink_to(system)
    (prefix / "pyvenv.cfg").write_text(f"home = {Path(system).parent}\nversion = {version[6:]}\n")
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "opsgate-tests.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    script = prefix / "bin" / "opsgate"
    script.write_text(f"#!{prefix}/bin/python\nimport sys\nfrom opsgate.cli import main\n"
                      "sys.exit(main())\n")  # fmt: skip
    for path in (prefix, *prefix.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or path == script else 0o644)
    python = prefix / "bin" / "python"
    if not runs_for_others(str(python)):
        pytest.skip("no Python with opsgate that other users can run")
    return python


def new_user(prefix: str, home: Path | None = None) -> tuple[str, int, int]:
    name = f"{prefix}{secrets.token_hex(4)}"
    args = ["useradd", "--user-group", "--shell", "/bin/sh"]
    if home is not None:
        args += ["--home-dir", str(home)]
    subprocess.run([*args, name], check=True, capture_output=True)
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
    ids = subprocess.run(["id", "-u", name], capture_output=True, text=True, check=True)
    gid = subprocess.run(["id", "-g", name], capture_output=True, text=True, check=True)
    uid, group = int(ids.stdout), int(gid.stdout)
    if home is not None:
        os.chown(home, uid, group)
    return name, uid, group


def drop_user(name: str) -> None:
    subprocess.run(["userdel", name], capture_output=True, check=False)


def as_user(uid: int, gid: int, argv: list[str], *, data: bytes | None = None,
            env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *argv],
        input=data, capture_output=True, env=env if env is not None else {"PATH": "/usr/bin:/bin"},
        cwd=cwd, timeout=timeout, check=False,
    )  # fmt: skip


@dataclass
class System:
    """A protected-mode installation under ``root`` and its running service."""

    root: Path
    python: Path
    service_user: str
    service: subprocess.Popen[bytes] | None = None
    agents: list[str] = field(default_factory=list)

    @property
    def opsgate(self) -> list[str]:
        return [
            str(self.python),
            "-c",
            "import sys; from opsgate.cli import main; sys.exit(main())",
        ]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*self.opsgate, *args], capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip
        assert not check or proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def install(self, agent: str, *extra: str) -> str:
        out = self.cli("install", agent, "--system", "--root", str(self.root),
                       "--system-user", self.service_user, *extra).stdout  # fmt: skip
        self.agents.append(agent)
        return out

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def config(self) -> Path:
        return self.path("/etc/opsgate/hook.conf")

    @property
    def socket(self) -> Path:
        return self.path("/run/opsgate/hook.sock")

    @property
    def data(self) -> Path:
        return self.path("/var/lib/opsgate")

    def ids(self) -> tuple[int, int]:
        uid = subprocess.run(["id", "-u", self.service_user], capture_output=True, text=True)
        gid = subprocess.run(["id", "-g", self.service_user], capture_output=True, text=True)
        return int(uid.stdout), int(gid.stdout)

    def start(self) -> None:
        uid, gid = self.ids()
        self.service = subprocess.Popen(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", str(self.python),
             "-I", "-m", "opsgate.hooks._daemon", "--system", str(self.config)],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not self.socket.exists():
            if self.service.poll() is not None:
                err = self.service.stderr.read() if self.service.stderr else b""
                raise AssertionError(f"the service did not start: {err.decode()}")
            assert time.monotonic() < deadline, "the service did not start in 60 s"
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.service is None:
            return
        if self.service.poll() is None:
            self.service.send_signal(sig)
        self.service.wait(timeout=30)
        if self.service.stderr:
            self.service.stderr.close()
        self.service = None

    def tear_down(self) -> None:
        self.stop()
        for agent in reversed(self.agents):
            self.cli("uninstall", agent, "--system", "--root", str(self.root), "--purge",
                     check=False)  # fmt: skip
        drop_user(self.service_user)


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="og-"))  # short: socket paths have 108 bytes
    root.chmod(0o755)
    return root
