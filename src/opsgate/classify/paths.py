"""Where a path points, relative to the agent's workspace.

Every filesystem judgement reduces to: resolve the path (``~``, ``..``, the tracked
working directory), then place it in a zone.  Deleting inside a disposable build
directory is ordinary work; deleting the project, its ``.git``, the home directory
or a system path is destructive; reading a key file discloses a secret; writing a
shell start-up file or the guard's own settings is a write to a protected place.
"""

from __future__ import annotations

import fnmatch
import functools
import posixpath
import re

from ._paths_opsgate import HOME_PLACES as _OPSGATE_PLACES
from ._paths_opsgate import (
    holds_opsgate_secrets,
    is_opsgate_home,
    is_opsgate_secret,
    names_opsgate_secret,
)
from ._paths_zones import DISPOSABLE_DIRS, Workspace, Zone, join, workspace_for

__all__ = [
    "DISPOSABLE_DIRS",
    "Workspace",
    "Zone",
    "holds_secrets",
    "is_known_public",
    "is_secret_dir",
    "is_secret_file",
    "is_secret_path",
    "join",
    "protected_reason",
    "workspace_for",
]


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
    "*serviceaccount*.json",
    "*firebase-adminsdk*.json",
    "*sa-key*.json",
    "*sa_key*.json",
    "key.json",
    "kaggle.json",
    "*.p8",
    "*_accesskeys.csv",
    "rootkey.csv",
    "*credentials.csv",
    "*.publishsettings",
    "*.azureauth",
    "keystore.properties",
    "key.properties",
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
    # Browsers' saved passwords and keychains (Chrome/Chromium/Edge/Brave's "Login
    # Data", Firefox's logins.json with its key4.db, macOS keychains).
    "login data",
    "login data for account",
    "logins.json",
    "key3.db",
    "key4.db",
    "signons.sqlite",
    "*.keychain",
    "*.keychain-db",
    "access_tokens.db",
    "clouds.yaml",
    "clouds.yml",
    "secure.yaml",
    "credentials.toml",
    "settings-security.xml",
    ".dev.vars",
    "secrets.toml",
    "secrets.*.yml",
    "secrets.*.yaml",
    "secrets.*.json",
    "*secret*.tfvars",
    "*secret*.tfvars.json",
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
    "*.template",
    "*.dist",
    # ``config/secrets.example.yml``, ``credentials.sample.json``: a template beside
    # the real file, placeholders in place of values.
    "*.example.*",
    "*.sample.*",
    "*.template.*",
    "*.dist.*",
)
# Credentials files known by the shape of the name their issuer gives them: a Google
# Cloud service-account key downloads as ``PROJECT-ID-<12 hex of the key id>.json``.
_SECRET_SHAPES = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]-[0-9a-f]{12}\.json")
# Files that hold credentials only in the user's home (in a project they are ordinary).
_HOME_SECRET_FILES = (
    ".m2/settings.xml", ".gradle/gradle.properties", ".cargo/credentials",
    ".config/composer/auth.json", ".composer/auth.json", ".config/hub", ".mc/config.json",
    ".config/gh/hosts.yml", ".s3cfg", ".config/rclone/rclone.conf", ".pulumi/credentials.json",
    ".config/glab-cli/config.yml", ".terraformrc", ".config/hcloud/cli.toml",
    ".config/doctl/config.yaml", ".oci/config", ".databrickscfg", ".snowsql/config",
    ".config/containers/auth.json", ".local/share/keyrings/", ".dbt/profiles.yml",
    # The coding agents' own sign-ins: OAuth tokens and API keys.
    ".claude/.credentials.json", ".codex/auth.json", ".gemini/oauth_creds.json",
    ".config/github-copilot/apps.json", ".config/github-copilot/hosts.json",
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
    "/etc/wireguard/",
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
# A project directory named ``secrets`` holds credential files and, often, the code
# and docs that handle them: source files there are ordinary.
_GENERIC_SECRET_DIRS = ("/secrets/", "/.secrets/")
_SOURCE_SUFFIXES = (".go", ".py", ".rs", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".java",
                    ".kt", ".rb", ".php", ".cs", ".swift", ".c", ".h", ".cc", ".cpp", ".hpp",
                    ".scala", ".ex", ".exs", ".md", ".rst", ".tf", ".proto",
                    ".html", ".css", ".vue", ".svelte")  # fmt: skip
# A process's environment, and its memory (``/proc/PID/mem``: every secret it holds).
_PROC_ENVIRON = re.compile(r"^/proc/[^/]+/(environ|mem|task/[^/]+/(environ|mem))$")

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
# The project's directories of installed programs (``node_modules/.bin``, a virtual
# environment's ``bin``): what runs from there is judged as the tool its name says,
# never read, so a program written there by hand is planted (``_run_path``).
_INSTALLED_BIN = re.compile(
    r"(^|/)(node_modules/\.bin|\.?venv[^/]*/bin|env/bin|\.tox/[^/]+/bin|\.nox/[^/]+/bin|"
    r"vendor/bin)/[^/]+$"
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
    "opsgate.yaml",
    "opsgate.yml",
    ".opsgate/",
    ".github/copilot",
    ".envrc",
)


def _one_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """Many shell-style patterns as one compiled alternation (one match per path)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


_SECRET_RE = _one_regex(_SECRET_NAMES)
_GLOB_CHARS = re.compile(r"[*?\[\]]")
# Names a glob is tried against: one of each common kind of credentials file.
_SECRET_SAMPLES = (".env", ".env.local", ".env.production", "id_rsa", "id_ed25519", ".netrc",
                   ".pgpass", "credentials", "credentials.json", "kubeconfig", "secrets.yaml",
                   "terraform.tfstate", "server.key", "server.pem", ".npmrc",
                   ".git-credentials")  # fmt: skip
_NOT_SECRET_RE = _one_regex(_NOT_SECRET_NAMES)
# Ordinary project files: a glob that also picks these (``fixtures/*.json``,
# ``k8s/*.yaml``) names a kind of file, not a credentials file.
_ORDINARY_SAMPLES = ("package.json", "tsconfig.json", "data.json", "config.yaml",
                     "values.yaml", "deployment.yaml", "main.tf", "readme.md",
                     "settings.py", "app.log", "config.toml")  # fmt: skip


def is_secret_path(path: str) -> bool:
    """True when the file at ``path`` (absolute or relative) holds credentials.

    Judged by the name alone (no filesystem access); ``$OPSGATE_HOME``'s own
    credentials are looked up in the environment, every other answer is cached."""
    return _secret_by_name(path) or is_opsgate_secret(path)


# A PEM file's name that says it holds certificates or a public key (``fullchain.pem``,
# ``ca.pem``, ``server-cert.pem``, ``pubkey.pem``), as ``*.crt`` does.  Any other word
# for a key (``privkey.pem``, ``ca-key.pem``, ``tls-secret.pem``) keeps it a secret, and
# so does a name that says nothing (``server.pem`` often holds certificate and key).
_PUBLIC_KEY_WORDS = re.compile(r"pub(?:lic)?[-_.]?key")
_PUBLIC_PEM_WORDS = re.compile(r"cert|chain|bundle|pub(?:lic)?\b|(?:^|[-_.])ca(?:$|[-_.])")
_PRIVATE_PEM_WORDS = re.compile(r"key|priv|secret|token|pass|cred")


def _public_pem(lowered: str) -> bool:
    if not lowered.endswith(".pem"):
        return False
    stem = lowered[: -len(".pem")]
    if _PRIVATE_PEM_WORDS.search(_PUBLIC_KEY_WORDS.sub("", stem)):
        return False
    return bool(_PUBLIC_PEM_WORDS.search(_PUBLIC_KEY_WORDS.sub("pub", stem)))


@functools.lru_cache(maxsize=4096)
def _secret_by_name(path: str) -> bool:
    base = posixpath.basename(path.rstrip("/"))
    lowered = base.lower()
    if _NOT_SECRET_RE.match(lowered) or _public_pem(lowered):
        return False
    if _PROC_ENVIRON.match(path) or path in ("/etc/shadow", "/etc/gshadow", "/etc/sudoers"):
        return True
    if _SECRET_RE.match(lowered) or _SECRET_SHAPES.fullmatch(lowered):
        return True
    if names_opsgate_secret(path):  # ~/.opsgate/session.json, /etc/opsgate/config.toml …
        return True
    # ``**/.env*``, ``id_*``: a pattern that would pick up a credentials file.
    if (
        _GLOB_CHARS.search(base)
        and len(_GLOB_CHARS.sub("", base)) >= 2
        and any(fnmatch.fnmatchcase(name, lowered) for name in _SECRET_SAMPLES)
        and not any(fnmatch.fnmatchcase(name, lowered) for name in _ORDINARY_SAMPLES)
    ):
        return True
    slashed = "/" + path.lstrip("/") if not path.startswith(("/", "~")) else path
    for name in _HOME_SECRET_FILES:
        if slashed.endswith("/" + name) or (name.endswith("/") and f"/{name}" in slashed):
            return True
    for part in _SECRET_DIR_PARTS:
        if part in slashed:
            if part == "/.kube/" and "/cache/" in slashed:
                return False
            if part in _GENERIC_SECRET_DIRS and (
                lowered.endswith(_SOURCE_SUFFIXES)
                or lowered in ("", ".", "..", "...")
                or not _near_generic_dir(posixpath.dirname(slashed.rstrip("/")))
            ):
                # internal/secrets/rotation.go is code about secrets; ./secrets/ and
                # go's ./secrets/... name the directory, not a file in it; a project
                # that merely lives under some secrets/ directory is not all secret.
                continue
            return lowered not in _SECRET_DIR_OK.get(part, ())
    return False


def is_known_public(path: str) -> bool:
    """True when ``path`` is a file known to hold no secret value even where secrets
    live: a public key, ``known_hosts``, an ssh or aws ``config``, a template."""
    base = posixpath.basename(path.rstrip("/")).lower()
    if _NOT_SECRET_RE.match(base):
        return True
    slashed = "/" + path.lstrip("/")
    return any(part in slashed and base in ok for part, ok in _SECRET_DIR_OK.items())


def is_secret_file(path: str) -> bool:
    """True when ``path`` holds credentials by its name or by where its symlinks lead.

    The one predicate for "may opsgate (or the agent) read this file?": the name as
    given, then the real file behind every link (``notes.txt -> ~/.aws/credentials``).
    ``path`` should be absolute; resolution reads the filesystem (a few ``lstat`` calls).
    """
    if is_secret_path(path):
        return True
    from ._paths_links import real_path

    real = real_path(path)
    return real != path and is_secret_path(real)


@functools.lru_cache(maxsize=1024)
def is_secret_dir(path: str) -> bool:
    """True when ``path`` is a credentials directory or lies inside one (``~/.ssh``,
    ``~/.aws``, ``/run/secrets``): a program that recurses into it reads secrets."""
    slashed = path.rstrip("/") + "/"
    if not slashed.startswith(("/", "~")):
        slashed = "/" + slashed
    if "/.kube/cache/" in slashed or slashed.endswith("/.kube/cache/"):
        return False
    for part in _SECRET_DIR_PARTS:
        if part in slashed:
            if part in _GENERIC_SECRET_DIRS and not _near_generic_dir(slashed.rstrip("/")):
                continue
            return True
    return any(name.endswith("/") and f"/{name}" in slashed for name in _HOME_SECRET_FILES)


def _near_generic_dir(directory: str) -> bool:
    """A generic ``secrets/`` directory counts within two levels (``secrets/db.yaml``,
    ``secrets/prod/db.yaml``), not as any ancestor (``~/src/secrets/app/…``)."""
    tail = directory.rstrip("/").rsplit("/", 2)[-2:]
    return any(part in ("secrets", ".secrets") for part in tail)


# Home-relative places that hold credentials: a directory above one of them (``~``,
# ``~/.config``) holds secrets too when a program copies or archives all of it.
_HOME_SECRET_PLACES = tuple(
    sorted(
        {p.strip("/") for p in _SECRET_DIR_PARTS if p.startswith("/.")}
        | {n.rstrip("/") for n in _HOME_SECRET_FILES}
        | {".netrc", ".pgpass", ".git-credentials", ".npmrc", ".pypirc", ".vault-token",
           ".my.cnf", ".boto", ".dockercfg", *_OPSGATE_PLACES}
    )
)  # fmt: skip
_SYSTEM_SECRET_DIRS = ("/", "/etc", "/root", "/run", "/var/run", "/var", "/home", "/Users")


def holds_secrets(path: str, home: str) -> bool:
    """True when a recursive copy, archive or search of ``path`` (absolute) would take
    credentials with it: a credentials directory, a directory inside one, the home
    directory or a directory above a credentials file in it, ``/``, ``/etc``, an
    opsgate home (``$OPSGATE_HOME`` is read from the environment, so not cached)."""
    return _holds_by_name(path, home) or holds_opsgate_secrets(path)


@functools.lru_cache(maxsize=1024)
def _holds_by_name(path: str, home: str) -> bool:
    path = path.rstrip("/") or "/"
    if is_secret_dir(path) or path in _SYSTEM_SECRET_DIRS or is_opsgate_home(path):
        return True
    home = home.rstrip("/")
    if path == home or home.startswith(path + "/"):
        return True
    if not path.startswith(home + "/"):
        parts = path.strip("/").split("/")
        return len(parts) == 2 and parts[0] in ("home", "Users")  # another user's home
    relative = path[len(home) + 1 :] + "/"
    return any(place.startswith(relative) for place in _HOME_SECRET_PLACES)


_SITE_DIRS = ("/site-packages/", "/dist-packages/")
_SITE_HOOKS = ("usercustomize.py", "sitecustomize.py")


def _python_startup(path: str, project: str | None) -> str | None:
    """A ``.pth`` file or ``usercustomize.py`` in a site-packages directory runs in every
    Python that directory serves (the hook included); the project's own environment is
    the project's business."""
    if not any(d in path for d in _SITE_DIRS):
        return None
    if project and path.startswith(project + "/"):
        return None
    base = path.rsplit("/", 1)[-1]
    if base.endswith(".pth") or base in _SITE_HOOKS:
        return f"{base} runs at the start of every Python that uses {path.rsplit('/', 1)[0]}"
    return None


def protected_reason(path: str, workspace: Workspace) -> str | None:
    """Why writing ``path`` would change how the machine or the guard behaves, or None."""
    startup = _python_startup(path, workspace.project)
    if startup is not None:
        return startup
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
        if _INSTALLED_BIN.search(relative):
            return "a program placed there is taken for an installed tool and runs unread"
        for prefix in _PROTECTED_PROJECT:
            if relative == prefix.rstrip("/") or relative.startswith(prefix):
                return f"{prefix.rstrip('/')} runs code or changes the guard's configuration"
        return _moved_guard_place(path, workspace)  # a policy file the project holds
    zone = workspace.zone(path)
    if zone in (Zone.SYSTEM, Zone.ROOT):
        return f"{path} is a system path"
    if zone is Zone.DEVICE:
        return f"{path} is a block device"
    if zone is Zone.HOME:
        return f"{path} is a home directory"
    return _moved_guard_place(path, workspace)


def _moved_guard_place(path: str, workspace: Workspace) -> str | None:
    """A place of the guard that a variable puts anywhere — ``$OPSGATE_HOME``, an
    agent's settings directory moved by ``$CODEX_HOME`` — which the zones see as any
    other file there (in /tmp, a scratch file)."""
    from opsgate.classify._guard_paths import dynamic_roots, guard_path

    roots = dynamic_roots()
    if not roots or not path.lower().startswith(roots):
        return None
    return guard_path(path, workspace.home, workspace.project)
