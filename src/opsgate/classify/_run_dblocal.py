"""The project's own SQLite file as a migration tool's target, read from its config.

``npx prisma migrate dev`` with ``url = "file:./dev.db"``, ``knex migrate:latest`` with
a ``development`` connection on ``./dev.sqlite3``, ``sequelize-cli db:migrate`` with a
``development`` dialect of ``sqlite``, ``bin/rails db:migrate`` with a
``development`` adapter of ``sqlite3``, ``dbmate --url sqlite:db/dev.sqlite3 up``,
``goose sqlite3 ./dev.db up``, ``migrate -database sqlite3://dev.db up``:
each applies the project's migrations to a file of the project, which is local work
(``_run_dbconfig.place_local``), not a change to an unknown database.

Only plain configuration counts: literal values in the block of the environment the
tool will really use (its flag, else ``NODE_ENV``/``RAILS_ENV``/``RACK_ENV`` from the
command or the agent's environment, else ``development``), a relative path without
``..``, and nothing that lets another source win (``DATABASE_URL`` set for Rails and
dbmate, a ``.sequelizerc``, ``use_env_variable``, a URL flag).  Anything else keeps
the unknown target, whose environment the policy judges.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsgate.classify._command import Command, Context
from opsgate.classify._interp_temp import _closing
from opsgate.classify._run_dbconfig import Where
from opsgate.classify._run_files import load, nearest
from opsgate.models import Environment

if TYPE_CHECKING:
    from opsgate.classify.shell import Walker

__all__ = ["local_database"]

# A path inside the project: relative, no parent steps, plain characters.
_RELATIVE = re.compile(r"(?!/)(?!.*\.\.)[\w./-]+")


def local_database(cmd: Command, ctx: Context) -> Where | None:
    """The project's SQLite file this migration command changes, or None."""
    from opsgate.classify.shell import Walker

    reader = _READERS.get(cmd.name)
    if reader is None or not isinstance(ctx, Walker) or ctx.remote is not None:
        return None
    return reader(ctx, cmd)


def _variable(w: Walker, cmd: Command, name: str) -> str | None:
    """``name`` as the tool sees it: set by the command, else the agent's environment
    (where the resident service is sent a hash for a secret: set, value unknown)."""
    value = cmd.env.get(name)
    return value if value is not None else w.session.files.variable(name)


def _start(w: Walker, cmd: Command) -> str:
    return cmd.cwd or w.scope.cwd or w.workspace.project or "/"


def _where(path: str, shown: str, why: str) -> Where:
    return path, Environment.LOCAL, f"{shown}: {why}"


# --- Prisma ----------------------------------------------------------------------------

_DATASOURCE = re.compile(r"(?m)^\s*datasource\s+\w+\s*\{")
_ASSIGN = re.compile(r"""(?m)^\s*(\w+)\s*=\s*(.*?)\s*$""")


def _prisma(w: Walker, cmd: Command) -> Where | None:
    start = _start(w, cmd)
    if cmd.has("--url", "--database-url", "--config") or any(
        "=" in a and not a.startswith(("--schema=", "--name=")) for a in cmd.words
    ):
        return None
    given = cmd.option("--schema")
    if given is None and any(a.startswith("--schema=") for a in cmd.words):
        given = next(a.split("=", 1)[1] for a in cmd.words if a.startswith("--schema="))
    if given is None:
        manifest = nearest(w, start, ("package.json",))
        configured = _json(manifest.text if manifest else None)
        prisma = configured.get("prisma") if isinstance(configured, dict) else None
        if isinstance(prisma, dict) and prisma.get("schema") is not None:
            return None  # a schema named elsewhere (a folder of files, say): not read here
        found = nearest(w, start, ("prisma/schema.prisma", "schema.prisma"))
        schema = found if found is not None else None
    else:
        schema = load(w, given, start)
    if schema is None or schema.text is None or len(_DATASOURCE.findall(schema.text)) != 1:
        return None
    block = _DATASOURCE.search(schema.text)
    end = _closing(schema.text, block.end() - 1) if block else None
    if block is None or end is None:
        return None
    values = dict(_ASSIGN.findall(schema.text[block.end() : end]))
    url = values.get("url", "")
    if values.get("provider") != '"sqlite"' or not re.fullmatch(r'"file:[^"]*"', url):
        return None
    path = url[len('"file:') : -1]
    if not _RELATIVE.fullmatch(path) or set(values) - {"provider", "url", "relationMode"}:
        return None
    here = posixpath.dirname(schema.path)  # Prisma resolves file: beside the schema
    return _where(posixpath.normpath(posixpath.join(here, path)), schema.shown,
                  "the datasource is a SQLite file here")  # fmt: skip


# --- Knex -------------------------------------------------------------------------------

_KNEXFILES = tuple(f"knexfile.{ext}" for ext in ("js", "cjs", "mjs", "ts"))
_KNEX_CLIENTS = ("'sqlite3'", '"sqlite3"', "'better-sqlite3'", '"better-sqlite3"')


