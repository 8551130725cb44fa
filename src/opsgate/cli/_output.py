"""How commands print results: aligned tables for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["cell", "print_json", "table"]


def cell(value: Any) -> str:
    """One table cell: yes/no for booleans, - for nothing, one line."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value).replace("\n", " ")


def table(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> None:
    """``columns``: (HEADER, key) pairs; every column but the last is padded to its
    widest cell, so the columns line up."""
    header = [title for title, _ in columns]
    lines = [[cell(row.get(key)) for _, key in columns] for row in rows]
    widths = [max(len(r[i]) for r in (header, *lines)) for i in range(len(columns))]
    for line in (header, *lines):
        padded = [text.ljust(width) for text, width in zip(line[:-1], widths, strict=False)]
        sys.stdout.write("  ".join([*padded, line[-1]]).rstrip() + "\n")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
