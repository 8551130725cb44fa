"""Where the guard lives (SPEC §4, safeguard 6), as data: opsgate's own files and
programs, and every supported agent's hook configuration at user, project and
managed level.  A change to any of these can switch the guard off, so the policy
engine denies it outright.

Sources for the agents' files: Claude Code "Settings" (user, project, local and
managed settings, ``/etc/claude-code``); Codex "Config basics" and "Managed
configuration" (``~/.codex/config.toml``, ``hooks.json``, ``/etc/codex``); Gemini
CLI ``docs/reference/configuration.md`` (``/etc/gemini-cli``); Cursor "Hooks"
(``/etc/cursor/hooks.json``); GitHub Copilot CLI "Hooks reference"
(``.github/hooks/*.json``, ``~/.copilot/hooks``, ``~/.copilot/settings.json``).
``integrations/_agents.py`` says where opsgate installs itself; a test checks that
every one of those files is named here.

Reading these files stays allowed (the key files are secrets, judged elsewhere).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import sys

__all__ = [
    "dynamic_roots",
    "guard_path",
    "guard_path_in",
    "may_be_guard_path",
    "mentions_guard_path",
    "normalise",
    "obey",
]

# Path pieces that name a guard file or directory wherever they appear: an agent's
# settings are read from the project, from the home directory and (Windows) from
# ``C:\Users\…``, so a suffix match covers all three.  Matched case-insensitively.
_ANYWHERE: tuple[tuple[str, str], ...] = (
    ("/.opsgate", "opsgate's data directory"),
    ("/.config/opsgate", "opsgate's configuration"),
    ("/.claude/settings.json", "Claude Code's hook settings"),
    ("/.claude/settings.local.json", "Claude Code's hook settings"),
    ("/.claude/hooks", "Claude Code's hook scripts"),
    ("/.claude/plugins", "Claude Code's plugins, which can carry hooks"),
    ("/.codex/config.toml", "Codex CLI's configuration (hooks switch)"),
    ("/.codex/hooks.json", "Codex CLI's hook settings"),
    ("/.codex/hooks", "Codex CLI's hook scripts"),
    ("/.codex/plugins", "Codex CLI's plugins, which can carry hooks"),
    ("/.gemini/settings.json", "Gemini CLI's hook settings"),
    ("/.gemini/extensions", "Gemini CLI's extensions, which can carry hooks"),
    ("/.cursor/hooks.json", "Cursor's hook settings"),
    ("/.cursor/hooks", "Cursor's hook scripts"),
    ("/.copilot/hooks", "Copilot CLI's hook settings"),
    ("/.copilot/settings.json", "Copilot CLI's settings (inline hooks)"),
    ("/.copilot/config.json", "Copilot CLI's configuration"),
    ("/.copilot/installed-plugins", "Copilot CLI's plugins, which can carry hooks"),
    ("/.github/hooks", "Copilot CLI's repository hooks"),
    ("/.github/copilot/settings.json", "Copilot CLI's repository settings (inline hooks)"),
    ("/.github/copilot/settings.local.json", "Copilot CLI's repository settings"),
)
# Directories that hold several of the files above: removing or moving the whole
# directory removes the hook configuration with it (creating one changes nothing,
# so these count only for deletions and moves: ``whole_dirs``).
_CONTAINERS: tuple[tuple[str, str], ...] = (
    ("/.claude", "Claude Code's settings directory"),
    ("/.codex", "Codex CLI's settings directory"),
    ("/.gemini", "Gemini CLI's settings directory"),
    ("/.cursor", "Cursor's settings directory"),
    ("/.copilot", "Copilot CLI's settings directory"),
)
# Machine-wide places: opsgate's protected mode and each agent's managed settings.
_SYSTEM: tuple[tuple[str, str], ...] = (
    ("/etc/opsgate", "opsgate's system configuration"),
    ("/var/lib/opsgate", "opsgate's system data directory"),
    ("/run/opsgate", "opsgate's service socket"),
    ("/var/run/opsgate", "opsgate's service socket"),
    ("/opt/opsgate", "opsgate's installation"),
    ("/usr/local/lib/opsgate", "protected mode's hook programs"),
    ("/etc/github-copilot/policy.d", "Copilot CLI's system hooks"),
    ("/etc/claude-code", "Claude Code's managed settings"),
    ("/library/application support/claudecode", "Claude Code's managed settings"),
    ("c:/programdata/claudecode", "Claude Code's managed settings"),
    ("c:/program files/claudecode", "Claude Code's managed settings"),
    ("/etc/codex", "Codex CLI's system configuration and requirements"),
    ("/etc/gemini-cli", "Gemini CLI's system settings"),
    ("/library/application support/geminicli", "Gemini CLI's system settings"),
    ("c:/programdata/gemini-cli", "Gemini CLI's system settings"),
    ("/etc/cursor/hooks.json", "Cursor's system hooks"),
    ("/library/application support/cursor/hooks.json", "Cursor's system hooks"),
    ("c:/programdata/cursor/hooks.json", "Cursor's system hooks"),
)
# opsgate's programs and service units, by file name, in these directories.
_PROGRAMS = frozenset({"opsgate", "opsgate-hook", "opsgate-hook-fast"})
_UNIT_DIRS = (
    "/etc/systemd/system/",
    "/lib/systemd/system/",
    "/usr/lib/systemd/system/",
    "/.config/systemd/user/",
    "/library/launchdaemons/",
    "/library/launchagents/",
)


_UNIT_DROP_IN = re.compile(
    "(?:" + "|".join(re.escape(d) for d in _UNIT_DIRS) + r")opsgate[^/]*\.d(?:/|$)"
)


def _anywhere_regex() -> re.Pattern[str]:
    pieces = "|".join(re.escape(p) for p, _ in _ANYWHERE)
    return re.compile(rf"(?:{pieces})(?:/|$)")


_ANYWHERE_RE = _anywhere_regex()
_ANYWHERE_WHY = {p: why for p, why in _ANYWHERE}


def normalise(path: str, home: str, project: str | None) -> str:
    """``path`` as an absolute, forward-slashed, lower-case string for matching:
    ``~`` expanded, a relative path placed in the project, ``..`` resolved."""
    import posixpath

    text = path.replace("\\", "/").strip()
    if text == "~" or text.startswith("~/"):
        text = home.rstrip("/") + text[1:]
    elif not text.startswith("/") and not re.match(r"^[A-Za-z]:/", text):
        text = posixpath.join(project or "/", text)
    if text.startswith("/"):
        text = posixpath.normpath(text)
    return text.lower()


def guard_path(path: str, home: str, project: str | None, *, whole_dirs: bool = True) -> str | None:
    """What ``path`` is to the guard ("Claude Code's hook settings" …), or None."""
    return guard_path_in(path, home, project, dynamic_roots(), whole_dirs=whole_dirs)


def guard_path_in(path: str, home: str, project: str | None, roots: tuple[str, ...],
                  *, whole_dirs: bool = True) -> str | None:  # fmt: skip
    """``guard_path`` with this installation's roots already looked up.  It runs for
    every change the classifier finds, so the first test is a few substring checks.
    ``whole_dirs``: also a directory that holds agents' settings (for deletions)."""
    if not may_be_guard_path(path, roots, project):
        return None
    full = normalise(path, home, project)
    if "*" in full or "?" in full or "[" in full:
        return _glob_place(full, home, project, roots, whole_dirs)
    for root in roots:
        if full == root or full.startswith(root + "/"):
            return _ROOT_WHY.get(root, "opsgate's data directory or installation")
    for prefix, why in _SYSTEM:
        if full == prefix or full.startswith(prefix + "/"):
            return why
    m = _ANYWHERE_RE.search(full)
    if m is not None:
        return _ANYWHERE_WHY[m.group(0).rstrip("/")]
    for suffix, why in _CONTAINERS if whole_dirs else ():
        if full.endswith(suffix):
            return why
    base = full.rsplit("/", 1)[-1]
    parent = full[: len(full) - len(base)]
    inside = project is not None and full.startswith(project.lower().rstrip("/") + "/")
    if base in _PROGRAMS and parent.endswith("/bin/") and not inside:
        return "an opsgate program"
    if base.startswith("opsgate") and parent.endswith(_UNIT_DIRS):
        return "opsgate's service unit"
    if _UNIT_DROP_IN.search(full):  # opsgate-hook.service.d/override.conf
        return "a drop-in that changes opsgate's service unit"
    return None


