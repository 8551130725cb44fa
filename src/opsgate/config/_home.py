"""A data directory that does not exist (issue 16): a mistyped ``--data-dir`` or
``OPSGATE_HOME`` must never become a fresh, empty home — a new signing key and audit
log, and none of the person's rules.

Only ``opsgate init``, ``serve --create`` and ``install`` create a named directory.
The default home (``~/.opsgate``) is a different case: nobody typed it, so the
commands that need no state (``check``) run without it and the hook creates it on
its first call on a new machine.
"""

from __future__ import annotations

from pathlib import Path

from opsgate.config._resolve import DEFAULT, Config
from opsgate.errors import ConfigError

__all__ = ["MissingDataDir", "data_dir_missing", "require_named_data_dir"]


class MissingDataDir(ConfigError):
    """The data directory does not exist (exit 9, as every configuration error).  Its
    own type so the hook can answer it as a deny that says what to do."""


def data_dir_missing(config: Config) -> MissingDataDir:
    """The error for a data directory that does not exist, with what to do."""
    found = config.value("data_dir")
    home = config.data_dir
    if found.layer > DEFAULT:
        hint = (
            f"check the path (or unset {found.setting.env}); `opsgate init` creates a "
            "new one (so do `opsgate serve --create` and `opsgate install`)"
        )
    else:
        hint = (
            "start the control plane once (`opsgate serve` or `opsgate init`), or set "
            "OPSGATE_URL / --url to use a remote one"
        )
    return MissingDataDir(f"the data directory {home} ({found.source}) does not exist", hint=hint)


def require_named_data_dir(config: Config) -> Path:
    """The data directory; one named by a flag or the environment must exist.  The
    default one may be missing (a new machine): the caller runs without it."""
    home = config.data_dir
    if config.value("data_dir").layer > DEFAULT and not home.is_dir():
        raise data_dir_missing(config)
    return home
