"""The default targets a dbt ``profiles.yml`` names, and nothing else of it.

``~/.dbt/profiles.yml`` holds warehouse passwords, so it is never read for
classification as text; what ``dbt run`` needs from it is which output each profile
runs against when no ``--target`` is given (``analytics: target: prod``).  Those
names are taken here, where the file is, and recorded as a fact (``_files``): the
rest of the file is kept nowhere.
"""

from __future__ import annotations

import re

__all__ = ["MAX_BYTES", "decode", "default_targets", "encode"]

MAX_BYTES = 256 * 1024
_NAME = re.compile(r"[\w.-]{1,80}")


def default_targets(text: str) -> tuple[tuple[str, str], ...] | None:
    """(profile, default target) pairs; None when the text is not a profiles file."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    out: list[tuple[str, str]] = []
    for profile, body in list(data.items())[:64]:
        if not isinstance(body, dict):
            continue
        target = body.get("target")
        if isinstance(profile, str) and isinstance(target, str) and _fits(profile, target):
            out.append((profile, target))
    return tuple(out)


def _fits(*names: str) -> bool:
    return all(_NAME.fullmatch(n) for n in names)


def encode(pairs: tuple[tuple[str, str], ...] | None) -> str:
    """As a fact's value: "" for none, else ``=profile:target,…``."""
    return "" if pairs is None else "=" + ",".join(f"{p}:{t}" for p, t in pairs)


def decode(value: str | None) -> tuple[tuple[str, str], ...] | None:
    if not value:
        return None
    pairs = (item.split(":", 1) for item in value[1:].split(",") if ":" in item)
    return tuple((p, t) for p, t in pairs)
