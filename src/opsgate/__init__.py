"""opsgate: the control layer between AI agents and infrastructure.

The public Python API is the SDK (``opsgate.Gate`` and its answers and errors; see
docs/sdk.md), loaded on first use: the agent hook imports this package on every
tool call and must not pay for it.
"""

__version__ = "0.1.0"
__all__ = [
    "ActionDenied",
    "Answer",
    "ApprovalRequired",
    "CardInfo",
    "CardTimeout",
    "Gate",
    "GateUnavailable",
    "NotAllowed",
    "__version__",
]

TYPE_CHECKING = False  # not `from typing import …`: the hook path must not import typing
if TYPE_CHECKING:
    from opsgate.sdk import (
        ActionDenied,
        Answer,
        ApprovalRequired,
        CardInfo,
        CardTimeout,
        Gate,
        GateUnavailable,
        NotAllowed,
    )


def __getattr__(name: str) -> object:
    if name in __all__ and name != "__version__":
        from opsgate import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'opsgate' has no attribute {name!r}")
