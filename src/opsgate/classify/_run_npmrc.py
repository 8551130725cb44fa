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
from opsgate.classify.families._network_addresses import url_host
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["MAX_BYTES", "decode", "encode", "npmrc_findings", "program_settings", "registry_hosts"]

MAX_BYTES = 64 * 1024

# .npmrc keys (any case, ``_`` or ``-``) and the environment names npm reads them as.
_KEYS = {"node-options": "npm_config_node_options", "script-shell": "npm_config_script_shell",
         "shell": "npm_config_shell", "onload-script": "npm_config_onload_script"}  # fmt: skip
_LINE = re.compile(r"^\s*([\w.@:/-]+)\s*=\s*(.*?)\s*$")


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
    env = {_KEYS[k]: v for k, v in settings.items() if k in _KEYS and k not in _given(cmd)}
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
        value = match.group(2).strip("\"'")[:1000]
        if key in _KEYS:
            found[key] = value
        elif _registry_key(key):  # only the host: a URL may carry a password
            found[key] = (url_host(value) or "").lower()
    return found


def _registry_key(key: str) -> bool:
    """``registry``, ``@scope:registry``: where npm installs packages from."""
    return key == "registry" or key.endswith(":registry")


def registry_hosts(w: Walker, cmd: Command, project: str | None) -> frozenset[str]:
    """The hosts of the registries the user's and the project's ``.npmrc`` name, as
    they were before this command (a file it writes is no configuration)."""
    user = cmd.env.get("NPM_CONFIG_USERCONFIG") or posixpath.join(w.workspace.home, ".npmrc")
    hosts: set[str] = set()
    for path in (user, posixpath.join(project, ".npmrc") if project else None):
        full = w.workspace.expand(path, cmd.cwd) if path is not None else None
        if full is None or full in w.scope.files or w.session.file_kind(full) in (None, "dir"):
            continue
        settings = w.session.files.npmrc_programs(full)
        hosts |= {v for k, v in settings.items() if _registry_key(k) and v}
    return frozenset(hosts)


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
    return {
        k: v for k, v in data.items() if (k in _KEYS or _registry_key(k)) and isinstance(v, str)
    }
