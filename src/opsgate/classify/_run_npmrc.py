"""npm's settings from ``.npmrc`` that run code with every script.

``node-options=--require ./.hooks/pre.js`` in the project's ``.npmrc`` loads that
file into every node process a script starts (``npm test`` running ``node --test``);
``script-shell=./scripts/sh`` makes npm run every script through that program.  They
are the same settings as ``npm_config_node_options`` / ``npm_config_script_shell``
in the environment, and are judged the same way (``_exec_options``).  The project's
``.npmrc`` (beside its package.json) and the user's (``$NPM_CONFIG_USERCONFIG``, else
``~/.npmrc``) are read where they are, like a dotenv file (``_files``): only these
keys are kept, as a fact, never a token the file holds.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._shell_nodes import unknown
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["MAX_BYTES", "decode", "encode", "npmrc_findings", "program_settings"]

MAX_BYTES = 64 * 1024

# .npmrc keys (any case, ``_`` or ``-``) and the environment names npm reads them as.
_KEYS = {"node-options": "npm_config_node_options", "script-shell": "npm_config_script_shell",
         "shell": "npm_config_shell", "onload-script": "npm_config_onload_script"}  # fmt: skip
_LINE = re.compile(r"^\s*([\w.-]+)\s*=\s*(.*?)\s*$")


def npmrc_findings(cmd: Command, w: Walker, project: str | None) -> list[Finding]:
    """What the ``.npmrc`` settings of ``project`` (its directory) and of the user make
    the scripts ``cmd`` runs do."""
    settings: dict[str, str] = {}
    user = cmd.env.get("NPM_CONFIG_USERCONFIG") or posixpath.join(w.workspace.home, ".npmrc")
    for path in (user, posixpath.join(project, ".npmrc") if project else None):
        full = w.workspace.expand(path, cmd.cwd) if path is not None else None
        if full is None or w.session.file_kind(full) in (None, "dir"):
            continue
        note = w.scope.files.get(full)
        if note is not None and (note.untrusted or note.text is None):
            why = f"{path} is written by this command with settings opsgate cannot read"
            return [unknown(why, cmd.text)]
        if note is not None:  # written earlier in this command: its text is known
            settings.update(program_settings(note.text or ""))
            continue
        settings.update(w.session.files.npmrc_programs(full))  # the project's wins
    env = {_KEYS[k]: v for k, v in settings.items() if k not in _given(cmd)}
    if not env:
        return []
    from opsgate.classify._exec_options import exec_findings

    return exec_findings(Command(cmd.name, cmd.args, cmd.text, env, cwd=cmd.cwd), w)


def _given(cmd: Command) -> set[str]:
    """Keys the command line or the environment sets itself (judged there)."""
    given = {k for k, v in _KEYS.items() if any(e.lower() == v for e in cmd.env)}
    return given | {k for k in _KEYS if cmd.option(f"--{k}") is not None}


def program_settings(text: str) -> dict[str, str]:
    """The settings of an ``.npmrc`` text that name code npm runs."""
    found: dict[str, str] = {}
    for line in text.splitlines()[:4096]:
        match = _LINE.match(line)
        if match is None or line.lstrip().startswith((";", "#")):
            continue
        key = match.group(1).lower().replace("_", "-")
        if key in _KEYS:
            found[key] = match.group(2).strip("\"'")[:1000]
    return found


def encode(settings: dict[str, str] | None) -> str:
    """As a fact's value (JSON)."""
    return json.dumps(settings or {}, sort_keys=True)


def decode(value: str | None) -> dict[str, str]:
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in _KEYS and isinstance(v, str)}
