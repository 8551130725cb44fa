"""Client meta-commands: psql ``\\d``, sqlite ``.tables``, sqlcmd ``:r``."""

from __future__ import annotations

import re
from collections.abc import Callable

from opsgate.models import Effect, Finding, Impact

from ._sql_tables import (
    _C,
    _D,
    _R,
    _S,
    _U,
    _W,
    ShellFn,
    _clip,
    _unknown,
    _without_strings,
    _words,
    finding,
)

__all__ = ["IncludeFn", "_classify_meta", "moves_directory"]

_Rule3 = tuple[str, Impact, Effect, str]
# (path as written, relative to the including file?) → its findings, or None when it
# cannot be read (a secret, missing, too deep): then the include stays unknown.
IncludeFn = Callable[[str, bool], list[Finding] | None]


_META_READ: _Rule3 = ("database.read", _S, _R, "a client display or session command")


_META_FILE: _Rule3 = ("database.unknown", _C, _U, "runs SQL from a file opsgate cannot see")


_META_EDIT: _Rule3 = ("database.unknown", _C, _U, "opens an editor; the SQL is not visible")


# psql ``\\name`` (and mysql ``\\G``-style) commands.  ``\\d…`` and ``\\l…`` are
# listings; anything absent is unknown.
_PSQL: dict[str, _Rule3] = {
    **dict.fromkeys(
        _words(
            "x timing q quit ? h help conninfo echo qecho warn pset a t H encoding c "
            "connect set unset p print r reset g gx gset G watch f C T errverbose s z sf "
            "sv cd prompt if elif else endif getenv bind lo_list copyright crosstabview u "
            "o out w write lo_export"
        ),
        _META_READ,
    ),
    **dict.fromkeys(["i", "ir", "include", "include_relative", "."], _META_FILE),
    **dict.fromkeys(["e", "edit", "ef", "ev"], _META_EDIT),
    "gexec": ("database.unknown", _C, _U, "runs every result value as SQL"),
    "lo_import": ("database.write", _C, _W, "imports a large object"),
    "lo_unlink": ("database.delete", _D, _W, "deletes a large object"),
}


_SQLITE: dict[str, _Rule3] = {
    **dict.fromkeys(
        _words(
            "tables schema indexes indices headers mode timer dump help databases show "
            "width nullvalue separator stats eqp explain print echo changes quit exit "
            "dbinfo fullschema lint bail timeout prompt output once backup save excel "
            "expert headers log trace limit version dbconfig crnl binary parameter"
        ),
        _META_READ,
    ),
    "read": _META_FILE,
    "open": ("database.unknown", _C, _U, "opens another database file"),
    "load": ("database.unknown", _C, _U, "loads a native extension"),
    "import": ("database.write", _C, _W, "imports rows from a file"),
    "restore": ("database.restore", _D, _W, "overwrites the database from a backup"),
    "clone": ("database.write", _C, _W, "clones the database into a file"),
}


_SQLCMD: dict[str, _Rule3] = {
    **dict.fromkeys(
        _words("setvar on out error list help reset connect serverlist xml perftrace listvar ed"),
        _META_READ,
    ),
    "r": _META_FILE,
}


_SHELL_ESCAPES = frozenset({"!", "shell", "system", "!!"})
# Client commands that read a file named by their first word: a credentials file read
# this way is echoed back (in parse errors, or as imported rows).
_READS_FILE = frozenset({"i", "ir", "include", "include_relative", "read", "import", "r", "."})


# psql's includes relative to the file that includes them (the others: to the
# client's working directory).
_RELATIVE = frozenset({"ir", "include_relative"})
_CD = re.compile(r"^\\cd\b")


def moves_directory(text: str) -> bool:
    """psql ``\\cd``: relative includes after it lead somewhere opsgate cannot follow."""
    return _CD.match(text) is not None


def _included(
    rule: _Rule3, name: str, rest: str, include: IncludeFn | None
) -> list[Finding] | None:
    """What an included file does, when ``include`` can read it."""
    if include is None or rule is not _META_FILE:
        return None
    words = rest.split()
    path = words[0].strip("'\"") if words else ""
    if not path or path.startswith((":", "$", "|")) or "`" in path:
        return None  # a client variable or a command: not a path opsgate can follow
    return include(path, name in _RELATIVE)


def _names_secret(rest: str) -> bool:
    from opsgate.classify.paths import is_secret_path

    words = rest.split()
    return bool(words) and is_secret_path(words[0].strip("'\""))


_META_NAME = re.compile(r"^(?:\\|\.|:|)(!!|!|\?|\.|[A-Za-z_+]+)")


def _classify_meta(
    text: str, dialect: str | None, shell: ShellFn | None, include: IncludeFn | None = None
) -> list[Finding]:
    m = _META_NAME.match(text)
    raw = m.group(1) if m else ""
    name = raw if raw in ("d", "l") else raw.rstrip("+S")
    rest = text[m.end() :].strip() if m else text
    evidence = _clip(text)
    if (
        name in _SHELL_ESCAPES
        or "`" in rest
        or (name in ("o", "out", "g", "w") and rest.startswith("|"))
    ):
        return _shell_escape(rest.lstrip("|").strip(), evidence, shell)
    if text.startswith("\\") and name == "copy":
        return _meta_copy(rest, evidence, shell)
    if text.startswith("\\") and (
        name.startswith(("d", "l")) and name not in ("lo_import", "lo_unlink")
    ):
        return [finding(*_META_READ[:3], evidence, "lists or describes database objects")]
    table = _SQLITE if text.startswith(".") else _SQLCMD if text.startswith(":") else _PSQL
    rule = table.get(name) or table.get(name.lower())
    if rule is not None and name in _READS_FILE and _names_secret(rest):
        why = f"reads {rest.split()[0]}, which holds credentials, into the client"
        return [finding("secrets.read", _C, Effect.SECRET, evidence, why)]
    if rule is None:
        return [_unknown(evidence, f"client command {raw or text!r} opsgate does not model")]
    included = _included(rule, name, rest, include)
    if included is not None:
        return included
    category, impact, effect, reason = rule
    return [finding(category, impact, effect, evidence, reason)]


def _shell_escape(command: str, evidence: str, shell: ShellFn | None) -> list[Finding]:
    if shell is not None and command and "`" not in command:
        return shell(command)
    return [finding("database.shell", _C, _U, evidence, "runs a shell command from the client")]


def _meta_copy(rest: str, evidence: str, shell: ShellFn | None) -> list[Finding]:
    """``\\copy t FROM 'f'`` loads rows; ``TO`` only exports; ``PROGRAM`` runs a command."""
    bare = _without_strings(rest)
    if re.search(r"\bPROGRAM\b", bare, re.I):
        prog = re.search(r"\bPROGRAM\s+'((?:[^']|'')*)'", rest, re.I)
        return _shell_escape(prog.group(1).replace("''", "'") if prog else "", evidence, shell)
    if re.search(r"\bFROM\b", re.sub(r"\(.*\)", "", bare), re.I):
        return [finding("database.write", _C, _W, evidence, "loads rows from a file")]
    return [finding("database.read", _S, _R, evidence, "exports rows to a file")]