def _knex(w: Walker, cmd: Command) -> Where | None:
    if cmd.has("--knexfile", "--cwd", "--knexpath") or any("=" in a for a in cmd.words):
        return None
    env = cmd.option("--env") or _variable(w, cmd, "NODE_ENV") or "development"
    loaded = nearest(w, _start(w, cmd), _KNEXFILES)
    if loaded is None or loaded.text is None or not re.fullmatch(r"\w+", env):
        return None
    match = re.search(rf"(?m)^\s*['\"]?{env}['\"]?\s*:\s*\{{", loaded.text)
    end = _closing(loaded.text, match.end() - 1) if match else None
    if match is None or end is None:
        return None
    block = loaded.text[match.end() : end]
    client = re.search(r"\bclient\s*:\s*(\S+?)\s*,", block)
    filename = re.search(r"""\bfilename\s*:\s*(['"])([^'"]*)\1""", block)
    dynamic = re.search(r"process\.|require|\(|`|\.\.\.", block)
    if client is None or client.group(1) not in _KNEX_CLIENTS or filename is None or dynamic:
        return None
    path = filename.group(2)
    if not _RELATIVE.fullmatch(path):
        return None
    base = posixpath.dirname(loaded.path)  # knex runs from the knexfile's directory
    return _where(posixpath.normpath(posixpath.join(base, path)), loaded.shown,
                  f"the {env} connection is a SQLite file here")  # fmt: skip


# --- Sequelize --------------------------------------------------------------------------


def _sequelize(w: Walker, cmd: Command) -> Where | None:
    start = _start(w, cmd)
    if cmd.has("--config", "--url", "--options-path") or any("=" in a for a in cmd.words):
        return None
    if load(w, ".sequelizerc", start).state != "missing":
        return None  # its own JavaScript chooses the paths
    env = cmd.option("--env") or _variable(w, cmd, "NODE_ENV") or "development"
    loaded = load(w, "config/config.json", start)
    data = _json(loaded.text)
    block = data.get(env) if isinstance(data, dict) else None
    if not isinstance(block, dict) or block.get("dialect") != "sqlite":
        return None
    storage = block.get("storage")
    if "use_env_variable" in block or not isinstance(storage, str):
        return None
    if not _RELATIVE.fullmatch(storage):
        return None
    return _where(posixpath.normpath(posixpath.join(start, storage)), loaded.shown,
                  f"the {env} database is a SQLite file here")  # fmt: skip


# --- Rails ------------------------------------------------------------------------------


def _rails(w: Walker, cmd: Command) -> Where | None:
    if _variable(w, cmd, "DATABASE_URL") or any("=" in a for a in cmd.words):
        return None  # Rails merges it over the file's own settings; ``RAILS_ENV=…`` words
    env = (cmd.option("-e", "--environment") or _variable(w, cmd, "RAILS_ENV")
           or _variable(w, cmd, "RACK_ENV") or "development")  # fmt: skip
    rakefile = nearest(w, _start(w, cmd), ("config/database.yml",))
    if rakefile is None or rakefile.text is None:
        return None
    try:
        import yaml

        data = yaml.safe_load(rakefile.text)
    except Exception:  # any YAML error: not plain configuration
        return None
    block = data.get(env) if isinstance(data, dict) else None
    if not isinstance(block, dict) or block.get("adapter") not in ("sqlite3", "sqlite"):
        return None
    database = block.get("database")
    if "url" in block or not isinstance(database, str) or not _RELATIVE.fullmatch(database):
        return None
    root = posixpath.dirname(posixpath.dirname(rakefile.path))
    return _where(posixpath.normpath(posixpath.join(root, database)), rakefile.shown,
                  f"the {env} database is a SQLite file here")  # fmt: skip


# --- dbmate -----------------------------------------------------------------------------


def _dbmate(w: Walker, cmd: Command) -> Where | None:
    if cmd.has("--env", "-e", "--env-file"):
        return None
    url = cmd.option("--url", "-u")
    if url is None:
        url = next((a.split("=", 1)[1] for a in cmd.words if a.startswith("--url=")), None)
    match = re.fullmatch(r"sqlite3?:(?://)?([^?#]*)", url or "")
    if match is None or not _RELATIVE.fullmatch(match.group(1)):
        return None
    path = posixpath.normpath(posixpath.join(_start(w, cmd), match.group(1)))
    return _where(path, f"{cmd.name} --url", "a SQLite file here")


# --- goose and golang-migrate ---------------------------------------------------------

_GOOSE_VALUED = frozenset({"-dir", "-table", "-certfile", "-ssl-cert", "-ssl-key", "-timeout"})


def _goose(w: Walker, cmd: Command) -> Where | None:
    """``goose [-dir D] sqlite3 ./dev.db up``: the driver and the database are words."""
    words = list(cmd.words)
    rest: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in _GOOSE_VALUED:
            i += 2
            continue
        if not words[i].startswith("-"):
            rest.append(words[i])
        elif "=" not in words[i] and words[i] not in ("-v", "-allow-missing", "-no-versioning"):
            return None  # a flag this reading does not know may take the next word
        i += 1
    if len(rest) < 3 or rest[0] not in ("sqlite3", "sqlite"):
        return None
    return _sqlite_file(w, cmd, rest[1], f"{cmd.name} {rest[0]}")


def _migrate_go(w: Walker, cmd: Command) -> Where | None:
    """``migrate -path D -database sqlite3://dev.db up``."""
    url = cmd.option("-database", "--database")
    match = re.fullmatch(r"sqlite3?://([^?#]*)", url or "")
    if match is None:
        return None
    return _sqlite_file(w, cmd, match.group(1), f"{cmd.name} -database")


def _sqlite_file(w: Walker, cmd: Command, path: str, shown: str) -> Where | None:
    if not _RELATIVE.fullmatch(path):
        return None
    full = posixpath.normpath(posixpath.join(_start(w, cmd), path))
    return _where(full, shown, "a SQLite file here")


def _json(text: str | None) -> object:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


_READERS: dict[str, Callable[[Walker, Command], Where | None]] = {
    "prisma": _prisma,
    "knex": _knex,
    "sequelize": _sequelize,
    "sequelize-cli": _sequelize,
    "rails": _rails,
    "dbmate": _dbmate,
    "goose": _goose,
    "migrate": _migrate_go,
}
