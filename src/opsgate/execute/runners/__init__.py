"""Runners: local process, SSH, PostgreSQL, HTTP — each behind ``runner.Runner``.

Imported lazily by the executor: a server that never runs SQL never imports
psycopg's async machinery, and ``asyncssh`` is an optional extra.
"""

from __future__ import annotations

__all__: list[str] = []
