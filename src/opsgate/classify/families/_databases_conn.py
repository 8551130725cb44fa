"""Database connections and payloads: targets, environments, and the SQL a client
gets from flags, files or stdin.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from opsgate.classify._command import Command, Context
from opsgate.classify.sql import classify_sql
from opsgate.models import Effect, Environment, Finding, Impact

__all__ = [
    "_C",
    "_D",
    "_DROP",
    "_MIGRATE",
    "_R",
    "_READ",
    "_RESET",
    "_REVERT",
    "_S",
    "_U",
    "_UNSEEN",
    "_W",
    "_Rule",
    "_bind",
    "_interactive",
    "_locate",
    "_payloads",
    "_rule",
    "_sql",
]

_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE


_R, _W, _U = Effect.READ, Effect.WRITE, Effect.UNKNOWN


_Rule = tuple[str, Impact, Effect, str]


_READ: _Rule = ("database.read", _S, _R, "reads the database")


_MIGRATE: _Rule = ("database.migrate", _C, _W, "applies schema migrations")


_REVERT: _Rule = ("database.migrate_down", _D, _W, "reverts migrations, dropping schema and data")


_DROP: _Rule = ("database.drop", _D, _W, "drops the database")


_RESET: _Rule = ("database.reset", _D, _W, "drops and recreates the database")


_WRITE: _Rule = ("database.write", _C, _W, "writes to the database")


_UNSEEN: _Rule = ("database.unknown", _C, _U, "runs statements opsgate cannot see")


_URL_CREDS = re.compile(r"(?<=//)[^/@\s]*@")


_PASSWORD_OPT = re.compile(r"(--password=|-p(?=\S)|-a\s+|--pass\s+)\S+")


_ENV_VARS = (
    "RAILS_ENV",
    "RACK_ENV",
    "NODE_ENV",
    "APP_ENV",
    "FLASK_ENV",
    "ENVIRONMENT",
    "DJANGO_SETTINGS_MODULE",
)


_URL_VARS = (
    "DATABASE_URL",
    "PGHOST",
    "MYSQL_HOST",
    "REDIS_URL",
    "REDIS_HOST",
    "MONGO_URI",
    "MONGO_URL",
    "MONGODB_URI",
    "PGDATABASE",
)


def redact(text: str) -> str:
    """``postgres://app:pw@db/app`` → ``postgres://***@db/app``."""
    return _URL_CREDS.sub("***@", text)


# --- connection: target and environment ---------------------------------------


def _locate(
    cmd: Command, ctx: Context, named: Iterable[str]
) -> tuple[str, Environment | None, str | None]:
    """Target (first host/URL/db named) and the most sensitive environment evidence."""
    candidates = [w for w in named if w]
    candidates += [cmd.env[v] for v in _URL_VARS if cmd.env.get(v)]
    target = redact(candidates[0]) if candidates else "database"
    env: Environment | None = None
    source: str | None = None
    labelled = [(v, cmd.env[v]) for v in _ENV_VARS if cmd.env.get(v)]
    for label, text in [*labelled, *((redact(c), c) for c in candidates)]:
        hit = ctx.environment_of(text)
        if hit is not None and (env is None or hit[0] > env):
            env, source = hit[0], f"{label}={text}" if label in _ENV_VARS else hit[1]
    return target, env, source


def _bind(
    findings: list[Finding], where: tuple[str, Environment | None, str | None]
) -> list[Finding]:
    target, env, source = where
    return [
        replace(
            f,
            target=f.target or target,
            environment=f.environment or env,
            env_source=f.env_source or source,
        )
        for f in findings
    ]


def _rule(rule: _Rule, evidence: str) -> Finding:
    category, impact, effect, reason = rule
    text = _PASSWORD_OPT.sub(lambda m: m.group(1) + "***", redact(evidence))
    return Finding(category, impact, effect, text[:200], reason)


# --- payloads: flags, files, stdin ---------------------------------------------

_Classify = Callable[[str, str], list[Finding]]  # (payload, evidence prefix) → findings