def _glob_place(pattern: str, home: str, project: str | None, roots: tuple[str, ...],
                whole_dirs: bool) -> str | None:  # fmt: skip
    """``rm -rf ~/.opsg*``: what the guard has among the places a glob matches, matched
    as the shell does (component by component; ``*`` does not pick a dot-file)."""
    literal = pattern[: min(pattern.find(c) for c in "*?[" if c in pattern)]
    # Everything the glob can match lies in its literal directory: a glob inside a
    # guard place (``rm -rf ~/.opsgate/*``, through a link ``d/*``) is that place's.
    directory = literal.rsplit("/", 1)[0]
    if directory and directory != pattern:
        why = guard_path_in(directory, home, project, roots, whole_dirs=whole_dirs)
        if why is not None:
            return why
    for place in _places(home, project, roots):
        if place.startswith(literal) and _shell_match(pattern, place):
            why = guard_path_in(place, home, project, roots, whole_dirs=whole_dirs)
            if why is not None:
                return why
    return None


@functools.lru_cache(maxsize=64)
def _places(home: str, project: str | None, roots: tuple[str, ...]) -> tuple[str, ...]:
    """Every static guard place for this home and project, lower-cased."""
    bases = [b.rstrip("/").lower() for b in (home, project) if b and b != "/"]
    places = [b + p for b in bases for p, _ in (*_ANYWHERE, *_CONTAINERS)]
    return (*places, *(p for p, _ in _SYSTEM), *roots)


