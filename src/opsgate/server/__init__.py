"""The HTTP API of the control plane (FastAPI on uvicorn).

Imported only by ``opsgate serve`` and tests: nothing on the hook's path imports
this package.
"""

from __future__ import annotations

from opsgate.server.app import AppConfig, create_app

__all__ = ["AppConfig", "create_app"]
