"""Programs cargo runs because its configuration names them.

``.cargo/config.toml`` (in the working directory and every directory above it, then
``$CARGO_HOME/config.toml``), ``--config KEY=VALUE`` and ``CARGO_*``/``RUSTC_*``
variables can make cargo run any program: a target's ``runner`` (every ``cargo run``
and ``cargo test`` binary is handed to it), a ``linker``, ``build.rustc``,
``build.rustc-wrapper``.  A ``.cargo/config.toml`` with ``runner = "./x.sh"`` turns
``cargo test`` into ``./x.sh``; each such program is judged as the command it is (a
script by path is read), so ``sccache``, ``mold`` or ``qemu-aarch64`` pass.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opsgate.classify._command import Command
from opsgate.classify._run_files import load, parse_once, toml_or_none
from opsgate.models import Finding

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["cargo_config_programs"]

_BUILD_KEYS = ("rustc", "rustc-wrapper", "rustc-workspace-wrapper", "rustdoc")
_TARGET_KEYS = ("runner", "linker")
_ENV = re.compile(
    r"^(CARGO_TARGET_\w+_(RUNNER|LINKER)|RUSTC|RUSTC_WRAPPER|RUSTC_WORKSPACE_WRAPPER|RUSTDOC|"
    r"CARGO_BUILD_RUSTC(_WRAPPER|_WORKSPACE_WRAPPER)?|CARGO_BUILD_RUSTDOC)$"
)
_MAX_DEPTH = 16


def cargo_config_programs(cmd: Command, w: Walker, start: str) -> list[Finding]:
    """The findings of the programs cargo's configuration makes ``cmd`` run."""
    programs: list[tuple[str, str]] = []
    for key, value in cmd.env.items():
        if _ENV.match(key) and value.strip():
            programs.append((key, value))
    for given in cmd.options("--config"):
        programs += _from_inline(given)
    for path in _config_files(w, start, cmd.env):
        loaded = load(w, path, None)
        if loaded.text is not None:
            programs += _from_table(parse_once("toml", loaded.text, toml_or_none), loaded.shown)
    findings: list[Finding] = []
    for where, program in programs:
        findings += w.classify_shell(program, via=f"cargo's {where}", cwd=start)
    return findings


def _config_files(w: Walker, start: str, env: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    directory = start
    for _ in range(_MAX_DEPTH):
        for name in ("config.toml", "config"):
            out.append(posixpath.join(directory, ".cargo", name))
        parent = posixpath.dirname(directory)
        if parent == directory:
            break
        directory = parent
    home = env.get("CARGO_HOME") or (
        posixpath.join(w.workspace.home, ".cargo") if w.workspace.home else None
    )
    if home:
        out += [posixpath.join(home, "config.toml"), posixpath.join(home, "config")]
    return out


def _from_inline(given: str) -> list[tuple[str, str]]:
    """``--config 'target.x86_64-unknown-linux-gnu.runner="./x"'`` (a file path is
    rare and read like the others would be; not followed here)."""
    if "=" not in given:
        return []
    return _from_table(toml_or_none(given), "--config")


def _from_table(data: object, shown: str) -> list[tuple[str, str]]:
    if not isinstance(data, dict):
        return []
    out: list[tuple[str, str]] = []
    build = data.get("build")
    if isinstance(build, dict):
        for key in _BUILD_KEYS:
            out += _program(build.get(key), f"build.{key} in {shown}")
    for section in ("target", "host"):
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        entries = (
            [table] if section == "host" else [v for v in table.values() if isinstance(v, dict)]
        )
        for entry in entries:
            for key in _TARGET_KEYS:
                out += _program(entry.get(key), f"{section} {key} in {shown}")
    return out


def _program(value: object, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str) and value.strip():
        return [(where, value)]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [(where, shlex.join(value))]
    if isinstance(value, dict):  # ``runner = { path = "x", args = [...] }``
        return _program(value.get("path"), where)
    return []
