"""Zones: resolve a path against the workspace and say what kind of place it is."""

from __future__ import annotations

import enum
import posixpath
import re
from dataclasses import dataclass

__all__ = ["DISPOSABLE_DIRS", "Workspace", "Zone", "join", "workspace_for"]


class Zone(enum.Enum):
    DEVICE = "a block device"
    ROOT = "the filesystem root"
    SYSTEM = "a system path"
    HOME = "a home directory"
    HOME_FILE = "a file in the home directory"
    PROJECT_ROOT = "the project directory"
    PROJECT_ANCESTOR = "a parent of the project directory"
    PROJECT_GIT = "the project's git repository"
    PROJECT_DISPOSABLE = "a build output or cache in the project"
    PROJECT = "the project"
    TEMP = "a temporary directory"
    HARMLESS = "a pseudo-file"
    OTHER = "a path outside the project"
    UNKNOWN = "a path built at run time"


# Directories whose contents are generated and can be deleted without loss.
DISPOSABLE_DIRS = frozenset(
    {
        "generated",
        "__generated__",
        "__snapshots__",
        "build",
        "dist",
        "out",
        "target",
        "node_modules",
        "artifacts",
        "TestResults",
        "Pods",
        ".parcel-cache",
        ".sass-cache",
        "tmp-build",
        "_build",
        "deps",
        ".dart_tool",
        ".stack-work",
        "dist-newstyle",
        "zig-cache",
        "zig-out",
        "DerivedData",
        ".pio",
        "elm-stuff",
        "bower_components",
        ".pnpm-store",
        ".venv",
        "venv",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",  # Jupyter's autosaved copies of the notebooks beside them
        ".hypothesis",
        ".tox",
        ".nox",
        "coverage",
        "htmlcov",
        ".coverage",
        ".nyc_output",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        ".cache",
        ".terraform",
        "tmp",
        ".tmp",
        ".gradle",
        ".angular",
        ".expo",
        "bin",
        "obj",
        ".eggs",
        "site",
        ".docusaurus",
        "storybook-static",
        ".serverless",
        ".aws-sam",
        "cdk.out",
        ".webpack",
        "logs",
    }
)
# ``~-`` and the directory stack (``~2``, ``~+1``, ``~-0``): places the shell remembers.
_STACK_TILDE = re.compile(r"~(?:[+-][0-9]*|[0-9]+)")
_DISPOSABLE_LOWER = frozenset(d.lower() for d in DISPOSABLE_DIRS)
# A compound name whose last word says it is output (``.test-artifacts``,
# ``e2e_cache``, ``build-logs``); only words no project uses for its sources.
_COMPOUND_TAIL = re.compile(r"[-_.]")
_COMPOUND_DISPOSABLE = frozenset({"artifacts", "cache", "tmp", "logs", "coverage"})
# Generated directories known by their place in the project rather than their name
# (``assets`` alone is source): Rails' compiled assets (``rails assets:clobber``),
# webpacker's packs, jsbundling/cssbundling output, vite_ruby's build.
_DISPOSABLE_PLACES = ("public/assets", "public/packs", "public/packs-test", "app/assets/builds",
                      "public/vite", "public/vite-dev", "public/vite-test")  # fmt: skip
# Scratch directories named as such (``.tmp-test``, ``tmp_data``, ``test-tmp``).
_SCRATCH_DIR = re.compile(r"\.?(?:tmp|temp)[-_][\w-]+|[\w-]+[-_](?:tmp|temp)")
_DISPOSABLE_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini", ".tsbuildinfo")
# Caches under the home directory that their tools rebuild on demand.
_HOME_CACHES = (".cache/", ".npm/_cacache", ".npm/_logs", ".gradle/caches", ".cargo/registry/cache",
                "Library/Caches/", ".pnpm-store", ".yarn/cache", ".bun/install/cache",
                ".m2/repository/", ".ivy2/cache", ".nuget/packages", ".cache")  # fmt: skip
_HOME_CACHES_ROOTS = (".cache",)  # the whole ~/.cache also holds tools' state
_DISPOSABLE_SUFFIXES = (".egg-info", ".pyc", ".pyo", ".o", ".class", ".log", ".orig", ".rej",
                        ".bak", ".swp", ".swo", "~", ".tmp")  # fmt: skip

_SYSTEM_TOPS = frozenset(
    {
        "etc",
        "usr",
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "boot",
        "var",
        "opt",
        "srv",
        "root",
        "sys",
        "proc",
        "snap",
        "mnt",
        "media",
        "System",
        "Library",
        "Applications",
        "private",
        "cores",
        "Volumes",
        "nix",
        "data",
        "backup",
        "backups",
    }
)
_TEMP_PREFIXES = ("/tmp/", "/var/tmp/", "/private/tmp/", "/dev/shm/")
_HARMLESS = frozenset(
    {
        "/dev/null",
        "/dev/zero",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/stdin",
        "/dev/tty",
        "/dev/random",
        "/dev/urandom",
        "/dev/full",
    }
)
_DEVICE = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|rdisk\d|mapper/|md\d|"
    r"dm-\d|loop\d|sr\d|mem$|kmem$|port$)"
)


def join(cwd: str, path: str) -> str:
    """Resolve ``path`` against ``cwd`` and normalise ``.``/``..`` (no symlinks)."""
    full = path if path.startswith("/") else posixpath.join(cwd, path)
    normal = posixpath.normpath(full)
    return "/" if normal.startswith("//") and normal.strip("/") == "" else normal


@dataclass(frozen=True, slots=True)
class Workspace:
    """The agent's project directory and home, for placing paths in zones.

    ``other_homes``: home directories other than ``home`` that are the agent's too
    (the ``$HOME`` the agent runs with, when the project lives in another user's
    home): never disposable either, whatever they are spelt as."""

    project: str | None
    home: str
    other_homes: tuple[str, ...] = ()

    def expand(self, path: str, cwd: str | None) -> str | None:
        """``~`` and relative paths made absolute; None when the base is unknown.
        ``~+`` is the working directory, so it is a relative path; ``~-`` (the previous
        one) and the directory stack's ``~N``/``~+N`` are not tracked, so unknown."""
        head = path.split("/", 1)[0]
        if head == "~+":
            path = "." + path[2:]
        elif head[:1] == "~" and _STACK_TILDE.fullmatch(head):
            return None
        if path == "~" or path.startswith("~/"):
            path = self.home + path[1:]
        elif path.startswith("~") and "/" not in path.split("~", 1)[1][:1]:
            user, _, rest = path[1:].partition("/")
            path = f"/home/{user}" + (f"/{rest}" if rest else "")
        if path.startswith("/"):
            return join("/", path)
        base = cwd or self.project
        if base is None:
            return None
        return join(base, path)

    def zone(self, path: str) -> Zone:
        """The zone of an absolute, normalised path."""
        if path in _HARMLESS or path.startswith("/dev/fd/") or path.startswith("/proc/self/fd"):
            return Zone.HARMLESS
        if _DEVICE.match(path):
            return Zone.DEVICE
        if path == "/":
            return Zone.ROOT
        # The project and the home directory come before scratch space: in a container or
        # CI sandbox (HOME=/tmp/…, a checkout under /tmp) the home, its dotfiles, the
        # project root and its repository are still not disposable.  The other files of
        # a project that lives in scratch space stay scratch.
        project = self.project
        if project and project != "/":
            if path == project:
                return Zone.PROJECT_ROOT
            if project.startswith(path.rstrip("/") + "/"):
                return Zone.PROJECT_ANCESTOR
            if path.startswith(project + "/"):
                zone = _project_zone(path[len(project) + 1 :])
                scratch = zone is not Zone.PROJECT_GIT and _in_temp(project + "/")
                return Zone.TEMP if scratch else zone
        for home_dir in (self.home, *self.other_homes):
            home = self._home_zone(path, home_dir)
            if home is not None:
                return home
        if _in_temp(path):
            return Zone.TEMP
        if path in ("/tmp", "/var/tmp"):
            return Zone.SYSTEM
        if self._is_home(path):
            return Zone.HOME
        if _under_any_home(path):
            relative = path.split("/", 3)[3] if path.count("/") >= 3 else ""
            if relative.startswith(_HOME_CACHES) and relative not in _HOME_CACHES_ROOTS:
                return Zone.TEMP  # a cache the tools refill: `rm -rf ~/.cache/pip`
            return Zone.HOME_FILE
        top = path.split("/", 2)[1]
        if top in _SYSTEM_TOPS or top in ("home", "Users"):
            return Zone.SYSTEM
        return Zone.OTHER

    def _home_zone(self, path: str, home_dir: str) -> Zone | None:
        """The agent's own home and what is in it, wherever the home lives; None for
        other paths.  A home that is itself a scratch root (HOME=/tmp) keeps only its
        dotfiles: everything else there is other programs' scratch space."""
        home = home_dir.rstrip("/")
        if not home or home == "/":
            return None
        if path == home:
            return Zone.HOME
        if not path.startswith(home + "/"):
            return None
        relative = path[len(home) + 1 :]
        if home in ("/tmp", "/var/tmp", "/private/tmp", "/dev/shm") and not relative.startswith(
            "."
        ):
            return None
        if relative.startswith(_HOME_CACHES) and relative not in _HOME_CACHES_ROOTS:
            return Zone.TEMP  # a cache the tools refill: `rm -rf ~/.cache/pip`
        return Zone.HOME_FILE

    def _is_home(self, path: str) -> bool:
        if path in (self.home.rstrip("/"), "/home", "/Users") or path in self.other_homes:
            return True
        parts = path.strip("/").split("/")
        return len(parts) == 2 and parts[0] in ("home", "Users")


