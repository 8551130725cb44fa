"""Command families as data tables.

Each module here exports ``HANDLERS: dict[str, Handler]`` mapping canonical
program names to a handler ``(Command, Context) -> list[Finding]``.  The shell
classifier looks a command's name up in the merged table; a name with no handler
is ordinary local work (builds, tests, scripts in the project).

Conventions every handler follows (see ``opsgate.models``):

* ``Effect.READ`` — no state change (get, list, describe, plan, logs). Impact SAFE.
* ``Effect.LOCAL`` — a change that stays inside the agent's own workspace
  (builds, package installs into the project, the local compose stack). Allowed.
* ``Effect.WRITE`` — a state change on infrastructure, in any environment, or a
  destructive action anywhere. Impact CAUTION (reversible: a restart, an apply,
  a scale) or DESTRUCTIVE (irreversible loss: delete, drop, destroy, purge).
* ``Effect.UNKNOWN`` — the handler cannot tell (an unrecognised subcommand of an
  infrastructure tool, a payload it cannot see).  Never auto-allowed. Impact CAUTION.
* ``Effect.SECRET`` — the action would disclose a secret value. Impact CAUTION.

``Finding.target`` names the remote thing acted on (cluster/context, host,
database URL, bucket, stack).  ``Finding.environment`` is set when the action
carries evidence (``--context prod-eu``, ``-n production``, ``--profile prod``,
``RAILS_ENV=production``), via ``ctx.environment_of(text)``.  A finding with a
target and no environment is treated as production (unknown remote target).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from opsgate.classify._command import Handler

__all__ = ["handlers"]

_MODULES = (
    "filesystem",
    "git",
    "secrets",
    "shells",
    "databases",
    "kubernetes",
    "containers",
    "iac",
    "cloud",
    "system",
    "packages",
    "deploy",
)

_TABLE: dict[str, Handler] | None = None


def handlers() -> Mapping[str, Handler]:
    """The merged name → handler table, built once per process."""
    global _TABLE
    if _TABLE is None:
        table: dict[str, Handler] = {}
        for name in _MODULES:
            try:
                module = importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise
                continue  # family not built yet
            table.update(module.HANDLERS)
        _TABLE = table
    return _TABLE
