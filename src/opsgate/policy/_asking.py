"""Which approvals may be left to the agent's own confirmation prompt (SPEC §4, hook
mode) — and which never may, in any mode.

An agent can word its way past a prompt that a tired person clicks through, so some
classes of change always go to an opsgate approval card (or a plain deny when no
control plane is connected), never to the agent's ``ask``: anything touching the
guard itself, persistence, code fetched from the network into an interpreter, and
state changes on infrastructure in any environment.  The agent's prompt is only for
local caution actions in its own workspace.  This module is the one place that
decides it; the classes are data.
"""

from __future__ import annotations

from opsgate.models import Classification, Effect, Environment

__all__ = ["NEVER_ASK", "never_ask"]

# (class, category prefixes).  A write finding in any of these categories puts the
# whole action in that class.
NEVER_ASK: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("a change to the guard itself (safeguard 6)", ("guard.",)),
    (
        "persistence outside the workspace (start-up files, git hooks and "
        "core.hooksPath, cron, services, authorized_keys, system files)",
        (
            "filesystem.protected_write",
            "filesystem.write_protected",
            "filesystem.write_outside",
            "filesystem.permissions",
            "vcs.config_exec",
            "host.",
            "scheduler.",
            "service.",
            "system.",
            "kernel.",
            "security.",
            "firewall.",
            "disk.",
            "package.global",
            "package.system",
            "package.config",
            "package.registry",
            "process.inject",
        ),
    ),
    (
        "code fetched from the network or decoded at run time, run by an interpreter",
        (
            "network.fetch_exec",
            "evasion.decode_exec",
            "network.reverse_shell",
            "network.connection",
        ),
    ),
    (
        "a state change on infrastructure",
        (
            "kubernetes.",
            "cloud.",
            "iac.",
            "database.",
            "mongo.",
            "redis.",
            "datastore.",
            "broker.",
            "deploy.",
            "containers.",
            "registry.",
            "release.",
            "backup.",
            "logs.",
            "network.",
            "vcs.push",
            "vcs.force_push",
            "vcs.forge",
            "vcs.pull_request",
            "vcs.tag_delete",
            "package.publish",
            "secrets.write",
            "mcp.",
            "platform.",
        ),
    ),
)
_PREFIXES = tuple(p for _, prefixes in NEVER_ASK for p in prefixes)
_WRITES = (Effect.WRITE, Effect.UNKNOWN)
# A payload the classifier cannot model, in an action that also fetches from the
# network (``sh -c "$(curl …)"``, ``eval "$(curl …)"``): treated as fetched code.
_FETCH = ("network.request", "network.read", "network.download")


def never_ask(c: Classification) -> str | None:
    """Why this action may never be approved through the agent's own prompt, or None
    when it is a local caution action in the agent's workspace."""
    categories = [f.category for f in c.findings if f.effect in _WRITES]
    if any(category.startswith(_PREFIXES) for category in categories):
        # The first class in the table's order names it (the guard before persistence …).
        for label, prefixes in NEVER_ASK:
            if any(category.startswith(prefixes) for category in categories):
                return label
    if c.unknown and any(f.category.startswith(_FETCH) for f in c.findings):
        return NEVER_ASK[2][0]
    if c.environment is not Environment.LOCAL:
        return f"a state change on infrastructure ({c.environment.label}: {c.env_source})"
    return None
