"""File tools and credentials files: reads through links, writes and edits.

A file tool's path is judged by its name and by where its symlinks lead, so a link
with an innocent name (``notes.txt -> ~/.aws/credentials``) is the file it points at.

Writing and editing a credentials file are stopped, differently (docs/classification.md):

* **Edit** (and MultiEdit, Gemini's ``replace``, Codex's patch updates) is a secret
  read, denied by safeguard 1: ``old_string`` must match the file, so the edit proves
  or probes the value, and the agent's tool answers with a snippet of the file.
* **Write** replaces the whole file with text the agent already has, so nothing leaks,
  but real credentials are lost or swapped: a write action, approved by a human.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from opsgate.classify.paths import is_secret_path
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = ["EDIT_TOOLS", "READ_TOOLS", "plain_config_write", "secret_file_finding"]

READ_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "read_file", "read", "NotebookRead"})
EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "NotebookEdit", "replace", "StrReplace"})


# Project configuration files that hold credentials only sometimes (an auth token line):
# writing one without such a line is ordinary configuration, not a credentials swap.
_SOMETIMES_SECRET = frozenset({".npmrc", ".yarnrc", ".yarnrc.yml", ".bunfig.toml", "pip.conf"})
_CREDENTIAL_KEY = re.compile(
    r"(?im)^\s*(?:[^=\n]*:)?_?(?:auth|authtoken|password|token|npmAuthToken|npmAuthIdent)\b"
)


def plain_config_write(tool: str, full: str, content: object, project: str | None) -> bool:
    """A Write of a project's own npm/yarn/pip configuration that names no credential."""
    if tool in READ_TOOLS or tool in EDIT_TOOLS or project is None or not isinstance(content, str):
        return False
    if not full.startswith(project.rstrip("/") + "/"):
        return False
    name = full.rsplit("/", 1)[-1]
    return name in _SOMETIMES_SECRET and _CREDENTIAL_KEY.search(content) is None


def secret_file_finding(
    tool: str, raw: str, full: str, real_path: Callable[[str], str]
) -> Finding | None:
    """The finding for ``tool`` on a credentials file (by name or through links, which
    ``real_path`` follows: the file source's), else None."""
    secret = full if is_secret_path(full) else None
    if secret is None and full.startswith("/"):
        real = real_path(full)
        secret = real if real != full and is_secret_path(real) else None
    if secret is None:
        return None
    via = "" if secret == full else f" (a link to {secret})"
    if tool in READ_TOOLS:
        reason = f"reads {raw}{via}, which holds credentials"
        return Finding("secrets.read", Impact.CAUTION, Effect.SECRET, raw[:200], reason, secret)
    if tool in EDIT_TOOLS:
        reason = (
            f"{tool} of {raw}{via}, a credentials file: the edit must match the secret value "
            "and the tool shows the file back"
        )
        return Finding("secrets.read", Impact.CAUTION, Effect.SECRET, raw[:200], reason, secret)
    reason = f"{tool} replaces {raw}{via}, a credentials file"
    return Finding(
        "secrets.write",
        Impact.CAUTION,
        Effect.WRITE,
        raw[:200],
        reason,
        secret,
        Environment.LOCAL,
        "agent workspace",
    )
