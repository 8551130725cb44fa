"""The service user protected mode runs as: found, or created with ``useradd --system``.

Accounts are the running system's, whatever a layout's root: the processes that
check them (the kernel's SO_PEERCRED, systemd's ``User=``) know no other."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from opsgate.errors import EXIT_FAILED, OpsgateError

__all__ = ["Account", "SystemModeError", "ensure_account", "remove_account", "run_as"]


class SystemModeError(OpsgateError):
    """Protected mode cannot be set up (or taken down) as asked."""

    code = "system_mode"
    exit_code = EXIT_FAILED


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int

    @property
    def group(self) -> str:
        return grp.getgrgid(self.gid).gr_name


def ensure_account(name: str, home: Path) -> tuple[Account, bool]:
    """The account called ``name`` and whether it was created here."""
    invoker = os.environ.get("SUDO_USER")
    if name == invoker:
        raise SystemModeError(
            f"{name} is the user running sudo: the service user must be one no agent runs as",
            hint="use --system-user opsgate (the default) or another dedicated account",
        )
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _useradd(name, home)
        entry = pwd.getpwnam(name)
        created = True
    else:
        created = False
    if entry.pw_uid == 0:
        raise SystemModeError(f"{name} is root: the service user must be a dedicated account")
    return Account(name, entry.pw_uid, entry.pw_gid), created


def _useradd(name: str, home: Path) -> None:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    shell = next(
        (s for s in ("/usr/sbin/nologin", "/sbin/nologin") if Path(s).exists()), "/bin/false"
    )
    proc = subprocess.run(
        [useradd, "--system", "--user-group", "--home-dir", str(home), "--no-create-home",
         "--shell", shell, "--comment", "opsgate protected mode", name],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemModeError(
            f"could not create the service user {name}: {proc.stderr.strip() or proc.returncode}",
            hint="create it yourself (useradd --system --user-group NAME) and run again",
        )


def remove_account(name: str) -> None:
    userdel = shutil.which("userdel") or "/usr/sbin/userdel"
    proc = subprocess.run([userdel, name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemModeError(f"could not remove the user {name}: {proc.stderr.strip()}")


def run_as(account: Account, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``account`` (no supplementary groups), capturing its output."""
    setpriv = shutil.which("setpriv")
    if setpriv:
        prefix = [setpriv, f"--reuid={account.uid}", f"--regid={account.gid}", "--clear-groups"]
    else:
        prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", account.name, "--"]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"}
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip
