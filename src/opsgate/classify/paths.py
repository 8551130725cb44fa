"""Where a path points, relative to the agent's workspace.

Every filesystem judgement reduces to: resolve the path (``~``, ``..``, the tracked
working directory), then place it in a zone.  Deleting inside a disposable build
directory is ordinary work; deleting the project, its ``.git``, the home directory
or a system path is destructive; reading a key file discloses a secret; writing a
shell start-up file or the guard's own settings is a write to a protected place.
"""

from __future__ import annotations

import enum
import fnmatch
import posixpath
import re
from dataclasses import dataclass

__all__ = [
    "DISPOSABLE_DIRS",
    "Workspace",
    "Zone",
    "is_secret_path",
    "join",
    "protected_reason",
]


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
_DISPOSABLE_LOWER = frozenset(d.lower() for d in DISPOSABLE_DIRS)
_DISPOSABLE_NAMES = (".DS_Store", "Thumbs.db", "desktop.ini", ".tsbuildinfo")
_DISPOSABLE_SUFFIXES = (".egg-info", ".pyc", ".pyo", ".o", ".class", ".log", ".orig", ".rej")

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

# --- secrets: files whose contents are credentials -------------------------------------
_SECRET_NAMES = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".my.cnf",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".vault-token",
    ".dockercfg",
    "credentials",
    "credentials.json",
    "credentials.tfrc.json",
    "*service-account*.json",
    "*service_account*.json",
    "client_secret*.json",
    "application_default_credentials.json",
    "secrets.yml",
    "secrets.yaml",
    "secrets.json",
    "secret.json",
    "master.key",
    "*.tfstate",
    "*.tfstate.backup",
    "terraform.tfstate*",
    ".htpasswd",
    "shadow",
    "gshadow",
    "*.kdbx",
    "kubeconfig",
    "kubeconfig*",
    "*.kubeconfig",
    "rclone.conf",
    "hosts.yml",
    "*.ovpn",
    "wp-config.php",
    "*.gpg",
    "*.asc",
    "token",
    "*.token",
    ".boto",
    "s3cfg",
    ".s3cfg",
    "accessTokens.json",
    "msal_token_cache*",
    "credentials.db",
    "access_tokens.db",
    "clouds.yaml",
    "clouds.yml",
    "secure.yaml",
    "credentials.toml",
    "settings-security.xml",
    ".dev.vars",
    "secrets.toml",
    "local.settings.json",
    "*.secrets",
    ".htdigest",
    "keyfile.json",
    "*.keytab",
)
_NOT_SECRET_NAMES = (
    ".env.example",
    ".env.sample",
    ".env.template",
    ".env.dist",
    ".env.defaults",
    "*.pub",
    "known_hosts",
    "*.crt",
    "*.cert",
    "ca-bundle*",
    "*.example",
    "*.sample",
)
# Files that hold credentials only in the user's home (in a project they are ordinary).
_HOME_SECRET_FILES = (
    ".m2/settings.xml", ".gradle/gradle.properties", ".cargo/credentials",
    ".config/composer/auth.json", ".composer/auth.json", ".config/hub", ".mc/config.json",
    ".config/gh/hosts.yml", ".s3cfg", ".config/rclone/rclone.conf", ".pulumi/credentials.json",
    ".config/glab-cli/config.yml", ".terraformrc", ".config/hcloud/cli.toml",
    ".config/doctl/config.yaml", ".oci/config", ".databrickscfg", ".snowsql/config",
    ".config/containers/auth.json", ".local/share/keyrings/",
)  # fmt: skip
_SECRET_DIR_PARTS = (
    "/.ssh/",
    "/.gnupg/",
    "/.aws/",
    "/.azure/",
    "/.kube/",
    "/.docker/",
    "/.config/gcloud/",
    "/.config/rclone/",
    "/.terraform.d/",
    "/var/run/secrets/",
    "/run/secrets/",
    "/.password-store/",
    "/.config/op/",
    "/.config/doppler/",
    "/secrets/",
    "/.secrets/",
    "/private-keys-v1.d/",
)
# Inside a credentials directory, these hold no secret values.
_SECRET_DIR_OK = {
    "/.ssh/": ("config", "known_hosts", "known_hosts.old", "authorized_keys", "rc"),
    "/.aws/": ("config",),
    "/.kube/": (),
    "/.docker/": ("daemon.json", "features.json"),
}
_PROC_ENVIRON = re.compile(r"^/proc/[^/]+/(environ|task/[^/]+/environ)$")

# --- protected: places where a write changes how the machine or the guard behaves ------
_PROTECTED_HOME = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".bash_aliases",
    ".zsh_aliases",
    ".aliases",
    ".functions",
    ".exports",
    ".zprofile",
    ".zlogin",
    ".kshrc",
    ".cshrc",
    ".tcshrc",
    ".inputrc",
    ".config/fish/",
    ".ssh/",
    ".gnupg/",
    ".gitconfig",
    ".config/git/",
    ".npmrc",
    ".yarnrc",
    ".pypirc",
    ".pip/",
    ".config/pip/",
    ".netrc",
    ".aws/",
    ".kube/",
    ".docker/",
    ".config/systemd/",
    ".config/environment.d/",
    ".config/autostart/",
    ".local/bin/",
    "bin/",
    ".claude/",
    ".claude.json",
    ".codex/",
    ".gemini/",
    ".cursor/",
    ".config/opsgate/",
    ".opsgate/",
    ".github/copilot",
    ".copilot/",
    ".config/gh/",
    ".vimrc",
    ".config/nvim/",
    ".tmux.conf",
    "Library/LaunchAgents/",
    ".pam_environment",
    ".xprofile",
    ".xinitrc",
)
_PROTECTED_PROJECT = (
    ".git/hooks/",
    ".git/config",
    ".git/info/",
    ".git/objects/",
    ".git/refs/",
    ".git/HEAD",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/hooks/",
    ".codex/",
    ".gemini/settings.json",
    ".cursor/hooks.json",
    ".cursor/rules/",
    ".vscode/tasks.json",
    "opsgate.yaml",
    "opsgate.yml",
    ".opsgate/",
    ".github/copilot",
    ".envrc",
)


