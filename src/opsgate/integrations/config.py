"""Reading, merging and writing an agent's hook configuration file.

Install and uninstall are computed as a :class:`Change` (text before and after), so
``--dry-run`` shows exactly the diff that a real run writes.  opsgate recognises its
own entries by their command (``…/opsgate-hook-fast <agent>``, ``…/opsgate-hook
<agent>`` or ``opsgate hook <agent>``), never by position, so re-running install is
a no-op, an outdated entry is updated in place, and uninstall removes only what
opsgate added.
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsgate.errors import EXIT_BAD_CONFIG, OpsgateError
from opsgate.integrations._agents import Agent, Event

__all__ = [
    "AgentConfigError",
    "Change",
    "Found",
    "Scope",
    "apply",
    "config_path",
    "dump_like",
    "find_ours",
    "hook_command",
    "is_ours",
    "load",
    "plan_install",
    "plan_uninstall",
]

Scope = Literal["project", "user"]
BACKUP_SUFFIX = ".opsgate-backup"


class AgentConfigError(OpsgateError):
    """An agent configuration file opsgate cannot safely read or rewrite."""

    code = "bad_agent_config"
    exit_code = EXIT_BAD_CONFIG


def config_path(
    agent: Agent,
    scope: Scope,
    *,
    project: Path,
    home: Path,
    env: Mapping[str, str] | None = None,
) -> Path:
    if scope == "project":
        return project / agent.project_file
    return agent.user_path(agent.user_file, home, os.environ if env is None else env)


# --- the hook command -------------------------------------------------------------


def hook_command(agent: Agent, launcher: Path | None = None, *, fast: bool = True) -> str:
    """The shell command the agent runs: an absolute path, shell-quoted.  The C client
    (``opsgate-hook-fast``) when ``fast`` and it builds here, else the Python
    launcher: the client falls back to that same launcher whenever the resident
    service cannot answer, so both decide identically."""
    if launcher is None:
        launcher = (_fast_client() if fast else None) or _find_launcher()
    if launcher.name == "opsgate":
        return f"{shlex.quote(str(launcher))} hook {agent.name}"
    return f"{shlex.quote(str(launcher))} {agent.name}"


def _fast_client() -> Path | None:
    """Build (or reuse) ``$OPSGATE_HOME/bin/opsgate-hook-fast``; None without a working
    compiler or when ``OPSGATE_HOOK_BUILD_CLIENT=0`` — the launcher is then written."""
    from opsgate.config import current

    if not current().boolean("hook.build_client"):
        return None
    import subprocess

    from opsgate.hooks._native import build

    try:
        built = build()
    except (OSError, ValueError, subprocess.SubprocessError):
        return None  # a failed compile, a read-only home, a path C cannot embed
    if built is None or not os.access(built, os.X_OK):
        return None
    return built.absolute()


def _find_launcher() -> Path:
    """The lean ``opsgate-hook`` launcher installed beside this Python (pyproject
    ``script-files``), else beside ``opsgate``, else ``opsgate`` itself.  Not
    resolved through symlinks: a venv's ``bin/`` path is the stable one."""
    here = Path(sys.executable).parent
    for name in ("opsgate-hook", "opsgate"):
        candidate = here / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    for name in ("opsgate-hook", "opsgate"):
        found = shutil.which(name)
        if found:
            return Path(found).absolute()
    raise AgentConfigError(
        "cannot find the opsgate-hook launcher or the opsgate executable",
        hint="install opsgate (pip install opsgate) so that opsgate-hook is on PATH",
    )


_OURS = ("opsgate-hook", "opsgate-hook-fast")  # program names followed by the agent


def is_ours(command: object) -> bool:
    """Whether a hook command runs opsgate's hook (any path, any agent): the C client
    ``…/opsgate-hook-fast <agent>``, the launcher ``…/opsgate-hook <agent>`` or
    ``…/opsgate hook <agent>``."""
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if not words:
        return False
    program = Path(words[0]).name
    if program in _OURS:
        return len(words) >= 2
    return program == "opsgate" and len(words) >= 3 and words[1] == "hook"


# --- reading ----------------------------------------------------------------------


def load(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it does not exist.  Anything opsgate could not
    rewrite faithfully (invalid JSON, comments, a non-object) is an error."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentConfigError(f"cannot read {path}: {exc}") from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AgentConfigError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
            "opsgate left the file untouched",
            hint="fix the file (comments and trailing commas are not JSON), then run again",
        ) from exc
    if not isinstance(data, dict):
        raise AgentConfigError(
            f"{path}: expected a JSON object at the top, found {_kind(data)}; "
            "opsgate left the file untouched"
        )
    return data


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a value"


