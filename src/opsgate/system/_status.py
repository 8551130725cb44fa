"""Whether an agent's guard is out of reach of the agent's own user (``opsgate doctor``).

Protected means all of: the root-owned protected-mode configuration exists; opsgate's
hook is in the agent's managed configuration, which only root can change, and runs a
root-owned program; nothing in that file switches hooks off; the data directory is
the service user's alone; the socket directory is writable by nobody else; the agent
itself offers its users no way around its managed hooks.  Anything less is
tamperable by the agent's own user, and the report says which part and how to fix it.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsgate.hooks._client import SystemConfigError, read_system_config
from opsgate.integrations import agent_named
from opsgate.integrations.config import AgentConfigError, find_ours
from opsgate.system._checks import untrusted_reason
from opsgate.system._layout import Layout
from opsgate.system._managed import Managed, load_managed, managed_for

__all__ = ["Finding", "Protection", "protection"]


@dataclass(frozen=True)
class Finding:
    ok: bool
    text: str
    fix: str | None = None


@dataclass(frozen=True)
class Protection:
    agent: str
    findings: tuple[Finding, ...]
    managed_file: Path | None = None  # where opsgate's managed hook is, when it is
    data_dir: Path | None = None  # the service's data directory, when set up

    @property
    def protected(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)


def protection(agent: str, layout: Layout, home: Path) -> Protection:
    row = managed_for(agent)
    fix = f"sudo opsgate install {row.agent} --system"
    try:
        config = read_system_config(str(layout.config))
        uid, data = int(config["service_uid"]), Path(config["data_dir"])
        run = Path(config["socket"]).parent
    except (SystemConfigError, KeyError, ValueError) as exc:
        return Protection(
            row.agent, (Finding(False, f"protected mode is not set up ({exc})", fix),)
        )
    path = layout.path(row.path)
    findings, installed = _managed_hook(row, path, layout, fix)
    findings += [
        _owned(data, uid, "the data directory", f"chown -R {config.get('service_user')} {data}"),
        _not_writable(run, uid, "the socket directory", fix),
        *_intrinsic(row, home),
    ]
    if os.getuid() == uid:
        findings.append(Finding(False, "you are running as the service user: agents must not", fix))
    return Protection(row.agent, tuple(findings), path if installed else None, data)


def _managed_hook(row: Managed, path: Path, layout: Layout, fix: str) -> tuple[list[Finding], bool]:
    """Findings about opsgate's entry in the managed file, and whether it is there."""
    try:
        doc = load_managed(row, path)
    except AgentConfigError as exc:
        return [Finding(False, exc.message, fix)], False
    ours = find_ours(agent_named(row.agent), path, doc) if doc is not None else []
    if not ours:
        return [
            Finding(False, f"opsgate's hook is not in the managed configuration {path}", fix)
        ], False
    findings = [Finding(True, f"hook in the managed configuration {path}")]
    reason = untrusted_reason(path)
    if reason:
        findings.append(Finding(False, f"{path} could be changed: {reason}", fix))
    for command in dict.fromkeys(f.command for f in ours):
        findings.append(_program(command, layout, fix))
    findings += _off_switches(row, path, doc or {}, fix)
    return findings, True


def _program(command: str, layout: Layout, fix: str) -> Finding:
    try:
        program = Path(shlex.split(command)[0])
    except (ValueError, IndexError):
        return Finding(False, f"cannot parse the managed hook command {command!r}", fix)
    if program.parent != layout.lib:
        return Finding(
            False, f"the managed hook runs {program}, not opsgate's protected client", fix
        )
    reason = untrusted_reason(program)
    if reason:
        return Finding(False, f"the hook program could be replaced: {reason}", fix)
    return Finding(True, f"the hook program {program} is root's alone")


def _off_switches(row: Managed, path: Path, doc: dict[str, Any], fix: str) -> list[Finding]:
    findings = []
    for keys, value in row.off_switches:
        found = _dig(doc, keys)
        setting = ".".join(keys)
        if found == value and type(found) is type(value):
            findings.append(Finding(False, f"{path} sets {setting} = {json.dumps(value)}", fix))
        elif row.form == "toml-block" and found is not True:
            findings.append(Finding(False, f"{path} does not pin {setting} = true", fix))
    return findings


def _dig(doc: object, keys: tuple[str, ...]) -> object:
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _owned(path: Path, uid: int, what: str, fix: str) -> Finding:
    try:
        st = path.stat()
    except OSError as exc:
        return Finding(False, f"{what} {path}: {exc.strerror}", fix)
    if st.st_uid != uid or st.st_mode & 0o077:
        return Finding(False, f"{what} {path} is not the service user's alone", fix)
    return Finding(True, f"{what} {path} belongs to the service user alone (0700)")


def _not_writable(path: Path, uid: int, what: str, fix: str) -> Finding:
    reason = untrusted_reason(path, owners=(0, uid))
    if reason:
        return Finding(False, f"{what} could be replaced: {reason}", fix)
    return Finding(True, f"{what} {path} is writable by root and the service user only")


def _intrinsic(row: Managed, home: Path) -> list[Finding]:
    """What the agent itself lets its users do about managed hooks."""
    if row.protected:
        return []
    findings = [Finding(False, f"{row.agent}: {' '.join(row.caveats)}", "none in the agent itself")]
    settings = home / ".gemini" / "settings.json"
    try:
        disabled = _dig(json.loads(settings.read_text("utf-8")), ("hooksConfig", "disabled"))
    except (OSError, ValueError):
        disabled = None
    if isinstance(disabled, list) and disabled:
        listed = ", ".join(map(str, disabled))
        fix = f"remove hooksConfig.disabled from {settings}"
        findings.append(Finding(False, f"{settings} disables hooks: {listed}", fix))
    return findings
