"""Regenerate ``_index.py``: ``python -m opsgate.classify.families``."""

from __future__ import annotations

from pathlib import Path

from opsgate.classify.families import render_index

Path(__file__).with_name("_index.py").write_text(render_index(), "utf-8")
