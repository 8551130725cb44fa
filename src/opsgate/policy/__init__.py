"""Policy: settings, rules and inventory, and the decision pipeline."""

from __future__ import annotations

from opsgate.policy.engine import decide, decide_failure
from opsgate.policy.model import DEFAULT_POLICY, Policy, Rule, Settings

__all__ = ["DEFAULT_POLICY", "Policy", "Rule", "Settings", "decide", "decide_failure"]
