"""opsgate: the control layer between AI agents and infrastructure."""

__version__ = "0.1.0"
__all__ = ["__version__"]
