"""What a command's own words name as the object it changes, when the classifier
only has a label for it ("database" for a client given no host, ``$DATABASE_URL``
for a variable, nothing for a repository): the database and its host, the Redis
server, the repository.  The name an approver types (``policy._confirm``) and a
card's title read them.

The command is split with ``shlex`` (nothing runs); ``NAME=value`` assignments
before a command, and ``export``\\ed ones before it, are applied to its words and
to the words of a ``bash -c '…'`` it runs, as the shell would.  A URL is named by
its host and path, never its user or password.  Bounded and pure.
"""

from __future__ import annotations

import re
import shlex
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from posixpath import basename

__all__ = [
    "SQL_CLIENTS",
    "cloud_object",
    "database_object",
    "object_of",
    "redis_object",
    "simple_commands",
    "url_name",
]

_MAX_WORDS = 2000
_MAX_DEPTH = 3
_SEPARATORS = frozenset({";", "&&", "||", "|", "&", "\n", "(", ")", "|&", ";;"})
_WRAPPERS = frozenset({"sudo", "doas", "env", "nohup", "time", "exec", "command", "nice",
                       "timeout"})  # fmt: skip
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")

# Database clients: (host options, database options, whether a positional is the
# database, the host variable).
SQL_CLIENTS: dict[str, tuple[frozenset[str], frozenset[str], str]] = {
    **{p: (frozenset({"-h", "--host"}), frozenset({"-d", "--dbname"}), "PGHOST")
       for p in ("psql", "dropdb", "pg_dump", "pg_restore", "vacuumdb", "reindexdb",
                 "clusterdb", "createdb")},
    **{p: (frozenset({"-h", "--host"}), frozenset({"-D", "--database"}), "MYSQL_HOST")
       for p in ("mysql", "mariadb", "mysqladmin", "mysqldump", "mariadb-dump")},
}  # fmt: skip
# Options of those clients that take the next word (so it is not the database).
_SQL_VALUED = frozenset({"-h", "--host", "-p", "--port", "-U", "--username", "-u", "--user",
                         "-d", "--dbname", "-D", "--database", "-c", "--command", "-f",
                         "--file", "-e", "--execute", "-P", "-o", "-v", "--set", "-S",
                         "--socket", "-F", "-T", "-t", "--table", "-n", "--schema"})  # fmt: skip
_REDIS_VALUED = frozenset({"-h", "-p", "-a", "-u", "-n", "--user", "--pass", "-s", "--tls",
                           "--cacert", "--cert", "--key", "-r", "-i"})  # fmt: skip


