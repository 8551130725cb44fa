"""Redis and MongoDB driver calls in Python or JavaScript, judged like their clients.

``redis.Redis(host='cache.prod.internal').flushall()`` is ``redis-cli -h
cache.prod.internal FLUSHALL`` in other words, and ``MongoClient('mongodb://mongo-1')
.app.users.delete_many({})`` is ``mongosh mongodb://mongo-1/ --eval
'db.users.deleteMany({})'``.  Code that loads a driver (redis-py, ioredis, node-redis;
pymongo, motor, the Node ``mongodb`` driver, mongoose) is read for the calls that
delete, and each is written as that client's command against the host the code
connects to (a URL, a ``host`` argument or option), which the shell judges as it
judges the client: against this machine a person decides, against another host, or
one the code does not name, it is refused.

- Redis: a driver method named for a command that deletes (``flushall``,
  ``flushDb``, ``getdel``, ``script_flush``; ``delete``/``del``/``unlink`` on a client
  the code made, as ``os.unlink`` shares the name), and any command sent by name
  (``execute_command('FLUSHALL')``, ``sendCommand(['FLUSHDB'])``, ``call('flushall')``).
- MongoDB: deletes, updates of many documents and drops (``delete_many``,
  ``deleteMany``, ``drop_database``, ``dropCollection``, a collection's ``drop()``),
  with their filter, so an empty one is a delete of everything.

Single-value reads and writes are left alone: ``list.append``, ``list.sort`` and
``DataFrame.drop(columns=…)`` share their names.  A test suite's own store on this
machine is its fixture work, as for SQL (``_interp_sql``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from opsgate.classify._interp_sql import driver_host, local_test_code
from opsgate.models import Finding, Impact

__all__ = ["datastore_findings"]

_PY_IMPORT = re.compile(r"^\s*(?:import|from)\s+([\w.]+)", re.MULTILINE)
_JS_IMPORT = re.compile(r"""(?:require\(\s*|from\s+|import\s*\(\s*)['"]([\w./@-]+)['"]""")
_REDIS_DRIVERS = frozenset({"redis", "aioredis", "valkey", "ioredis", "iovalkey", "@redis/client"})
_MONGO_DRIVERS = frozenset({"pymongo", "motor", "mongodb", "mongoose"})
_REDIS_SCHEMES = r"rediss?|valkeys?"
_MONGO_SCHEMES = r"mongodb"

# --- Redis -------------------------------------------------------------------------------
_METHOD = re.compile(r"\.\s*([A-Za-z_]\w*)\s*\(([^()]*)")
# Method names that are also everyday calls on other objects: counted only on a client.
_SHARED_NAMES = frozenset({"delete", "del", "unlink", "shutdown", "migrate"})
_REDIS_ALIASES = {"delete": ["DEL"]}
_CLIENT = re.compile(
    r"(\w+)\s*=\s*(?:await\s+)?(?:new\s+)?[\w.]*?(?:Redis|StrictRedis|RedisCluster|IORedis|"
    r"Valkey|Cluster|from_url|createClient|createCluster|pipeline|multi)\s*\("
)
_CONSTRUCTED = re.compile(
    r"(?:Redis|StrictRedis|RedisCluster|IORedis|Valkey|from_url|createClient)\s*\([^()]*\)\s*$"
)
_BY_NAME = re.compile(
    r"\.\s*(?:execute_command|send_command|sendCommand|call|callBuffer)\s*\(\s*\[?\s*"
    r"""((?:['"][\w:.*-]*['"]\s*,?\s*)+)"""
)
_WORD = re.compile(r"""['"]([\w:.*-]*)['"]""")
# Commands whose subcommand is the method's second word (``script_flush``, ``aclDelUser``).
_CONTAINERS = frozenset({"SCRIPT", "FUNCTION", "ACL", "CLUSTER"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|_")
_MAX_CALLS = 16


def _redis_commands(code: str) -> list[list[str]]:
    from opsgate.classify.datastores import classify_redis

    clients = set(_CLIENT.findall(code))
    out: list[list[str]] = []
    for m in _METHOD.finditer(code):
        name = m.group(1)
        if name in _SHARED_NAMES and not _on_client(code, m.start(), clients):
            continue
        words = _REDIS_ALIASES.get(name) or _command_words(name, classify_redis)
        if words:
            out.append([*words, *_WORD.findall(m.group(2))[:3]])
    for m in _BY_NAME.finditer(code):
        words = [w for w in _WORD.findall(m.group(1)) if w]
        if words:
            out.append(words)
    return out


def _on_client(code: str, at: int, clients: set[str]) -> bool:
    before = code[max(0, at - 200) : at]
    receiver = re.search(r"(\w+)\s*$", before)
    return bool(receiver and receiver.group(1) in clients) or bool(_CONSTRUCTED.search(before))


def _command_words(name: str, judge: Callable[[list[str]], list[Finding]]) -> list[str]:
    """The Redis command a driver method sends (``flushDb`` -> FLUSHDB, ``script_flush``
    -> SCRIPT FLUSH) when that command deletes or stops the server; [] otherwise."""
    parts = [p.upper() for p in _CAMEL.split(name) if p]
    split = len(parts) > 1 and parts[0] in _CONTAINERS
    for words in (["".join(parts)], [parts[0], "".join(parts[1:])] if split else []):
        if words and any(_deletes(f) for f in judge(words)):
            return words
    return []


def _deletes(finding: Finding) -> bool:
    return finding.impact is Impact.DESTRUCTIVE or finding.category == "redis.shutdown"


# --- MongoDB -----------------------------------------------------------------------------
# Driver method -> mongosh method, for calls on a collection; dropping a database or
# collection by name is written as the shell's own form.
_MONGO_METHODS = {
    "delete_many": "deleteMany", "deleteMany": "deleteMany", "delete_one": "deleteOne",
    "deleteOne": "deleteOne", "update_many": "updateMany", "updateMany": "updateMany",
    "drop_indexes": "dropIndexes", "dropIndexes": "dropIndexes",
}  # fmt: skip
_MONGO_JS_ONLY = {"remove": "remove"}  # Python's ``list.remove`` shares the name
_MONGO_DROPS = {
    "drop_database": "db.dropDatabase()", "dropDatabase": "db.dropDatabase()",
    "drop_collection": "db.{0}.drop()", "dropCollection": "db.{0}.drop()",
}  # fmt: skip
# This machine by address; the twin names it ``localhost``, as mongosh's own rules read
# a local target by that name.
_LOOPBACK_ADDRESS = re.compile(r"127\.[\d.]+$|::1$|0\.0\.0\.0$")
_EMPTY_DROP = re.compile(r"\.\s*drop\s*\(\s*\)")  # a collection's; pandas' drop takes arguments


def _mongo_scripts(lang: str, code: str) -> list[str]:
    methods = {**_MONGO_METHODS, **(_MONGO_JS_ONLY if lang == "node" else {})}
    out: list[str] = []
    for m in _METHOD.finditer(code):
        name, args = m.group(1), m.group(2)
        if name in methods:
            out.append(f"db.COLLECTION.{methods[name]}({args})")
        elif name in _MONGO_DROPS:
            target = _WORD.search(args)
            out.append(_MONGO_DROPS[name].format(target.group(1) if target else "COLLECTION"))
    if _EMPTY_DROP.search(code):
        out.append("db.COLLECTION.drop()")
    return out


# --- both --------------------------------------------------------------------------------
def datastore_findings(
    lang: str, code: str, shell: Callable[[str], list[Finding]]
) -> list[Finding]:
    """Findings for what ``code`` deletes through a Redis or MongoDB driver."""
    drivers = _drivers(lang, code)
    twins: list[str] = []
    if drivers & _REDIS_DRIVERS:
        host = driver_host(code, _REDIS_SCHEMES)
        if not local_test_code(code, host):
            target = ["-h", host] if host else []
            twins += [shlex.join(["redis-cli", *target, *words]) for words in _redis_commands(code)]
    if drivers & _MONGO_DRIVERS:
        host = driver_host(code, _MONGO_SCHEMES)
        if not local_test_code(code, host):
            host = "localhost" if _LOOPBACK_ADDRESS.match(host) else host
            target = [f"mongodb://{host}/"] if host else []
            scripts = _mongo_scripts(lang, code)
            twins += [shlex.join(["mongosh", *target, "--eval", js]) for js in scripts]
    findings: list[Finding] = []
    for twin in list(dict.fromkeys(twins))[:_MAX_CALLS]:
        findings += shell(twin)
    return findings


def _drivers(lang: str, code: str) -> set[str]:
    if lang == "python":
        return {m.split(".")[0] for m in _PY_IMPORT.findall(code)}
    if lang == "node":
        return set(_JS_IMPORT.findall(code))
    return set()
