"""Command-line flags that set a configuration setting (``opsgate.config``): each is
declared once in the settings table (name, help, default); a command only says which
ones it takes.  After parsing, ``main`` hands their values to the configuration as
its highest layer, so the whole process resolves each setting the same way."""

from __future__ import annotations

import argparse
from typing import Any

from opsgate.config import by_key

__all__ = ["PREFIX", "add_setting", "given_settings"]

PREFIX = "setting:"  # the dest of a setting's flag: never clashes with a command's own


def add_setting(parser: argparse.ArgumentParser | Any, key: str, **extra: Any) -> None:
    """Add ``key``'s flag to ``parser``, with its help and default from the table."""
    s = by_key(key)
    assert s.flag, f"{key} has no flag"
    kinds: dict[str, Any] = {"int": int, "float": float}
    default = f"default: {s.default}" if s.default is not None else ""
    where = "; ".join(part for part in (f"${s.env}", default) if part)
    kwargs: dict[str, Any] = {
        "dest": PREFIX + key,
        "default": argparse.SUPPRESS,  # absent: the lower layers decide
        "help": f"{s.help} ({where})",
    }
    if s.kind in kinds:
        kwargs["type"] = kinds[s.kind]
    if s.choices:
        kwargs["choices"] = s.choices
    if s.kind == "path":
        kwargs["metavar"] = "PATH"
    kwargs.update(extra)
    parser.add_argument(s.flag, **kwargs)


def given_settings(ns: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gave, by key."""
    return {k[len(PREFIX) :]: v for k, v in vars(ns).items() if k.startswith(PREFIX)}
