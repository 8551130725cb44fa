"""Files that define the environment of later processes, and ``OPSGATE_*`` written into them.

An ``OPSGATE_*`` variable reaching the hook changes where it looks (``OPSGATE_HOME``)
or how it decides (``OPSGATE_HOOK_DAEMON``): written into a file that a shell, a
version manager or the agent itself loads, it reaches every later hook — guard
tampering (safeguard 6), by whatever route the text gets there: the Write tool, a
shell redirect, ``tee``.

Besides the shells' start-up files (``_guard``), these define an environment:
mise's ``[env]`` (``.mise.toml``, ``mise.toml``, ``.mise/config.toml``,
``~/.config/mise/config.toml``), asdf's ``.tool-versions``, direnv's ``.envrc`` and
``direnvrc``, and dotenv files (``.env``, ``.env.local``), which Gemini CLI loads into
its own environment (and so its hooks'), as mise, direnv's ``dotenv`` and Docker
Compose do for what they run.
"""

from __future__ import annotations

import re

from opsgate.classify._guard_tamper import tamper
from opsgate.models import Finding

__all__ = ["defines_env", "env_file_write", "names_opsgate_variable"]

_ENV_FILE = re.compile(
    r"(^|/)(\.?mise(\.[\w-]+)?\.toml|\.mise/config(\.[\w-]+)?\.toml|\.config/mise/[^/]+\.toml"
    r"|\.tool-versions|\.envrc|\.?direnvrc|\.env(\.[\w.-]+)?|[\w.-]+\.env|devbox\.json"
    r"|\.flox/env/[^/]+)$",
    re.IGNORECASE,
)
_OPSGATE_VARIABLE = re.compile(r"\bOPSGATE_[A-Z0-9_]+", re.IGNORECASE)


def defines_env(path: str) -> bool:
    """Whether the file at ``path`` sets variables for the processes started after it."""
    return _ENV_FILE.search(path.replace("\\", "/")) is not None


def names_opsgate_variable(text: str) -> bool:
    return "opsgate_" in text.lower() and _OPSGATE_VARIABLE.search(text) is not None


def env_file_write(target: str, written: str, evidence: str) -> list[Finding]:
    """The guard-tampering finding for ``written`` (the text a command puts into
    ``target``, or the command itself when the text is not known) when it names an
    ``OPSGATE_`` variable and ``target`` defines an environment."""
    if not names_opsgate_variable(written) or not defines_env(target):
        return []
    reason = f"writes an OPSGATE_ variable into {target}, which sets the environment of later hooks"
    return [tamper(evidence, reason, target)]
