"""``opsgate install <agent> --system`` (run once, as root) and its exact undoing.

What it sets up, so that the agent's own user cannot undo it:

- a dedicated service user (``opsgate``; created with ``useradd --system`` when
  missing) owning the data directory (``/var/lib/opsgate``, 0700) and running the
  decision service and the control plane (systemd units, written here);
- root-owned configuration (``/etc/opsgate/hook.conf``): socket, service user and
  uid, data directory, control-plane URL;
- root-owned hook programs (``/usr/local/lib/opsgate``): the native client with the
  socket and the service's uid compiled in, and a Python launcher (``python -I``)
  bound to the configuration — neither reads the agent's environment;
- opsgate's hook in the agent's managed configuration (``_managed``).

Everything added is listed in ``/etc/opsgate/installed.json``; uninstalling the last
agent removes exactly that, keeping the data directory (the audit trail) and the
service user unless ``--purge``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from opsgate.integrations import agent_named
from opsgate.integrations.config import Change, hook_command
from opsgate.system._accounts import (
    Account,
    SystemModeError,
    ensure_account,
    remove_account,
    run_as,
)
from opsgate.system._checks import opsgate_install_problem, untrusted_reason
from opsgate.system._layout import DEFAULT_PORT, DEFAULT_USER, Layout
from opsgate.system._managed import managed_for, plan_add, plan_remove

__all__ = ["Manifest", "Request", "install", "uninstall"]

Say = Callable[[str], None]
UNITS = ("opsgate-hook.service", "opsgate-server.service")


@dataclass
class Manifest:
    service_user: str
    user_created: bool = False
    created: list[str] = field(default_factory=list)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, layout: Layout) -> Manifest | None:
        try:
            data = json.loads(layout.manifest.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise SystemModeError(f"cannot read {layout.manifest}: {exc}") from exc
        return cls(**data)

    def save(self, layout: Layout) -> None:
        _write(layout.manifest, json.dumps(asdict(self), indent=2) + "\n", 0o644)

    def note(self, path: Path) -> None:
        if str(path) not in self.created:
            self.created.append(str(path))


@dataclass(frozen=True)
class Request:
    layout: Layout
    agent: str
    user: str = DEFAULT_USER
    port: int = DEFAULT_PORT
    python_hook: bool = False  # the Python launcher even when the native client builds
    start: bool = True  # enable and start the systemd units (on a live system)


# --- install ------------------------------------------------------------------------


def install(req: Request, say: Say) -> None:
    _require_root("install")
    problem = opsgate_install_problem()
    if problem:
        raise SystemModeError(
            f"this opsgate installation could be changed by a user other than root ({problem})",
            hint="install opsgate as root where only root can write, e.g. "
            "python3 -m venv /opt/opsgate && /opt/opsgate/bin/pip install opsgate, "
            "then run /opt/opsgate/bin/opsgate install … --system",
        )
    layout = req.layout
    manifest = Manifest.load(layout) or Manifest(req.user)
    if manifest.service_user != req.user:
        raise SystemModeError(
            f"protected mode is already set up with service user {manifest.service_user}",
            hint=f"run again with --system-user {manifest.service_user}",
        )
    account, created = ensure_account(req.user, layout.data)
    manifest.user_created |= created
    _check_service_can_run(account)
    _directories(layout, account, manifest)
    _config(layout, account, req.port, manifest)
    program = _programs(layout, account, manifest, req.python_hook)
    _units(layout, account, req.port, manifest)
    _agent_config(req.agent, layout, program, manifest, say)
    manifest.save(layout)
    _start(layout, account, req.start, say)


def _require_root(verb: str) -> None:
    if os.geteuid() != 0:
        raise SystemModeError(
            f"{verb} --system changes system files and accounts: run it as root",
            hint=f"sudo opsgate {verb} <agent> --system",
        )


def _check_service_can_run(account: Account) -> None:
    """The service user must be able to run this interpreter and import opsgate (a
    Python under /root, say, is out of its reach)."""
    probe = run_as(account, [sys.executable, "-I", "-c", "import opsgate.hooks._daemon"])
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        raise SystemModeError(
            f"the service user {account.name} cannot run {sys.executable} with opsgate ({last})",
            hint="install opsgate where every user can read it, e.g. "
            "python3 -m venv /opt/opsgate && /opt/opsgate/bin/pip install opsgate",
        )


def _directories(layout: Layout, account: Account, manifest: Manifest) -> None:
    root = Account("root", 0, 0)
    for path, owner, mode in (
        (layout.etc, root, 0o755),
        (layout.lib, root, 0o755),
        (layout.data, account, 0o700),
        # Every local user's hook connects here; only the service user can replace the
        # socket, because only it can write the directory.
        (layout.run, account, 0o755),
    ):
        if not path.exists():
            _mkdirs(path.parent, manifest)
            path.mkdir(mode=mode)
            manifest.note(path)
        st = path.stat()
        if st.st_uid not in (0, owner.uid):
            raise SystemModeError(f"{path} exists and belongs to uid {st.st_uid}")
        os.chown(path, owner.uid, owner.gid)
        path.chmod(mode)
    for child in layout.data.rglob("*"):  # data left by an earlier install
        os.chown(child, account.uid, account.gid, follow_symlinks=False)


def _config(layout: Layout, account: Account, port: int, manifest: Manifest) -> None:
    text = "\n".join([
        "# opsgate protected mode: what every agent's hook trusts. Written by",
        "# `opsgate install <agent> --system`; root's alone, or the hooks refuse it.",
        f"socket={layout.socket}",
        f"service_user={account.name}",
        f"service_uid={account.uid}",
        f"data_dir={layout.data}",
        f"control_plane=http://127.0.0.1:{port}",
    ]) + "\n"  # fmt: skip
    _write(layout.config, text, 0o644, manifest)


def _programs(layout: Layout, account: Account, manifest: Manifest, python_hook: bool) -> Path:
    """Write the root-owned hook programs; the one the agents should run."""
    launcher = "\n".join([
        f"#!{sys.executable} -I",
        "# opsgate's protected-mode hook: written by `opsgate install <agent> --system`.",
        "# -I: no PYTHON* variables, no user site-packages — nothing the agent's user sets.",
        "import sys",
        "from opsgate.hooks import run_protected",
        f"sys.exit(run_protected(sys.argv[1:], {str(layout.config)!r}))",
    ]) + "\n"  # fmt: skip
    _write(layout.launcher, launcher, 0o755, manifest)
    if python_hook:
        return layout.launcher
    from opsgate.hooks._native import Protected, build_protected

    try:
        built = build_protected(layout.fast_client, Protected(str(layout.socket), account.uid))
    except (OSError, subprocess.CalledProcessError):
        built = None
    if built is None:
        return layout.launcher
    os.chown(built, 0, 0)
    built.chmod(0o755)
    manifest.note(built)
    return built


def _units(layout: Layout, account: Account, port: int, manifest: Manifest) -> None:
    values = {
        "USER": account.name,
        "GROUP": account.group,
        "PYTHON": sys.executable,
        "OPSGATE": str(Path(sys.executable).with_name("opsgate")),
        "CONFIG": str(layout.config),
        "DATA": str(layout.data),
        "RUNTIME_DIR": layout.run.name,
        "PORT": str(port),
    }
    for unit in UNITS:
        text = resources.files("opsgate.system").joinpath("units", unit).read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        _write(layout.units / unit, text, 0o644, manifest)


def _agent_config(agent: str, layout: Layout, program: Path, manifest: Manifest, say: Say) -> None:
    row = managed_for(agent)
    path = layout.path(row.path)
    command = hook_command(agent_named(agent), launcher=program)
    change, added = plan_add(row, path, command)
    _apply(change, say, manifest)
    previous = manifest.agents.get(row.agent, {})
    manifest.agents[row.agent] = {
        "file": str(path),
        "added": sorted({*previous.get("added", []), *added}),
        # The file as the administrator had it, given back verbatim if nothing else changed.
        "original": previous.get("original", change.before),
    }
    reason = untrusted_reason(path)
    if reason:
        raise SystemModeError(f"{path} is written, but {reason}: its agent's user could change it")


def _start(layout: Layout, account: Account, start: bool, say: Say) -> None:
    if layout.is_live and start and Path("/run/systemd/system").is_dir():
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", *UNITS)
        say(f"started {', '.join(UNITS)} (as {account.name})")
        return
    say(
        f"systemd units written to {layout.units}; start them with "
        f"`systemctl enable --now {' '.join(UNITS)}`, or run the decision service as "
        f"{account.name}: {sys.executable} -I -m opsgate.hooks._daemon --system {layout.config}"
    )


def _systemctl(*args: str) -> None:
    proc = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemModeError(f"systemctl {' '.join(args)} failed: {proc.stderr.strip()}")


# --- uninstall ----------------------------------------------------------------------


def uninstall(layout: Layout, agent: str, purge: bool, say: Say) -> None:
    _require_root("uninstall")
    manifest = Manifest.load(layout)
    row = managed_for(agent)
    record = manifest.agents.get(row.agent, {}) if manifest else {}
    change = plan_remove(
        row, layout.path(row.path), record.get("added", []), record.get("original")
    )
    _apply(change, say)
    if manifest is None:
        say(f"no protected-mode installation is recorded in {layout.manifest}")
        return
    manifest.agents.pop(row.agent, None)
    if manifest.agents:
        manifest.save(layout)
        say(f"protected mode stays set up for: {', '.join(sorted(manifest.agents))}")
        return
    _take_down(layout, manifest, purge, say)


def _take_down(layout: Layout, manifest: Manifest, purge: bool, say: Say) -> None:
    """Remove what install added.  Without ``purge`` the data directory (the audit
    trail) and the service user stay, and the manifest stays to say so."""
    if layout.is_live and Path("/run/systemd/system").is_dir():
        for unit in UNITS:
            subprocess.run(
                ["systemctl", "disable", "--now", unit], capture_output=True, check=False
            )
    keep = "" if purge else str(layout.data)
    for entry in sorted(manifest.created, key=len, reverse=True):  # files before their folders
        path = Path(entry)
        if entry == keep or not (path.exists() or path.is_symlink()):
            continue
        if path in (layout.data, layout.run):  # the audit trail (purge only); sockets
            shutil.rmtree(path)
        elif path.is_dir():
            _rmdir_if_empty(path)
        else:
            path.unlink()
    if layout.is_live and Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "daemon-reload"], capture_output=True, check=False)
    manifest.created = [e for e in manifest.created if Path(e).exists()]
    if not purge:
        manifest.save(layout)
        say(
            f"protected mode removed; kept {layout.data} (the audit trail) and the user "
            f"{manifest.service_user}: export the audit, then "
            "`opsgate uninstall <agent> --system --purge` removes them too"
        )
        return
    layout.manifest.unlink(missing_ok=True)
    for entry in sorted(manifest.created, key=len, reverse=True):  # the manifest's folders
        _rmdir_if_empty(Path(entry))
    if manifest.user_created:
        remove_account(manifest.service_user)
    say("protected mode removed, with its data directory and service user")


def _rmdir_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty: something else lives there too
        path.rmdir()


# --- files --------------------------------------------------------------------------


def _apply(change: Change, say: Say, manifest: Manifest | None = None) -> None:
    if not change.changed:
        say(f"{change.path}: already up to date")
        return
    sys.stdout.write(change.diff())
    if change.after is None:
        change.path.unlink()
        say(f"removed {change.path}")
    else:
        # The folder is recorded when made here; the file never is: it may hold the
        # administrator's own settings, and only opsgate's entries are ever removed.
        _mkdirs(change.path.parent, manifest)
        _write(change.path, change.after, 0o644)
        say(f"wrote {change.path}")


def _mkdirs(path: Path, manifest: Manifest | None) -> None:
    """Create ``path`` and missing parents (root's, 0755), recording each one made."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o755)
        os.chown(folder, 0, 0)
        if manifest is not None:
            manifest.note(folder)


def _write(path: Path, text: str, mode: int, manifest: Manifest | None = None) -> None:
    """Write ``path`` atomically, root-owned with ``mode``; record it (and any folder
    made for it) when new."""
    new = not path.exists()
    _mkdirs(path.parent, manifest)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chown(tmp, 0, 0)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if new and manifest is not None:
        manifest.note(path)
