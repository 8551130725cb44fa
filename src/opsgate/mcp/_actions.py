"""Turn an agent's tool arguments into the ``Action`` the control plane decides.

All MCP input is hostile: sizes are bounded, names are allow-listed, and a target
becomes one argv word of an ``ssh``/``psql`` command built with ``shlex`` (never
string concatenation), so the classifier sees exactly what would run where, and
resolves the target's environment from the inventory like any other command.
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

from opsgate.errors import InputError
from opsgate.models import Action

__all__ = [
    "MAX_COMMAND",
    "MAX_CONTENT",
    "MAX_TEXT",
    "ActionKind",
    "build_action",
    "check_card_id",
    "check_target",
]

ActionKind = Literal["shell", "sql", "file_read", "file_write", "file_delete"]

MAX_COMMAND = 16 * 1024
MAX_CONTENT = 256 * 1024
MAX_TEXT = 4 * 1024  # reasoning, rollback, free text
MAX_PATH = 4096
# An inventory name or host: starts with a letter or digit (never "-", so it can
# never become an ssh/psql option), then host-ish characters.
_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:\-]{0,252}")
_CARD_ID = re.compile(r"c_[0-9a-f]{16}")


def check_target(target: str | None) -> str | None:
    if target is None or target == "":
        return None
    if not _TARGET.fullmatch(target):
        raise InputError(
            "target must be an inventory name or host name (letters, digits, . _ @ : -; "
            "not starting with '-'; at most 253 characters)",
            hint="call list_targets for the names opsgate knows",
        )
    return target


def check_card_id(card_id: str) -> str:
    if not _CARD_ID.fullmatch(card_id):
        raise InputError(
            "card_id looks like c_0123456789abcdef", hint="use the id a proposal returned"
        )
    return card_id


def _need(value: str | None, name: str, kind: str, limit: int) -> str:
    if value is None or not value.strip():
        raise InputError(f"a {kind} action needs {name}")
    if len(value) > limit:
        raise InputError(f"{name} is longer than {limit} characters")
    if "\x00" in value:
        raise InputError(f"{name} contains a NUL byte")
    return value


def build_action(
    kind: ActionKind,
    *,
    target: str | None = None,
    command: str | None = None,
    sql: str | None = None,
    path: str | None = None,
    content: str | None = None,
    session: str | None = None,
) -> Action:
    """The action as it would really run: a command on ``target`` over ssh, a query
    against ``target`` with psql, a file tool locally or over ssh."""
    host = check_target(target)
    if content is not None and len(content) > MAX_CONTENT:
        raise InputError(f"content is longer than {MAX_CONTENT} characters")
    if kind == "shell":
        text = _need(command, "command", kind, MAX_COMMAND)
        return _shell(shlex.join(["ssh", host, text]) if host else text, session)
    if kind == "sql":
        query = _need(sql, "sql", kind, MAX_COMMAND)
        if host is None:
            raise InputError("a sql action needs a target (the database's inventory name)")
        return _shell(shlex.join(["psql", "-h", host, "-c", query]), session)
    file_path = _need(path, "path", kind, MAX_PATH)
    if host is not None:
        verb = {"file_read": "cat", "file_write": "tee", "file_delete": "rm"}[kind]
        action = _shell(shlex.join(["ssh", host, shlex.join([verb, "--", file_path])]), session)
        if kind == "file_write":
            action.input["content"] = content or ""
        return action
    tool_input: dict[str, Any] = {"file_path": file_path}
    if kind == "file_read":
        return Action("file.read", "Read", tool_input, agent="mcp", session=session)
    if kind == "file_write":
        tool_input["content"] = content or ""
        return Action("file.write", "Write", tool_input, agent="mcp", session=session)
    return _shell(shlex.join(["rm", "--", file_path]), session)


def _shell(command: str, session: str | None) -> Action:
    return Action("shell.exec", "Bash", {"command": command}, agent="mcp", session=session)