def _payloads(
    cmd: Command, ctx: Context, classify: _Classify, inline: Iterable[str], files: Iterable[str]
) -> list[Finding] | None:
    """Findings for every payload the client would run, or None when it has none."""
    found: list[Finding] = []
    seen = False
    for text in inline:
        seen = True
        found += classify(text, f"{cmd.name}: ")
    for path in files:
        seen = True
        found += _from_file(cmd, ctx, path, classify)
    if cmd.stdin is not None:
        seen = True
        found += _from_stdin(cmd, ctx, classify)
    return found if seen else None


def _from_file(
    cmd: Command, ctx: Context, path: str, classify: _Classify, *, stdin: bool = False
) -> list[Finding]:
    """``stdin``: the file is the client's standard input, where psql's ``\\ir`` is
    relative to the working directory, not to the file."""
    text = ctx.read_text(path, cmd.cwd) if not path.startswith("$") else None
    if text is None:
        return [
            _rule(("database.unknown", _C, _U, f"runs {path}, which opsgate cannot read"), cmd.text)
        ]
    if isinstance(classify, _Sql):
        return classify(text, f"{path}: ", origin=None if stdin else path, cwd=cmd.cwd)
    return classify(text, f"{path}: ")


def _from_stdin(cmd: Command, ctx: Context, classify: _Classify) -> list[Finding]:
    stdin = cmd.stdin
    assert stdin is not None
    text = stdin.text
    if text is None and stdin.source.startswith("file:"):
        return _from_file(cmd, ctx, stdin.source[5:], classify, stdin=True)
    if text is None or stdin.untrusted:
        why = f"runs input from {stdin.source} that opsgate cannot see or trust"
        return [_rule(("database.unknown", _C, _U, why), cmd.text)]
    return classify(text, "stdin: ")


# Parsing one SQL statement costs about as much as walking ten shell nodes.
_SQL_STEPS = 10


def _sql(dialect: str | None, ctx: Context) -> _Classify:
    return _Sql(dialect, ctx)


# Files a SQL file may include in turn (psql ``\\i`` in a file ``\\i``-included…).
_MAX_INCLUDE_DEPTH = 4
# psql ``\\cd`` inside an included file moves where the includer's later paths lead.
_MOVES = re.compile(r"(?m)^[ \t]*\\cd\b")


class _Sql:
    """Classifies SQL a client runs, following the files it includes (psql ``\\i``,
    ``\\ir``, sqlite ``.read``, sqlcmd ``:r``) through the walker's file reader: each
    is judged like the first (a secret path is never read) and, being read, bound
    to the grant by its hash; one that cannot be read stays unknown."""

    __slots__ = ("ctx", "dialect")

    def __init__(self, dialect: str | None, ctx: Context) -> None:
        self.dialect, self.ctx = dialect, ctx

    def __call__(
        self, text: str, prefix: str, origin: str | None = None, cwd: str | None = None,
        depth: int = 0,
    ) -> list[Finding]:  # fmt: skip
        ctx = self.ctx
        ctx.charge(_SQL_STEPS * (1 + text.count(";")) + len(text) // 32)

        def include(path: str, relative: bool) -> list[Finding] | None:
            return self._include(path, origin if relative else None, cwd, depth + 1)

        return classify_sql(
            text,
            dialect=self.dialect,
            evidence_prefix=prefix,
            shell_escape=lambda s: ctx.classify_shell(s, via="sql client shell escape"),
            include=include if depth < _MAX_INCLUDE_DEPTH else None,
        )

    def _include(
        self, path: str, origin: str | None, cwd: str | None, depth: int
    ) -> list[Finding] | None:
        if origin is not None and not path.startswith(("/", "~")):
            path = posixpath.join(posixpath.dirname(origin), path)
        text = self.ctx.read_text(path, cwd)
        if text is None or _MOVES.search(text):
            return None
        return self(text, f"{path}: ", origin=path, cwd=cwd, depth=depth)


def _interactive(cmd: Command) -> list[Finding]:
    why = "opens an interactive session opsgate cannot follow"
    return [_rule(("database.unknown", _C, _U, why), cmd.text)]