# Directories that hold the machine's configuration and programs: a working directory
# there (``cd /etc``) is not a project whose files the agent may change as its own.
# (/usr/src/app, /srv/app, /opt/app and /var/www/app are ordinary project places.)
_SYSTEM_PLACES = ("/etc", "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                  "/sys", "/proc", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec",
                  "/usr/share", "/usr/local/bin", "/usr/local/sbin", "/usr/local/lib",
                  "/usr/local/etc", "/private/etc", "/System", "/Library")  # fmt: skip


def workspace_for(project: str | None, home: str, other_homes: tuple[str, ...] = ()) -> Workspace:
    """The workspace of an agent working in ``project``.  The home and the system keep
    what they are whatever the working directory: a "project" that is the home, holds
    it, or lies in the system's own directories is no project (``cd ~`` does not make
    ~/.bashrc and ~/.ssh project files, nor ``cd /etc`` /etc/hosts)."""
    if project is None or project == "/":
        return Workspace(project, home, other_homes)
    own = home.rstrip("/")
    if own and (own == project or own.startswith(project + "/")):
        return Workspace(None, home, other_homes)
    system = project in _SYSTEM_TOPS_ABS or project in _SYSTEM_PLACES
    if system or project.startswith(_SYSTEM_PLACES_UNDER):
        return Workspace(None, home, other_homes)
    return Workspace(project, home, other_homes)


_SYSTEM_TOPS_ABS = frozenset("/" + top for top in _SYSTEM_TOPS) | {"/home", "/Users"}
_SYSTEM_PLACES_UNDER = tuple(place + "/" for place in _SYSTEM_PLACES)


def _in_temp(path: str) -> bool:
    return any(path.startswith(p) for p in _TEMP_PREFIXES)


def _under_any_home(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) > 2 and parts[0] in ("home", "Users")


def _compound_output(part: str) -> bool:
    words = [w for w in _COMPOUND_TAIL.split(part.lower()) if w]
    return len(words) > 1 and words[-1] in _COMPOUND_DISPOSABLE  # ``cache`` alone may be a package


def _project_zone(relative: str) -> Zone:
    parts = relative.split("/")
    if parts[0] == ".git":
        return Zone.PROJECT_GIT
    for part in parts:
        if (
            part in DISPOSABLE_DIRS
            or part.lower() in _DISPOSABLE_LOWER
            or part.endswith(".egg-info")
            or _SCRATCH_DIR.fullmatch(part) is not None
            or _compound_output(part)
        ):
            return Zone.PROJECT_DISPOSABLE
    if parts[-1] in _DISPOSABLE_NAMES or parts[-1].endswith(".tsbuildinfo"):
        return Zone.PROJECT_DISPOSABLE
    if any(relative == p or relative.startswith(p + "/") for p in _DISPOSABLE_PLACES):
        return Zone.PROJECT_DISPOSABLE
    if len(parts) >= 1 and parts[-1].endswith(_DISPOSABLE_SUFFIXES):
        return Zone.PROJECT_DISPOSABLE
    return Zone.PROJECT