def _hooks_table(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    hooks = doc.get("hooks", {})
    if not isinstance(hooks, dict):
        raise AgentConfigError(
            f'{path}: "hooks" is {_kind(hooks)}, expected an object; '
            "opsgate left the file untouched"
        )
    for event, items in hooks.items():
        if not isinstance(items, list):
            raise AgentConfigError(
                f'{path}: "hooks.{event}" is {_kind(items)}, expected an array; '
                "opsgate left the file untouched"
            )
    return hooks


@dataclass(frozen=True)
class Found:
    """One opsgate hook entry found in a configuration file."""

    event: str
    matcher: str | None
    entry: dict[str, Any]
    command: str


def find_ours(agent: Agent, path: Path, doc: dict[str, Any]) -> list[Found]:
    hooks = _hooks_table(path, doc)
    found = []
    for event, items in hooks.items():
        for matcher, entry in _entries(agent, items):
            command = entry.get(agent.command_key)
            if is_ours(command):
                found.append(Found(event, matcher, entry, str(command)))
    return found


def _entries(agent: Agent, items: list[Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    for item in items:
        if not isinstance(item, dict):
            continue
        if agent.layout == "flat":
            yield _matcher(item), item
            continue
        inner = item.get("hooks")
        for entry in inner if isinstance(inner, list) else ():
            if isinstance(entry, dict):
                yield _matcher(item), entry


def _matcher(item: dict[str, Any]) -> str | None:
    value = item.get("matcher")
    return value if isinstance(value, str) else None


# --- planning ---------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A file's text before and after (None: absent / to be deleted)."""

    path: Path
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            (self.after or "").splitlines(keepends=True),
            fromfile=str(self.path) if self.before is not None else "/dev/null",
            tofile=str(self.path) if self.after is not None else "/dev/null",
        )
        return "".join(lines)


def dump_like(doc: dict[str, Any], like: str | None = None) -> str:
    """Pretty JSON, indented the way the existing file is (so that the diff shows
    opsgate's change, not a reformatting of the user's file)."""
    return json.dumps(doc, indent=_indent(like), ensure_ascii=False) + "\n"


_dump = dump_like


def _indent(text: str | None) -> str | int:
    for line in (text or "").splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            return line[: len(line) - len(stripped)]
    return 2


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        return None


def _entry(agent: Agent, command: str) -> dict[str, Any]:
    return {
        **agent.entry_extra,
        agent.command_key: command,
        agent.timeout_key: agent.timeout,
        **agent.fail_closed,
    }


def _desired(agent: Agent, event: Event, command: str) -> dict[str, Any]:
    entry = _entry(agent, command)
    if agent.layout == "flat":
        return {**entry, "matcher": event.matcher} if event.matcher else entry
    group: dict[str, Any] = {"matcher": event.matcher} if event.matcher else {}
    return {**group, "hooks": [entry]}


def _without_ours(agent: Agent, item: Any) -> tuple[Any, bool]:
    """``item`` minus opsgate's entries (None if nothing is left), and whether any
    were removed."""
    if not isinstance(item, dict):
        return item, False
    if agent.layout == "flat":
        if is_ours(item.get(agent.command_key)):
            return None, True
        return item, False
    inner = item.get("hooks")
    if not isinstance(inner, list):
        return item, False
    kept = [e for e in inner if not (isinstance(e, dict) and is_ours(e.get(agent.command_key)))]
    if len(kept) == len(inner):
        return item, False
    return ({**item, "hooks": kept} if kept else None), True


def _merge_event(agent: Agent, items: list[Any], desired: dict[str, Any] | None) -> list[Any]:
    """Replace opsgate's first entry in place with ``desired`` (or append it), and
    drop any other opsgate entries; everything else keeps its place."""
    merged: list[Any] = []
    placed = desired is None
    for item in items:
        rest, had_ours = _without_ours(agent, item)
        if had_ours and not placed:
            merged.append(desired)
            placed = True
        if rest is not None:
            merged.append(rest)
    if not placed:
        merged.append(desired)
    return merged


def plan_install(agent: Agent, path: Path, command: str) -> Change:
    before = _read_text(path)
    doc = load(path) or {}
    original = json.loads(json.dumps(doc))
    hooks = _hooks_table(path, doc)
    for key, value in agent.file_extra.items():
        doc.setdefault(key, value)
    for event in agent.events:
        hooks[event.name] = _merge_event(
            agent, hooks.get(event.name, []), _desired(agent, event, command)
        )
    doc["hooks"] = hooks
    if doc == original:
        return Change(path, before, before)
    return Change(path, before, _dump(doc, before))


def plan_uninstall(agent: Agent, path: Path) -> Change:
    before = _read_text(path)
    doc = load(path)
    if doc is None:
        return Change(path, None, None)
    original = json.loads(json.dumps(doc))
    hooks = _hooks_table(path, doc)
    for name in list(hooks):
        kept = _merge_event(agent, hooks[name], None)
        if kept:
            hooks[name] = kept
        else:
            del hooks[name]
    if doc == original:
        return Change(path, before, before)
    if not hooks:
        del doc["hooks"]
    # A file that only ever held opsgate's hooks goes away entirely.
    if all(doc.get(k) == v for k, v in agent.file_extra.items()) and set(doc) <= set(
        agent.file_extra
    ):
        return Change(path, before, None)
    return Change(path, before, _dump(doc, before))


# --- writing ----------------------------------------------------------------------


def apply(change: Change) -> Path | None:
    """Write ``change`` atomically, keeping the previous file as a backup beside it.
    Returns the backup's path (None when there was no previous file)."""
    if not change.changed:
        return None
    target = change.path.resolve() if change.path.is_symlink() else change.path
    backup = None
    if target.exists():
        backup = target.with_name(target.name + BACKUP_SUFFIX)
        shutil.copy2(target, backup)
    if change.after is None:
        target.unlink()
        return backup
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o7777 if target.exists() else _default_mode()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(change.after)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
