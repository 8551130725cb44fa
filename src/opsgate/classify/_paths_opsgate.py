"""opsgate's own credentials, as secret files (safeguards 4 and 6).

A person who ran ``opsgate login`` keeps a session in ``$OPSGATE_HOME/session.json``
that approves cards as that person; ``initial-owner-password`` is the owner's
password; the config file may hold the database URL and webhook or Slack secrets;
``connect.json`` holds the hook's token; the data directory holds the secret store's
key, the audit signing key and the database of users, tokens and sessions.  An agent
of the same OS user that reads any of them can approve its own cards, so each is a
secret file for every reader the secrets classifier knows (``head``, ``jq``, ``cp``,
interpreter code, a link to it …), exactly like ``~/.aws/credentials``.

They are recognised by name, inside any opsgate home: ``~/.opsgate``,
``~/.config/opsgate``, ``/etc/opsgate``, ``/var/lib/opsgate`` (protected mode) and
``$OPSGATE_HOME``.  The rest of a home stays readable: ``policy.yaml``, ``audit.db``,
a listing of the directory.
"""

from __future__ import annotations

import fnmatch
import os
import re

__all__ = [
    "HOME_PLACES",
    "holds_opsgate_secrets",
    "is_opsgate_home",
    "is_opsgate_secret",
    "names_opsgate_secret",
]

# The files (by name, directly in an opsgate home) that hold a credential.
_SECRET_NAMES = frozenset(
    {
        "session.json",  # `opsgate login`: approves as the person
        "initial-owner-password",  # `opsgate serve`'s first owner password
        "config.toml",  # database_url, webhook and Slack secrets
        "opsgate.env",  # protected mode's environment file (the same settings)
        "connect.json",  # the hook's agent token and control-plane URL
        "secret.key",  # the secret store's key
        "audit-signing-key.pem",  # signs audit checkpoints
        "opsgate.db",  # users' password hashes, tokens, sessions, stored secrets
        "opsgate.db-wal",
        "opsgate.db-shm",
    }
)
# The cheap first test (a suffix test; globs and the temp file are looked at apart).
_NAME_ENDINGS = tuple(sorted(_SECRET_NAMES))
# A kept or backed-up copy is the same credential: ``secret.key.old``,
# ``audit-signing-key.pem.bak``, ``config.toml~``, ``opsgate.db.2026-12-07``.
_ALTERNATION = "|".join(re.escape(n) for n in sorted(_SECRET_NAMES, key=len, reverse=True))
_COPY = re.compile(rf"(?:{_ALTERNATION})(?:[.~_-][^/]*)", re.IGNORECASE)
_COPY_AT_END = re.compile(rf"(?:^|/)(?:{_ALTERNATION})[.~_-][^/]*$", re.IGNORECASE)
# ``_session.save`` writes ``.session.json.<pid>`` first, then renames it.
_TEMP_PREFIXES = (".session.json.",)
# Directories that are an opsgate home wherever they are (the home directory, a
# layout root for packaging, a ``~`` not yet expanded).
_HOME_SUFFIXES = ("/.opsgate", "/.config/opsgate", "/etc/opsgate", "/var/lib/opsgate")
# The variable itself, where the shell has not expanded it (``cat $OPSGATE_HOME/…``).
_HOME_VARIABLES = frozenset({"$opsgate_home", "${opsgate_home}"})
# Home-relative places, for ``paths.holds_secrets`` (a copy of ``~`` or ``~/.config``).
HOME_PLACES = (".opsgate/session.json", ".config/opsgate/config.toml")
# Directories above a machine-wide home: a recursive read of these reaches it.
_SYSTEM_PARENTS = frozenset({"/var/lib", "/var/lib/opsgate", "/etc/opsgate"})


def _is_secret_name(base: str) -> bool:
    """A credentials file's name, or a glob that picks one (``*``, ``*.json``, ``s*``)."""
    if base in _SECRET_NAMES or base.startswith(_TEMP_PREFIXES) or _COPY.fullmatch(base):
        return True
    if "*" in base or "?" in base or "[" in base:
        return any(fnmatch.fnmatchcase(name, base) for name in _SECRET_NAMES)
    return False


def _home_of(directory: str) -> str:
    """The directory a file is in, without the ``/**`` that ``find`` and globs add."""
    while directory.endswith(("/**", "/*")):
        directory = directory.rsplit("/", 1)[0]
    return directory.rstrip("/")


def _env_home() -> str:
    """``$OPSGATE_HOME`` as a comparable directory ("" when unset or too short to be one)."""
    home = os.environ.get("OPSGATE_HOME", "").rstrip("/")
    return home if home.count("/") >= 2 else ""


def names_opsgate_secret(path: str) -> bool:
    """Whether ``path`` names a credentials file in a static opsgate home (by its text
    alone: cacheable).  ``~/.opsgate/session.json``, ``/etc/opsgate/config.toml``."""
    directory, _, base = path.rstrip("/").rpartition("/")
    if not _is_secret_name(base.lower()):
        return False
    home = _home_of(directory.lower())
    return ("/" + home.lstrip("/")).endswith(_HOME_SUFFIXES) or home in _HOME_VARIABLES


def is_opsgate_secret(path: str) -> bool:
    """Whether ``path`` names a credentials file in ``$OPSGATE_HOME`` (read from the
    environment on every call: the decision service serves several environments).
    On every secret-file test, so a suffix test first: most paths end otherwise."""
    if not (
        path.endswith(_NAME_ENDINGS)
        or "*" in path
        or "?" in path
        or "[" in path
        or ".session.json." in path
        or (path[path.rfind("/") + 1 :].startswith(_NAME_ENDINGS) and _COPY_AT_END.search(path))
    ):
        return False
    directory, _, base = path.rstrip("/").rpartition("/")
    if not _is_secret_name(base.lower()):
        return False
    home = _env_home()
    return bool(home) and _home_of(directory) == home


def is_opsgate_home(path: str) -> bool:
    """Whether a recursive read of directory ``path`` (absolute) reaches an opsgate
    credentials file in a static place: a home, or a directory above a machine-wide one."""
    path = path.rstrip("/") or "/"
    return path in _SYSTEM_PARENTS or path.lower().endswith(_HOME_SUFFIXES)


def holds_opsgate_secrets(path: str) -> bool:
    """Whether directory ``path`` is ``$OPSGATE_HOME`` (read from the environment)."""
    home = _env_home()
    return bool(home) and (path.rstrip("/") or "/") == home
