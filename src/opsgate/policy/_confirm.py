"""The name an approver types to allow a destructive action (SPEC §4 safeguard 3):
the target's inventory name, else the host, else what the command itself names —
never a label.  The classifier calls a database client given no host "database",
keeps ``$DATABASE_URL`` as written, and has no target for a repository; typing
"database" or "confirm" proves nothing about what the approver read.  So a label is
replaced by the object the command's words name (``policy._objects``: the database
and its host, with ``NAME=value`` assignments applied; the Redis server; the
repository or branch), and a host found that way by its inventory name.  Imported
only for destructive decisions, off the hook's usual path.
"""

from __future__ import annotations

from posixpath import basename

from opsgate.environments import Inventory
from opsgate.models import Action, Classification, Environment, Finding, Impact
from opsgate.policy._names import name_to_type
from opsgate.policy._objects import object_of, simple_commands, url_name

__all__ = ["confirmation"]

_LABELS = frozenset({"", "database", "confirm", "this host", "local container engine", "gcs"})
# The classifier's names for an account or a tool, not for what changes in it.
_LABEL_PREFIXES = ("$", "aws profile ", "gcp project ", "git remote ", "azure ", "terraform ")
_MAX_NAME = 200


def confirmation(c: Classification, action: Action, inventory: Inventory) -> str:
    """What to type for ``c`` (destructive): the most sensitive target's name."""
    found = [f for f in c.findings if f.impact is Impact.DESTRUCTIVE]
    named = [f for f in found if f.target] or found
    worst = max(named, key=lambda f: f.environment or Environment.LOCAL) if named else None
    if worst is None:
        return _typeable(c.target or "") or "confirm"
    name = (name_to_type(worst) or c.target or "").split(", ")[0]  # a kube context
    if _is_label(name):
        name = _from_words(worst, action, inventory) or name
    elif "://" in name:  # a URL: its host and path, never its user or (masked) password
        name = _known(url_name(name) or name, inventory)
    return _typeable(name) or "confirm"


def _is_label(name: str) -> bool:
    """Whether ``name`` is a word for a kind of place ("database", "$DATABASE_URL",
    "aws (default profile)", "git remote origin"), which a person can type without
    reading the card."""
    low = name.strip().lower()
    return low in _LABELS or low.startswith(_LABEL_PREFIXES) or low.endswith(_ACCOUNT_ENDS)


_ACCOUNT_ENDS = ("(default profile)", "(current subscription)", "(current workspace)",
                 "(current project)", "(current context)")  # fmt: skip


def _from_words(finding: Finding, action: Action, inventory: Inventory) -> str | None:
    command = action.input.get("command")
    if not isinstance(command, str):
        return None
    if finding.category.startswith("vcs."):
        return _repository(command, action)
    found = object_of(finding.category, command)
    return _known(found, inventory) if found else None


def _known(found: str, inventory: Inventory) -> str:
    """``host[:port]/…`` by the inventory's name for its host, if it has one."""
    host = found.split("/", 1)[0].rsplit(":", 1)[0]
    target = inventory.find(host) if host else None
    return target.name if target is not None else found


def _repository(command: str, action: Action) -> str | None:
    """The repository a git command works in, by its directory's name (``-C DIR``,
    else where the agent runs it); else the branch the hook resolved; else the
    revision it names."""
    for words, _env in simple_commands(command):
        if basename(words[0]) != "git":
            continue
        where = words[words.index("-C") + 1] if "-C" in words[:-1] else None
        where = where or action.cwd or action.project_dir
        if where and basename(where.rstrip("/")):
            return basename(where.rstrip("/"))
        branch = next((v for k, v in action.context if k.startswith("git.branch") and v), None)
        if branch:
            return branch
        positional = [w for w in words[2:] if not w.startswith("-")]
        return positional[0] if positional else None
    return None


def _typeable(name: str) -> str:
    """A name a person can type: no control or invisible formatting characters (a
    right-to-left override would make them type it reversed), and bounded."""
    return "".join(ch for ch in name if ch.isprintable())[:_MAX_NAME]