def _shell_match(pattern: str, path: str) -> bool:
    wanted, parts = pattern.split("/"), path.split("/")
    if len(wanted) != len(parts):
        return False
    for want, part in zip(wanted, parts, strict=True):
        if part.startswith(".") and not want.startswith("."):
            return False
        if not fnmatch.fnmatchcase(part, want):
            return False
    return True


def _has_keyword(lowered: str) -> bool:
    """Every static place above contains one of these.  Plain substring tests: a
    case-insensitive regex costs several microseconds per path."""
    return (
        "opsgate" in lowered
        or ".claude" in lowered
        or ".codex" in lowered
        or ".gemini" in lowered
        or ".cursor" in lowered
        or ".copilot" in lowered
        or ".github" in lowered
        or "claudecode" in lowered
        or "geminicli" in lowered
        or "gemini-cli" in lowered
        or "/etc/c" in lowered
        or "github-copilot" in lowered
    )


def _may_be_under(path: str, roots: tuple[str, ...], project: str | None) -> bool:
    """Whether ``path`` could lie under one of ``roots`` once normalised.  (Deleting a
    parent of a root is judged as deleting that place: a home or project directory.)"""
    if not roots:
        return False
    if ".." in path or path.startswith("~"):
        return True
    base = path if path.startswith("/") else (project or "/") + "/"
    return base.lower().startswith(roots)


def may_be_guard_path(path: str, roots: tuple[str, ...], project: str | None) -> bool:
    """The cheap first test of ``guard_path_in`` (False: certainly not a guard place)."""
    lowered = path.lower()
    if _has_keyword(lowered) or _may_be_under(path, roots, project):
        return True
    return ("*" in path or "?" in path or "[" in path) and "." in path


_ROOTS: dict[tuple[str | None, ...], tuple[str, ...]] = {}

