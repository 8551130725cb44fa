"""``opsgate config show``: every setting's effective value and where it came from
(flag, environment, config file, default), secrets masked."""

from __future__ import annotations

import argparse
from typing import Any

from opsgate.cli._flags import add_setting
from opsgate.cli._output import print_json, table

__all__ = ["register"]

MASK = "********"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="opsgate's own settings")
    sub = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    show = sub.add_parser(
        "show",
        help="print each setting's effective value and where it came from",
        description="Print every setting (docs/configuration.md), its effective value and "
        "its source: a flag, the environment (OPSGATE_*), the config file, or the default. "
        "Secrets are masked.",
    )
    add_setting(show, "data_dir")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)


def _shown(value: Any, secret: bool, kind: str = "text") -> Any:
    if value is None:
        return None
    if secret:
        return MASK
    if kind == "url":
        from opsgate._urls import shown_url

        return shown_url(str(value))  # a password inside it, or a token in its query
    if isinstance(value, tuple):
        return list(value)
    return str(value) if not isinstance(value, bool | int | float) else value


def _show(ns: argparse.Namespace) -> int:
    from opsgate.config import SETTINGS, current

    config = current()
    rows = []
    for s in SETTINGS:
        found = config.value(s.key)
        rows.append({"key": s.key, "env": s.env, "value": _shown(found.value, s.secret, s.kind),
                     "source": found.source, "secret": s.secret})  # fmt: skip
    path = config.file_path
    if ns.json:
        print_json({"config_file": str(path) if path else None, "settings": rows})
        return 0
    print(f"config file: {path if path else 'none'}")
    table((("KEY", "key"), ("VALUE", "value"), ("SOURCE", "source")), rows)
    return 0