def join(cwd: str, path: str) -> str:
    """Resolve ``path`` against ``cwd`` and normalise ``.``/``..`` (no symlinks)."""
    full = path if path.startswith("/") else posixpath.join(cwd, path)
    normal = posixpath.normpath(full)
    return "/" if normal.startswith("//") and normal.strip("/") == "" else normal


@dataclass(frozen=True, slots=True)
class Workspace:
    """The agent's project directory and home, for placing paths in zones."""

    project: str | None
    home: str

    def expand(self, path: str, cwd: str | None) -> str | None:
        """``~`` and relative paths made absolute; None when the base is unknown."""
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
        if any(path.startswith(p) for p in _TEMP_PREFIXES):
            # Scratch space stays scratch space, even when the agent works in it.
            return Zone.TEMP
        project = self.project
        if project and project != "/":
            if path == project:
                return Zone.PROJECT_ROOT
            if project.startswith(path.rstrip("/") + "/"):
                return Zone.PROJECT_ANCESTOR
            if path.startswith(project + "/"):
                return _project_zone(path[len(project) + 1 :])
        if any(path.startswith(p) for p in _TEMP_PREFIXES):
            return Zone.TEMP
        if path in ("/tmp", "/var/tmp"):
            return Zone.SYSTEM
        if self._is_home(path):
            return Zone.HOME
        if path.startswith(self.home.rstrip("/") + "/") or _under_any_home(path):
            return Zone.HOME_FILE
        top = path.split("/", 2)[1]
        if top in _SYSTEM_TOPS or top in ("home", "Users"):
            return Zone.SYSTEM
        return Zone.OTHER

    def _is_home(self, path: str) -> bool:
        if path in (self.home.rstrip("/"), "/home", "/Users"):
            return True
        parts = path.strip("/").split("/")
        return len(parts) == 2 and parts[0] in ("home", "Users")


def _under_any_home(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) > 2 and parts[0] in ("home", "Users")


def _project_zone(relative: str) -> Zone:
    parts = relative.split("/")
    if parts[0] == ".git":
        return Zone.PROJECT_GIT
    for part in parts:
        if (
            part in DISPOSABLE_DIRS
            or part.lower() in _DISPOSABLE_LOWER
            or part.endswith(".egg-info")
        ):
            return Zone.PROJECT_DISPOSABLE
    if parts[-1] in _DISPOSABLE_NAMES or parts[-1].endswith(".tsbuildinfo"):
        return Zone.PROJECT_DISPOSABLE
    if len(parts) >= 1 and parts[-1].endswith(_DISPOSABLE_SUFFIXES):
        return Zone.PROJECT_DISPOSABLE
    return Zone.PROJECT


def is_secret_path(path: str) -> bool:
    """True when the file at ``path`` (absolute or relative) holds credentials."""
    base = posixpath.basename(path.rstrip("/"))
    lowered = base.lower()
    if any(fnmatch.fnmatchcase(lowered, p) for p in _NOT_SECRET_NAMES):
        return False
    if _PROC_ENVIRON.match(path) or path in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers"):
        return True
    if any(fnmatch.fnmatchcase(lowered, p) for p in _SECRET_NAMES):
        return True
    slashed = "/" + path.lstrip("/") if not path.startswith(("/", "~")) else path
    for name in _HOME_SECRET_FILES:
        if slashed.endswith("/" + name) or (name.endswith("/") and f"/{name}" in slashed):
            return True
    for part in _SECRET_DIR_PARTS:
        if part in slashed:
            if part == "/.kube/" and "/cache/" in slashed:
                return False
            return lowered not in _SECRET_DIR_OK.get(part, ())
    return False


def protected_reason(path: str, workspace: Workspace) -> str | None:
    """Why writing ``path`` would change how the machine or the guard behaves, or None."""
    home = workspace.home.rstrip("/") + "/"
    if path.startswith(home):
        relative = path[len(home) :]
        project = workspace.project
        inside_project = bool(project) and path.startswith(f"{project}/")
        if not inside_project:
            for prefix in _PROTECTED_HOME:
                if relative == prefix.rstrip("/") or relative.startswith(prefix):
                    return f"~/{prefix.rstrip('/')} controls the user's shell, keys or tools"
    if workspace.project and path.startswith(workspace.project + "/"):
        relative = path[len(workspace.project) + 1 :]
        for prefix in _PROTECTED_PROJECT:
            if relative == prefix.rstrip("/") or relative.startswith(prefix):
                return f"{prefix.rstrip('/')} runs code or changes the guard's configuration"
        return None
    zone = workspace.zone(path)
    if zone in (Zone.SYSTEM, Zone.ROOT):
        return f"{path} is a system path"
    if zone is Zone.DEVICE:
        return f"{path} is a block device"
    if zone is Zone.HOME:
        return f"{path} is a home directory"
    return None
