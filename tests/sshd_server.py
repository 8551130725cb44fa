"""A throwaway OpenSSH server on loopback, for the executor's SSH tests and
``benchmarks/bench_execute.py``.

A high free port, a fresh ed25519 host key and fresh user keys in a temporary
directory; nothing touches the system's sshd or ~/.ssh.  As root (CI), two
accounts are used: ``opsgate-op`` (the operating credential) and ``opsgate-bk``
(the backup credential, owner of the backup directory), created if missing.
Not as root, sshd runs as the current user and both roles are that user (the
backup-protection test needs root and skips otherwise).

``bin/`` holds stand-ins for ``systemctl`` and ``journalctl`` (no systemd in a
container), put first on PATH by ``SetEnv``; every call is appended to
``calls.log`` so tests see exactly what ran on the host.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SSHD", "SshServer", "missing_reason", "sshd"]

SSHD = Path("/usr/sbin/sshd")
OP_USER, BK_USER = "opsgate-op", "opsgate-bk"

_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "{log}"
case "$1" in
  is-active) echo active ;;
  status) echo "* $3 - stand-in service"; echo "   Active: active (running)" ;;
esac
exit 0
"""
_JOURNALCTL = """#!/bin/sh
echo "journalctl $*" >> "{log}"
echo "May 05 12:00:00 host web[42]: started"
echo "May 05 12:00:01 host web[42]: listening on :8080"
"""


def missing_reason() -> str | None:
    if not SSHD.exists() or not shutil.which("ssh-keygen"):
        return "openssh-server not installed (apt-get install openssh-server)"
    return None


@dataclass(frozen=True)
class SshServer:
    port: int
    root: Path
    host_key: str  # "ssh-ed25519 AAAA…" (the public key, to pin)
    op_user: str
    op_key: str  # private key text
    bk_user: str
    bk_key: str
    backup_dir: Path
    app_dir: Path
    calls: Path
    separate_users: bool

    def connection(self, **extra: str) -> tuple[tuple[str, str], ...]:
        """Inventory connection settings (credentials as references)."""
        base = {
            "host": "127.0.0.1",
            "port": str(self.port),
            "user": self.op_user,
            "key": "secret:op_key",
            "host_key": self.host_key,
            "backup_user": self.bk_user,
            "backup_key": "secret:bk_key",
            "backup_dir": str(self.backup_dir),
        }
        base.update(extra)
        return tuple(sorted(base.items()))

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


def _keygen(path: Path) -> tuple[str, str]:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    public = path.with_suffix(".pub").read_text().split()
    return path.read_text(), f"{public[0]} {public[1]}"


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        done = subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", name], capture_output=True
        )
        if done.returncode not in (0, 9):  # 9: created meanwhile by another test run
            raise RuntimeError(done.stderr.decode()) from None
    # A new account is locked ("!"), and sshd without PAM refuses locked accounts
    # even for key logins; "*" means "no password login" without the lock.
    subprocess.run(["usermod", "-p", "*", name], check=True, capture_output=True)


def _chown(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sshd() -> Iterator[SshServer]:
    root = Path(tempfile.mkdtemp(prefix="opsgate-sshd-"))
    root.chmod(0o755)
    separate = os.geteuid() == 0
    if separate:
        _ensure_user(OP_USER)
        _ensure_user(BK_USER)
        op_user, bk_user = OP_USER, BK_USER
    else:
        op_user = bk_user = pwd.getpwuid(os.geteuid()).pw_name
    host_priv, host_pub = _keygen(root / "host_ed25519")
    op_key, op_pub = _keygen(root / "op_ed25519")
    bk_key, bk_pub = _keygen(root / "bk_ed25519")
    keys = root / "authorized_keys"
    keys.mkdir()
    if separate:
        (keys / op_user).write_text(op_pub + "\n")
        (keys / bk_user).write_text(bk_pub + "\n")
    else:
        (keys / op_user).write_text(op_pub + "\n" + bk_pub + "\n")
    calls = root / "calls.log"
    calls.touch(mode=0o666)
    calls.chmod(0o666)
    bindir = root / "bin"
    bindir.mkdir()
    for name, body in (("systemctl", _SYSTEMCTL), ("journalctl", _JOURNALCTL)):
        script = bindir / name
        script.write_text(body.format(log=calls))
        script.chmod(0o755)
    backup_dir = root / "backups"
    backup_dir.mkdir(mode=0o755)
    app_dir = root / "app"
    app_dir.mkdir(mode=0o755)
    if separate:
        _chown(backup_dir, bk_user)  # the operator can read backups, never delete them
        _chown(app_dir, op_user)
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_ed25519'}\n"
        f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {keys}/%u\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "StrictModes no\nPermitRootLogin no\nLogLevel ERROR\nMaxStartups 100:30:200\n"
        f"MaxSessions 50\nSetEnv PATH={bindir}:/usr/local/bin:/usr/bin:/bin\n"
        f"AllowUsers {op_user} {bk_user}\n"
    )
    if separate:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"sshd did not start: {err}") from None
                time.sleep(0.05)
        del host_priv
        yield SshServer(port, root, host_pub, op_user, op_key, bk_user, bk_key, backup_dir,
                        app_dir, calls, separate)  # fmt: skip
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
