"""Store errors: driver errors never reach a user (STYLE rule 6)."""

from __future__ import annotations

from opsgate.errors import EXIT_STORE_UNAVAILABLE, OpsgateError

__all__ = ["StoreError"]


class StoreError(OpsgateError):
    """The control plane's database cannot be opened, migrated or written."""

    code = "store_unavailable"
    exit_code = EXIT_STORE_UNAVAILABLE
