"""``source .env``: a dotenv file of plain assignments sets variables and prints nothing.

A dotenv file holds credentials, so opsgate never reads it for classification (its
text would reach the card, the audit and the control plane).  Running it with
``source``/``.``/``bash`` shows nothing, though, so it is no secret read
(docs/classification.md) — when it is only assignments.  The file source checks that
on the agent's machine (``_files.LocalFiles``) and keeps one fact, the *names* it
assigns (a name says a secret exists, never its value): the sourced file is then
judged as assigning each name a value known only at run time, so ``source .env &&
psql "$DATABASE_URL"`` is judged with a target it cannot know, not with the hook's
own ``DATABASE_URL``.

Anything else — a command substitution, a ``;``, a line opsgate cannot read as an
assignment, a name that changes how later commands run (``PATH``, ``LD_PRELOAD``,
``BASH_ENV``, an ``OPSGATE_`` variable) — and the file is not read as plain: running
it stays a read of a file opsgate never reads (denied).
"""

from __future__ import annotations

import posixpath
import re

__all__ = ["MAX_BYTES", "as_script", "assigned_names", "is_dotenv"]

_DOTENV = re.compile(r"^(\.env(\.[\w.-]+)?|[\w.-]+\.env)$", re.IGNORECASE)
MAX_BYTES = 64 * 1024  # a larger dotenv is not read as plain
_LINE = re.compile(
    r"""^(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=
        (?P<value>'[^']*'|"(?:[^"\\`$]|\\.|\$(?!\())*"|(?:[^\s'"`$;&|<>(){}\\]|\$(?![({]))*)
        \s*(?:\#.*)?$""",
    re.VERBOSE,
)
# Names whose value changes what later commands run, load or trust.
_RUNS = re.compile(
    r"^(PATH|LD_\w+|DYLD_\w+|BASH_ENV|ENV|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|IFS|PS4|HOME|CDPATH|"
    r"GLOBIGNORE|BASH_FUNC_\w+|NODE_OPTIONS|NODE_PATH|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|"
    r"PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|GIT_\w+|OPSGATE_\w*|SUDO_ASKPASS|EDITOR|VISUAL|PAGER)$",
    re.IGNORECASE,
)
_UNKNOWN = "${__opsgate_dotenv_value_not_read}"


def is_dotenv(path: str) -> bool:
    return _DOTENV.match(posixpath.basename(path)) is not None


def assigned_names(text: str) -> tuple[str, ...] | None:
    """The names a dotenv text assigns, or None when it does anything else."""
    names: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(stripped)
        if match is None or _RUNS.match(match.group("name")):
            return None
        names.append(match.group("name"))
    return tuple(dict.fromkeys(names))[:256]


def as_script(names: tuple[str, ...]) -> str:
    """What the sourced file does, as the walker reads it: each name set to a value
    known only at run time."""
    return "".join(f'export {name}="{_UNKNOWN}"\n' for name in names)
