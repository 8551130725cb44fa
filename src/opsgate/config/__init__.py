"""opsgate's own configuration: one table of settings (``_table``), resolved in one
place (``_resolve``): flags > ``OPSGATE_*`` environment > config file > defaults.

The config file is TOML: ``--config FILE`` / ``OPSGATE_CONFIG``, else
``$OPSGATE_HOME/config.toml``, else ``/etc/opsgate/config.toml``.  The reference
page, ``docs/configuration.md``, is generated from the table:
``python -m opsgate.config > docs/configuration.md``.
"""

from __future__ import annotations

from opsgate.config._home import MissingDataDir, data_dir_missing, require_named_data_dir
from opsgate.config._resolve import (
    DEFAULT,
    ENV,
    FILE,
    FLAG,
    SYSTEM_FILE,
    Config,
    Value,
    current,
    resolve,
    set_flags,
)
from opsgate.config._table import SETTINGS, Setting, by_env, by_key

__all__ = [
    "DEFAULT",
    "ENV",
    "FILE",
    "FLAG",
    "SETTINGS",
    "SYSTEM_FILE",
    "Config",
    "MissingDataDir",
    "Setting",
    "Value",
    "by_env",
    "by_key",
    "current",
    "data_dir_missing",
    "require_named_data_dir",
    "resolve",
    "set_flags",
]
