"""Makes the ``workspace`` fixture (defined in ``e2e_support``) available here."""

from e2e_support import workspace

__all__ = ["workspace"]