# Variables that move an agent's own settings directory away from the home directory;
# its hooks, and the switches that turn them off, then live there (wherever that is,
# /tmp included).  Codex reads only $CODEX_HOME when it is set.
_AGENT_DIRS = (
    ("CODEX_HOME", "Codex CLI's settings directory ($CODEX_HOME)"),
    ("CLAUDE_CONFIG_DIR", "Claude Code's settings directory ($CLAUDE_CONFIG_DIR)"),
)
_ROOT_WHY: dict[str, str] = {}


# Files this process takes its rules from wherever they are (``OPSGATE_POLICY``, the
# config file's ``policy``, ``OPSGATE_CONFIG``): whoever rewrites them rewrites the
# guard.  Recorded by the loaders (``obey``), kept for the life of the process.
_OBEYED: dict[str, str] = {}
_OBEYED_KEY: list[tuple[str, ...]] = [()]


def obey(names: tuple[str, ...], why: str) -> None:
    """Guard these absolute names of one file (as given, and where it really leads)
    from now on: a file whose contents decide what the guard allows.  The loaders
    resolve the names; the classifier itself opens nothing (``_files``)."""
    for name in names:
        lowered = name.rstrip("/").lower()
        if lowered not in _OBEYED and lowered.count("/") >= 2:
            _OBEYED[lowered] = why
            _ROOT_WHY.setdefault(lowered, why)
            _OBEYED_KEY[0] = tuple(sorted(_OBEYED))


def dynamic_roots() -> tuple[str, ...]:
    """This installation's own places: ``$OPSGATE_HOME``, the agents' settings
    directories moved by a variable, the files its rules come from (``obey``), and,
    when opsgate runs from a virtual environment (pip, pipx, uv), that environment."""
    environ = os.environ
    home = environ.get("OPSGATE_HOME")
    key = (home, *(environ.get(name) for name, _ in _AGENT_DIRS), *_OBEYED_KEY[0])
    cached = _ROOTS.get(key)
    if cached is not None:
        return cached
    roots = [home.rstrip("/").lower()] if home else []
    roots += _OBEYED_KEY[0]
    for (_, why), moved in zip(_AGENT_DIRS, key[1 : 1 + len(_AGENT_DIRS)], strict=True):
        if moved:
            roots.append(moved.rstrip("/").lower())
            _ROOT_WHY.setdefault(roots[-1], why)
    if sys.prefix != sys.base_prefix:
        roots.append(sys.prefix.rstrip("/").lower())
    found = tuple(r for r in roots if r.count("/") >= 2)  # never "/" or "/tmp" itself
    if len(_ROOTS) < 16:
        _ROOTS[key] = found
    return found


# The same places as they appear inside code given to an interpreter, where a path is
# often built from pieces (``Path.home() / ".claude" / "settings.json"``).
_MENTION = re.compile(
    r"\.opsgate\b|opsgate\.db|OPSGATE_HOME|hook\.sock|opsgate-hook|/etc/opsgate|/var/lib/opsgate"
    r"|\.claude\b.{0,40}\bsettings|managed-settings|/etc/claude-code"
    r"|\.codex\b.{0,40}\b(config\.toml|hooks)|/etc/codex"
    r"|\.gemini\b.{0,40}\b(settings|extensions)|/etc/gemini-cli"
    r"|\.cursor\b.{0,40}\bhooks|/etc/cursor"
    r"|\.copilot\b.{0,40}\b(hooks|settings|config)|\.github\b.{0,40}\bhooks",
    re.IGNORECASE | re.DOTALL,
)


_MENTION_WORDS = ("opsgate", ".claude", ".codex", ".gemini", ".cursor", ".copilot", ".github",
                  "hook.sock", "managed-settings", "/etc/")  # fmt: skip


def mentions_guard_path(text: str) -> bool:
    """Whether ``text`` (interpreter code) names a guard file, however it is assembled."""
    lowered = text.lower()
    if any(word in lowered for word in _MENTION_WORDS) and _MENTION.search(text):
        return True
    return any(root in lowered for root in dynamic_roots())
