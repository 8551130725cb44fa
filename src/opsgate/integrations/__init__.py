"""Agent integrations: installing opsgate's hook into each coding agent's
configuration, and proving (``opsgate doctor``) that the installed hook enforces.

Per-agent knowledge is data (``_agents``); ``config`` merges and writes files;
``doctor`` runs the installed hook as the agent would.
"""

from __future__ import annotations

from opsgate.integrations._agents import AGENTS, Agent, Event, agent_named

__all__ = ["AGENTS", "Agent", "Event", "agent_named"]