def simple_commands(command: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Each simple command's words (from its program on) with the variables set for
    it; the commands a ``bash -c`` runs are given too, after it."""
    yield from _commands(command, {}, 0)


def _commands(
    command: str, env: Mapping[str, str], depth: int
) -> Iterator[tuple[list[str], dict[str, str]]]:
    exported = dict(env)
    for words in _segments(command):
        own = dict(exported)
        start = 0
        while start < len(words) and _ASSIGNMENT.match(words[start]):
            key, _, value = words[start].partition("=")
            own[key] = _expand(value, own)
            start += 1
        rest = words[start:]
        while rest and (rest[0] in _WRAPPERS or _ASSIGNMENT.match(rest[0])):
            if _ASSIGNMENT.match(rest[0]):  # env NAME=value program …
                key, _, value = rest[0].partition("=")
                own[key] = _expand(value, own)
            rest = rest[1:]
        if not rest:
            exported = own  # NAME=value alone sets it for what follows
            continue
        if rest[0] == "export":
            for word in rest[1:]:
                if _ASSIGNMENT.match(word):
                    key, _, value = word.partition("=")
                    exported[key] = _expand(value, exported)
            continue
        expanded = [_expand(w, own) for w in rest]
        yield expanded, own
        program = basename(rest[0])
        if program in _SHELLS and depth < _MAX_DEPTH and "-c" in rest[1:-1]:
            yield from _commands(rest[rest.index("-c") + 1], own, depth + 1)


def _segments(command: str) -> list[list[str]]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    found: list[list[str]] = [[]]
    try:
        for count, word in enumerate(lexer):
            if count > _MAX_WORDS:
                return []
            if word in _SEPARATORS:
                found.append([])
            elif word not in ("<", ">", ">>"):
                found[-1].append(word)
    except ValueError:
        return []
    return [s for s in found if s]


def _expand(word: str, env: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced by what the command set them to; a
    variable it did not set stays as written."""
    if "$" not in word:
        return word
    return _VARIABLE.sub(lambda m: env.get(m[1], m[0]), word)


def object_of(category: str, command: str) -> str | None:
    """The object the first command of ``category``'s kind in ``command`` names."""
    for words, env in simple_commands(command):
        program = basename(words[0])
        if category.startswith("redis.") and program == "redis-cli":
            return redis_object(words[1:], env)
        if category.startswith("database.") and program in SQL_CLIENTS:
            found = database_object(program, words[1:], env)
            if found:
                return found
        if category.startswith("cloud.") and program in _CLOUD_CLIS:
            found = cloud_object(words[1:])
            if found:
                return found
    return None


_CLOUD_CLIS = frozenset({"aws", "gcloud", "gsutil", "az"})
_BUCKETS = ("s3://", "gs://")
# Options that name the one object a cloud command changes (aws, gcloud, az).
_CLOUD_NAMES = ("--bucket", "--db-instance-identifier", "--db-cluster-identifier",
                "--table-name", "--function-name", "--stack-name", "--repository-name",
                "--instance-ids", "--volume-id", "--snapshot-id", "--secret-id",
                "--user-name", "--role-name", "--resource-group", "--name", "-n")  # fmt: skip


def cloud_object(args: Sequence[str]) -> str | None:
    """The bucket (``s3://acme-backups``) or the named object a cloud CLI changes."""
    for word in args:
        if word.startswith(_BUCKETS):
            scheme, _, rest = word.partition("://")
            return f"{scheme}://{rest.split('/', 1)[0]}" if rest else None
    for option in _CLOUD_NAMES:
        for i, word in enumerate(args):
            if word == option and i + 1 < len(args) and not args[i + 1].startswith("-"):
                return args[i + 1]
            if word.startswith(option + "="):
                return word.partition("=")[2] or None
    return None


def database_object(program: str, args: Sequence[str], env: Mapping[str, str]) -> str | None:
    """``host/database`` (or the database alone) a database client is given."""
    hosts, databases, host_variable = SQL_CLIENTS[program]
    host, database, i = env.get(host_variable), None, 0
    positional: list[str] = []
    while i < len(args):
        word = args[i]
        key, eq, value = word.partition("=")
        if word.startswith("-") and eq:
            host = value if key in hosts else host
            database = value if key in databases else database
        elif word in _SQL_VALUED and i + 1 < len(args):
            i += 1
            host = args[i] if word in hosts else host
            database = args[i] if word in databases else database
        elif not word.startswith("-"):
            positional.append(word)
        i += 1
    if database is None and positional:
        database = positional[0]
    if database and "://" in database:
        return url_name(database)
    if database and "=" in database:  # a libpq "host=… dbname=…" string
        pairs = dict(p.partition("=")[::2] for p in database.split())
        host, database = pairs.get("host", host), pairs.get("dbname")
    if not database or database.startswith("$"):
        return None
    return f"{host}/{database}" if host and not host.startswith("$") else database


def redis_object(args: Sequence[str], env: Mapping[str, str]) -> str:
    """The Redis server ``redis-cli`` talks to: ``host:port`` (6379 and localhost
    when not given)."""
    host, port, i = "localhost", "6379", 0
    while i < len(args):
        word = args[i]
        if word in _REDIS_VALUED and i + 1 < len(args):
            value = args[i + 1]
            if word == "-u":
                found = url_name(value)
                if found:
                    return found
            host = value if word == "-h" else host
            port = value if word == "-p" else port
            i += 1
        i += 1
    return f"{host}:{port}"


def url_name(url: str) -> str | None:
    """``host[:port]/path`` of a URL, never its user or password."""
    try:
        parts = urllib.parse.urlsplit(url)
        where = parts.hostname or ""
        if parts.port:
            where += f":{parts.port}"
    except ValueError:
        return None
    path = parts.path.strip("/")
    if not where:
        return path or None
    return f"{where}/{path}" if path else where
