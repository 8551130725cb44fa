"""The Python SDK: opsgate for custom agent loops (SPEC §9).  See docs/sdk.md.

from opsgate import Gate, ApprovalRequired

gate = Gate("https://opsgate.example", token)       # or Gate() from the environment

@gate.gated("systemctl restart {service}")
def restart(service: str) -> None: ...

try:
    restart("web")
except ApprovalRequired as needed:
    gate.wait_for(needed.card)      # blocks until a person decides
    restart("web")                  # runs once, on the approval's grant
"""

from __future__ import annotations

from opsgate.sdk._gate import ActionLike, Gate, Guarded
from opsgate.sdk._types import (
    ActionDenied,
    Answer,
    ApprovalRequired,
    CardInfo,
    CardTimeout,
    GateUnavailable,
    NotAllowed,
)

__all__ = [
    "ActionDenied",
    "ActionLike",
    "Answer",
    "ApprovalRequired",
    "CardInfo",
    "CardTimeout",
    "Gate",
    "GateUnavailable",
    "Guarded",
    "NotAllowed",
]
