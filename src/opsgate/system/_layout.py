"""Where protected mode puts things: one table of paths, all under a root (``/``
normally; another directory for packaging and tests, like ``useradd --root``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_PORT", "DEFAULT_USER", "Layout"]

DEFAULT_USER = "opsgate"
DEFAULT_PORT = 8470


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def at(cls, root: Path | str | None = None) -> Layout:
        return cls(Path(root or "/").resolve())

    def path(self, absolute: str) -> Path:
        """``absolute`` (as it is on a real system) under this layout's root."""
        return self.root / absolute.lstrip("/")

    # root-owned configuration: what the hook needs to know
    @property
    def etc(self) -> Path:
        return self.path("/etc/opsgate")

    @property
    def config(self) -> Path:
        return self.etc / "hook.conf"

    @property
    def manifest(self) -> Path:
        """What ``install --system`` added, so that ``uninstall --system`` removes exactly that."""
        return self.etc / "installed.json"

    # the service user's
    @property
    def data(self) -> Path:
        return self.path("/var/lib/opsgate")

    @property
    def run(self) -> Path:
        return self.path("/run/opsgate")

    @property
    def socket(self) -> Path:
        return self.run / "hook.sock"

    # root-owned programs the agents' hooks run
    @property
    def lib(self) -> Path:
        return self.path("/usr/local/lib/opsgate")

    @property
    def fast_client(self) -> Path:
        return self.lib / "opsgate-hook-fast"

    @property
    def launcher(self) -> Path:
        return self.lib / "opsgate-hook"

    @property
    def units(self) -> Path:
        return self.path("/etc/systemd/system")

    @property
    def is_live(self) -> bool:
        """Whether this is the running system (units are started, not only written)."""
        return self.root == Path("/")
