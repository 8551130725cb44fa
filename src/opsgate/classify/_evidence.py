"""What a finding built from a file's contents may say (SPEC §4 safeguard 7).

Evidence, reasons, cards and audit entries name what was found — a path, a
statement kind, a hash — never a file's text.  Producers (the SQL classifier fed
``psql -f fix.sql``, the shell walker fed ``bash deploy.sh``, …) describe what
they parsed in their own words; ``classify`` knows exactly which findings came
from files (those a classification without the files' texts does not produce)
and this module rewrites them:

1. **Evidence** becomes ``fix.sql (sha256 1f2e3d4c5b6a…): DROP TABLE``: the path
   (relative to the working directory when inside it), the file's hash, and the
   statement's kind in opsgate's own vocabulary (SQL statement words and object
   kinds, client meta-commands, programs the family tables know) — the finding's
   category when the statement starts with anything else.
2. **Reason, target and environment source** keep only *names*: every word must be
   letters, digits and ``_ . - / : @ ~`` (or punctuation alone), at most
   ``MAX_NAME`` characters, left as it is by the secret-shape redactor
   (``audit.redact``), and not random-looking (a long run mixing cases and
   digits, or a long hex run); any other word becomes "…".  That keeps what a
   person needs to judge the card — "drops table orders", the host, path or
   cluster a statement names, as the parser produced it — and nothing else: a
   literal, a password, a line of ``/etc/shadow`` become "…".
3. **The guard**, over every finding: no text may share a run longer than
   ``MAX_COPY`` characters with a file read (apart from what the agent typed in
   the action itself).  A field that does is withheld whole and counted in
   ``TRIPS``; a test keeps that at zero, so a producer that starts quoting files
   in a way rules 1-2 miss fails the suite, while users are protected either way.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

from opsgate.models import FileRead, Finding

__all__ = ["MAX_COPY", "MAX_NAME", "TRIPS", "copies", "scrub"]

MAX_NAME = 63  # PostgreSQL's identifier limit; a longer word is not kept as a name
MAX_COPY = 64  # the guard: no finding text shares a longer run with a file read
_BLOCK = MAX_COPY // 2  # a longer run always holds an aligned block of this size
TRIPS: list[tuple[str, str]] = []  # (path, field) the guard withheld; a test reads it

_TOKEN = re.compile(r"[^\s'\"`,;()\[\]{}<>|&=]+")
_NAME = re.compile(r"[A-Za-z0-9_.\-/:@~]+")
_SEGMENT = re.compile(r"[^._\-/:@~]+")
_COMPONENT = re.compile(r"[^./:@~]+")  # a path component: words joined by - and _ kept whole
_HEX = re.compile(r"[0-9a-fA-F]+")
_PREFIX = re.compile(r"^(?:stdin|[^\s:]{1,4096}): ")
_ELLIPSIS = "…"

# Words a statement's kind may be named with: opsgate's vocabulary, not the file's.
_SQL_WORDS = frozenset((
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "DROP", "CREATE",
    "ALTER", "TRUNCATE", "RENAME", "GRANT", "REVOKE", "COPY", "SET", "RESET", "SHOW",
    "USE", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE",
    "EXPLAIN", "ANALYZE", "ANALYSE", "VACUUM", "REINDEX", "CLUSTER", "REFRESH", "CHECKPOINT",
    "OPTIMIZE", "REPAIR", "FLUSH", "LOCK", "KILL", "LOAD", "DO", "CALL", "EXEC", "EXECUTE",
    "PREPARE", "DEALLOCATE", "DISCARD", "LISTEN", "UNLISTEN", "NOTIFY", "COMMENT", "SECURITY",
    "IMPORT", "REASSIGN", "PRAGMA", "ATTACH", "DETACH", "DESCRIBE", "DESC", "HELP", "WITH",
    "VALUES",
    "TABLE", "INDEX", "VIEW", "DATABASE", "SCHEMA", "SEQUENCE", "FUNCTION", "PROCEDURE", "TRIGGER",
    "ROLE", "USER", "EXTENSION", "TYPE", "MATERIALIZED", "COLUMN", "CONSTRAINT", "FROM", "INTO",
    "ONLY", "IF", "EXISTS", "NOT", "UNIQUE", "CONCURRENTLY", "TEMPORARY", "TEMP", "OR",
    "ALL", "ON", "FULL", "SYSTEM", "GLOBAL", "SESSION", "PROGRAM", "FLUSHALL", "FLUSHDB",
    "DEL", "UNLINK", "KEYS", "GET", "HSET", "EVAL", "EVALSHA", "CONFIG", "SHUTDOWN",
    "SCRIPT",
))  # fmt: skip
_META = frozenset((  # client meta-commands (psql, sqlite3, sqlcmd)
    r"\c", r"\connect", r"\i", r"\ir", r"\include", r"\include_relative", r"\!", r"\o", r"\out",
    r"\copy", r"\g", r"\gexec", r"\gset", r"\set", r"\unset", r"\setenv", r"\cd", r"\w",
    r"\write", r"\e", r"\edit", r"\lo_import", r"\lo_export", r"\lo_unlink", r"\d", r"\dt", r"\l",
    r"\q", ".read", ".shell", ".system", ".import", ".output", ".once", ".open", ".restore",
    ".backup", ".save", ".dump", ":r", ":!!", "source",
))  # fmt: skip


def scrub(
    findings: Sequence[Finding],
    derived: Collection[Finding],
    files: Iterable[FileRead],
    *,
    typed: str,
    cwd: str | None,
    redact: Callable[[str], str] | None = None,
) -> list[Finding]:
    """``findings`` with the ``derived`` ones (built from the files' texts) rewritten
    by rules 1-2, and every one passed through the guard (rule 3).  ``redact`` is the
    audit log's secret-shape redactor (``guard`` passes it: the classifier does not
    import the audit layer)."""
    texts = [f for f in files if f.text]
    if not texts:
        return list(findings)
    check = redact or (lambda text: text)
    out = [_rewrite(f, texts, cwd, check) if f in derived else f for f in findings]
    return [_guard(f, texts, typed, cwd) for f in out]


def copies(
    findings: Iterable[Finding], files: Iterable[FileRead], typed: str = "", limit: int = MAX_COPY
) -> list[tuple[str, str]]:
    """(path, field) for every finding text that shares a run longer than ``limit``
    characters with a file's text and not with ``typed`` (the guard's check)."""
    texts = [f for f in files if f.text]
    return [
        (file.path, name)
        for finding in findings
        for name, value in _fields(finding)
        for file in texts
        if _copied(value, file.text or "", typed, limit)
    ]


def _fields(finding: Finding) -> list[tuple[str, str]]:
    pairs = (
        ("evidence", finding.evidence),
        ("reason", finding.reason),
        ("target", finding.target),
        ("env_source", finding.env_source),
    )
    return [(name, value) for name, value in pairs if value]


def _rewrite(
    finding: Finding, files: list[FileRead], cwd: str | None, redact: Callable[[str], str]
) -> Finding:
    source = _source(finding, files)
    target, env_source = finding.target, finding.env_source
    return replace(
        finding,
        evidence=f"{_shown(source, cwd)}: {_kind(finding)}",
        reason=names_only(finding.reason, redact),
        target=names_only(target, redact) if target else target,
        env_source=names_only(env_source, redact) if env_source else env_source,
    )


def _source(finding: Finding, files: list[FileRead]) -> FileRead:
    """The file a finding was built from: the one its evidence quotes (the first
    file read when it quotes none verbatim)."""
    if len(files) > 1:
        words = [w for w in finding.evidence.split() if len(w) >= 4]
        for file in files:
            if any(w in (file.text or "") for w in words):
                return file
    return files[0]


def _shown(file: FileRead, cwd: str | None) -> str:
    base = (cwd or "").rstrip("/") + "/"
    path = file.path[len(base) :] if cwd and file.path.startswith(base) else file.path
    return f"{path} (sha256 {file.sha256[:12]}…)" if file.sha256 else path


def _kind(finding: Finding) -> str:
    """The statement's leading words from opsgate's own vocabulary, else the category."""
    text = _PREFIX.sub("", finding.evidence.strip(), count=1)
    words: list[str] = []
    for word in text.split()[:3]:
        word = word.rstrip(";")
        if word.upper() in _SQL_WORDS or word in _META or word in _programs():
            words.append(word)
        else:
            break
    return " ".join(words) or finding.category


@lru_cache(maxsize=1)
def _programs() -> frozenset[str]:
    from opsgate.classify.families._index import INDEX

    return frozenset(INDEX)


def names_only(value: str, redact: Callable[[str], str]) -> str:
    """``value`` with every word that is not a name (rule 2) replaced by "…"."""
    pieces, last = [], 0
    for match in _TOKEN.finditer(value):
        if _is_name(match.group(), redact):
            continue
        pieces.append(value[last : match.start()] + _ELLIPSIS)
        last = match.end()
    if not pieces:
        return value
    pieces.append(value[last:])
    return re.sub(rf"{_ELLIPSIS}(?:\W*{_ELLIPSIS})+", _ELLIPSIS, "".join(pieces))


def _is_name(token: str, redact: Callable[[str], str]) -> bool:
    if not any(c.isalnum() for c in token):
        return len(token) <= 3  # punctuation: "—", "...", "->"
    if len(token) > MAX_NAME or not _NAME.fullmatch(token):
        return False
    if len(token) < _RANDOM_LENGTH:
        return redact(token) == token  # no segment or component long enough to look random
    if any(_random(segment) for segment in _SEGMENT.findall(token)):
        return False
    # A URL-safe key breaks into short runs at its - and _ (aH5bCPF-SbID7_gIJg…): judged
    # whole, it still switches case every few characters; idx_orders_created does not.
    if any(_random_joined(c) for c in _COMPONENT.findall(token)):
        return False
    return redact(token) == token


_RANDOM_LENGTH = 16  # the shortest run ``_random`` and ``_random_joined`` may call random


def _random(segment: str) -> bool:
    """A key, a token, a hash: long hex with digits in it, or a long run that keeps
    switching between lower case, upper case and digits (``OrdersArchive2023``
    switches three times, a random key every few characters)."""
    if len(segment) < _RANDOM_LENGTH:
        return False
    if _HEX.fullmatch(segment) and any(c.isdigit() for c in segment):
        return True
    return _switches(segment) * 4 >= len(segment)


def _random_joined(component: str) -> bool:
    """A long component whose letters and digits, joined across ``-`` and ``_``,
    switch class at least once in three characters: a random URL-safe key's do
    (about three in five), a name's seldom (``aws-eks-prod-eu-west-1``).  Masking a
    long CamelCase name now and then costs a reader little; showing a key, much."""
    joined = component.replace("-", "").replace("_", "")
    if len(joined) < 20 or len(joined) == len(component):
        return False  # short, or without separators: the segment rule judged it whole
    return _switches(joined) * 100 >= len(joined) * 34


def _switches(text: str) -> int:
    """How often ``text`` changes between lower case, upper case and digits."""
    classes = [c.islower() + 2 * c.isupper() + 3 * c.isdigit() for c in text]
    return sum(a != b for a, b in itertools.pairwise(classes))


def _copied(value: str, text: str, typed: str, limit: int) -> bool:
    """Whether ``value`` holds a run of more than ``limit`` characters found in
    ``text`` but not in ``typed``.  Cheap for short values and unrelated texts: such
    a run holds an aligned block of ``limit // 2`` characters, looked up first."""
    if len(value) <= limit:
        return False
    block = max(1, limit // 2)
    starts = [k for k in range(0, len(value) - block + 1, block) if value[k : k + block] in text]
    for k in starts:
        for i in range(max(0, k - limit), k + 1):
            run = value[i : i + limit + 1]
            if len(run) == limit + 1 and run in text and run not in typed:
                return True
    return False


def _guard(finding: Finding, files: list[FileRead], typed: str, cwd: str | None) -> Finding:
    changes: dict[str, str] = {}
    for name, value in _fields(finding):
        for file in files:
            if not _copied(value, file.text or "", typed, MAX_COPY):
                continue
            if len(TRIPS) < 100:
                TRIPS.append((file.path, name))
            shown = _shown(file, cwd)
            changes[name] = (
                f"{shown}: {finding.category}"
                if name == "evidence"
                else f"(withheld: it would quote {shown.split(' (')[0]})"
            )
            break
    if not changes:
        return finding
    return replace(
        finding,
        evidence=changes.get("evidence", finding.evidence),
        reason=changes.get("reason", finding.reason),
        target=changes.get("target", finding.target),
        env_source=changes.get("env_source", finding.env_source),
    )
