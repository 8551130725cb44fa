"""Redis commands and MongoDB shell scripts: what they would do to the data store.

Redis: deleting whole keys or databases (``DEL``, ``UNLINK``, ``FLUSHALL``) is
destructive — the record is gone; changing values or members inside a key
(``SET``, ``HDEL``, ``LPOP``) is a caution write, like ``UPDATE … WHERE``.

MongoDB: a tokenizer that blanks string literals and comments, then judges every
method call by name.  Not a JS parser; a call it cannot name is unknown.
"""

from __future__ import annotations

import re
import shlex

from opsgate.models import Effect, Finding, Impact

__all__ = ["classify_mongo", "classify_redis", "classify_redis_script"]

_Rule = tuple[str, Impact, Effect, str]
_S, _C, _D = Impact.SAFE, Impact.CAUTION, Impact.DESTRUCTIVE
_R, _W, _U = Effect.READ, Effect.WRITE, Effect.UNKNOWN
_READ: _Rule = ("redis.read", _S, _R, "reads data or server state")
_WRITE: _Rule = ("redis.write", _C, _W, "changes data")
_ADMIN: _Rule = ("redis.admin", _C, _W, "changes server state or configuration")
_DELETE: _Rule = ("redis.delete", _D, _W, "deletes keys")
_FLUSH: _Rule = ("redis.flush", _D, _W, "deletes every key")


def _names(words: str, rule: _Rule) -> dict[str, _Rule]:
    return dict.fromkeys(words.split(), rule)


_REDIS: dict[str, _Rule] = {
    **_names(
        "GET MGET EXISTS TYPE TTL PTTL EXPIRETIME PEXPIRETIME KEYS SCAN HGET HGETALL HMGET "
        "HKEYS HVALS HLEN HEXISTS HSCAN HSTRLEN HRANDFIELD LRANGE LLEN LINDEX LPOS SMEMBERS "
        "SISMEMBER SMISMEMBER SCARD SSCAN SRANDMEMBER SINTER SINTERCARD SUNION SDIFF ZRANGE "
        "ZRANGEBYSCORE ZRANGEBYLEX ZREVRANGE ZREVRANGEBYSCORE ZREVRANGEBYLEX ZSCORE ZMSCORE "
        "ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZSCAN ZRANDMEMBER ZINTER ZUNION ZDIFF XRANGE "
        "XREVRANGE XLEN XREAD XINFO XPENDING STRLEN GETRANGE SUBSTR GETBIT BITCOUNT BITPOS "
        "PFCOUNT GEOPOS GEODIST GEOHASH GEORADIUS_RO GEORADIUSBYMEMBER_RO GEOSEARCH INFO PING "
        "ECHO DBSIZE TIME LASTSAVE ROLE DUMP RANDOMKEY COMMAND SELECT HELLO MONITOR SUBSCRIBE "
        "PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE QUIT RESET WAIT WATCH UNWATCH MULTI "
        "EXEC DISCARD SORT_RO TOUCH OBJECT PUBSUB LOLWUT READONLY READWRITE EVAL_RO "
        "EVALSHA_RO FCALL_RO AUTH",
        _READ,
    ),
    **_names(
        "SET SETNX SETEX PSETEX MSET MSETNX APPEND INCR INCRBY INCRBYFLOAT DECR DECRBY HSET "
        "HMSET HSETNX HINCRBY HINCRBYFLOAT HDEL LPUSH RPUSH LPUSHX RPUSHX LSET LINSERT LREM "
        "LTRIM LPOP RPOP BLPOP BRPOP LMPOP BLMPOP LMOVE BLMOVE RPOPLPUSH BRPOPLPUSH SADD SREM "
        "SMOVE SPOP SINTERSTORE SUNIONSTORE SDIFFSTORE ZADD ZINCRBY ZREM ZREMRANGEBYSCORE "
        "ZREMRANGEBYRANK ZREMRANGEBYLEX ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP BZMPOP "
        "ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANGESTORE XADD XDEL XTRIM XGROUP XACK XCLAIM "
        "XAUTOCLAIM XSETID XREADGROUP EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST RENAME "
        "RENAMENX MOVE COPY RESTORE SETRANGE SETBIT BITOP BITFIELD PFADD PFMERGE GEOADD "
        "GEORADIUS GEORADIUSBYMEMBER GEOSEARCHSTORE GETSET GETEX PUBLISH SPUBLISH SORT",
        _WRITE,
    ),
    **_names("DEL UNLINK GETDEL MIGRATE", _DELETE),
    **_names("FLUSHALL FLUSHDB", _FLUSH),
    **_names("SAVE BGSAVE BGREWRITEAOF REPLICAOF SLAVEOF FAILOVER SWAPDB", _ADMIN),
    "SHUTDOWN": ("redis.shutdown", _C, _W, "stops the server"),
    "DEBUG": ("redis.unknown", _C, _U, "DEBUG can crash, reload or alter the server"),
    "MODULE": ("redis.unknown", _C, _U, "loads native code into the server"),
    "EVALSHA": ("redis.script", _C, _U, "runs a stored script opsgate cannot see"),
    "FCALL": ("redis.script", _C, _U, "runs a server function opsgate cannot see"),
}
# Container commands judged by "NAME SUB"; a subcommand not listed is unknown.
_REDIS_SUB: dict[str, _Rule] = {
    **_names(
        "CONFIG_GET CLIENT_LIST CLIENT_INFO CLIENT_GETNAME CLIENT_ID CLIENT_SETNAME "
        "CLIENT_SETINFO CLIENT_TRACKING CLIENT_NO-EVICT CLIENT_REPLY CLUSTER_INFO "
        "CLUSTER_NODES CLUSTER_SLOTS CLUSTER_SHARDS CLUSTER_MYID CLUSTER_KEYSLOT "
        "CLUSTER_COUNTKEYSINSLOT ACL_LIST ACL_USERS ACL_WHOAMI ACL_CAT ACL_LOG "
        "ACL_GETUSER SLOWLOG_GET SLOWLOG_LEN MEMORY_USAGE MEMORY_STATS MEMORY_DOCTOR "
        "LATENCY_LATEST LATENCY_HISTORY LATENCY_DOCTOR LATENCY_GRAPH SCRIPT_EXISTS "
        "FUNCTION_LIST FUNCTION_DUMP FUNCTION_STATS XINFO_STREAM XINFO_GROUPS "
        "XINFO_CONSUMERS OBJECT_ENCODING OBJECT_FREQ OBJECT_IDLETIME OBJECT_REFCOUNT "
        "COMMAND_COUNT COMMAND_INFO COMMAND_DOCS COMMAND_LIST COMMAND_GETKEYS",
        _READ,
    ),
    **_names(
        "CONFIG_SET CONFIG_REWRITE CONFIG_RESETSTAT CLIENT_KILL CLIENT_PAUSE "
        "CLIENT_UNPAUSE CLIENT_NO-TOUCH SLOWLOG_RESET LATENCY_RESET MEMORY_PURGE "
        "ACL_SETUSER ACL_SAVE ACL_LOAD SCRIPT_LOAD SCRIPT_KILL FUNCTION_LOAD "
        "FUNCTION_KILL FUNCTION_RESTORE CLUSTER_FAILOVER CLUSTER_MEET CLUSTER_FORGET "
        "CLUSTER_ADDSLOTS CLUSTER_DELSLOTS CLUSTER_SETSLOT CLUSTER_REPLICATE",
        _ADMIN,
    ),
    **_names(
        "ACL_DELUSER SCRIPT_FLUSH FUNCTION_DELETE FUNCTION_FLUSH CLUSTER_RESET CLUSTER_FLUSHSLOTS",
        ("redis.delete", _D, _W, "deletes server state"),
    ),
}
_SECRET_CONFIG = re.compile(r"pass|auth|\*|user|acl", re.I)
_MASKED = frozenset({"AUTH", "HELLO", "ACL", "MIGRATE"})
_LUA_CALL = re.compile(r"""redis\.p?call\s*\(\s*(['"])([A-Za-z]+)\1""")


def classify_redis(words: list[str]) -> list[Finding]:
    """Findings for one redis command (``["DEL", "key"]``)."""
    if not words:
        return []
    name = words[0].upper()
    evidence = _redis_evidence(words)
    if name in ("EVAL", "EVAL_RO") and len(words) > 1 and name == "EVAL":
        return _redis_eval(words[1], evidence)
    rule = _REDIS.get(name)
    if rule is None and len(words) > 1:
        sub = words[1].upper()
        rule = _REDIS_SUB.get(f"{name}_{sub}")
        if name == "CONFIG" and sub == "GET" and any(_SECRET_CONFIG.search(w) for w in words[2:]):
            rule = ("secrets.read", _C, Effect.SECRET, "reads server passwords")
    if name == "SHUTDOWN" and any(w.upper() == "NOSAVE" for w in words[1:]):
        rule = ("redis.shutdown", _D, _W, "stops the server and discards unsaved data")
    if name == "SORT" and not any(w.upper() == "STORE" for w in words[1:]):
        rule = _READ
    if rule is None:
        return [_finding(("redis.unknown", _C, _U, "a command opsgate does not model"), evidence)]
    return [_finding(rule, evidence)]


def _redis_evidence(words: list[str]) -> str:
    """The command as typed, passwords masked (AUTH, HELLO … AUTH, ACL SETUSER >pw)."""
    shown = [words[0], *(["***"] if words[0].upper() in _MASKED and len(words) > 1 else words[1:])]
    if words[0].upper() == "CONFIG" and len(words) > 3 and _SECRET_CONFIG.search(words[2]):
        shown = [*words[:3], "***"]
    text = " ".join(shown)
    return text if len(text) <= 200 else text[:197] + "..."


def _redis_eval(script: str, evidence: str) -> list[Finding]:
    """A Lua script: judge each ``redis.call('cmd', …)``; anything dynamic is unknown."""
    calls = [m.group(2) for m in _LUA_CALL.finditer(script)]
    dynamic = len(calls) != script.count("redis.call") + script.count("redis.pcall")
    found = [f for name in calls for f in classify_redis([name])]
    found = [
        Finding(f.category, f.impact, f.effect, evidence, f"script: {f.reason}") for f in found
    ]
    if dynamic or not calls:
        found.append(
            _finding(
                ("redis.script", _C, _U, "runs a Lua script opsgate cannot fully see"), evidence
            )
        )
    return found


def classify_redis_script(text: str) -> list[Finding]:
    """Several redis commands, one per line (redis-cli stdin), or RESP (``--pipe``)."""
    if text.lstrip().startswith("*"):
        commands = _resp_commands(text)
        if commands is None:
            return [_finding(("redis.unknown", _C, _U, "unreadable RESP payload"), text[:200])]
    else:
        commands = []
        for line in text.splitlines():
            try:
                words = shlex.split(line)
            except ValueError:
                return [_finding(("redis.unknown", _C, _U, "unbalanced quoting"), line[:200])]
            if words:
                commands.append(words)
    return [f for words in commands[:1000] for f in classify_redis(words)]


def _resp_commands(text: str) -> list[list[str]] | None:
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[list[str]] = []
    i = 0
    while i < len(lines):
        head = lines[i].strip()
        if not head:
            i += 1
            continue
        if not head.startswith("*") or not head[1:].isdigit():
            return None
        count = int(head[1:])
        words = [lines[j] for j in range(i + 2, i + 2 + 2 * count, 2) if j < len(lines)]
        out.append(words)
        i += 1 + 2 * count
    return out


def _finding(rule: _Rule, evidence: str) -> Finding:
    category, impact, effect, reason = rule
    return Finding(
        category=category, impact=impact, effect=effect, evidence=evidence, reason=reason
    )


# --- MongoDB -----------------------------------------------------------------

_MREAD: _Rule = ("mongo.read", _S, _R, "reads data")
_MWRITE: _Rule = ("mongo.write", _C, _W, "changes data")
_MDDL: _Rule = ("mongo.ddl", _C, _W, "changes collections, indexes or users")
_MONGO: dict[str, _Rule] = {
    **_names(
        "find findOne countDocuments estimatedDocumentCount count distinct aggregate "
        "getIndexes getIndexKeys getCollectionNames getCollectionInfos stats dataSize "
        "storageSize totalIndexSize totalSize explain hostInfo serverStatus version getName "
        "getSiblingDB getCollection getMongo getDB listCollections listIndexes sort limit skip "
        "toArray forEach map pretty printjson print itcount hasNext next isMaster hello "
        "currentOp getUsers getUser getRoles getRole watch serverBuildInfo getReplicationInfo "
        "status conf getProfilingStatus getShardDistribution latencyStats batchSize project "
        "hint maxTimeMS collation comment readPref allowDiskUse noCursorTimeout size length "
        "ObjectId ISODate Date NumberLong NumberInt NumberDecimal UUID stringify log keys "
        "values entries filter reduce push join toString toJSON parse getTime now tojson "
        "printShardingStatus isWritablePrimary dbStats collStats if for while switch catch "
        "return typeof function",
        _MREAD,
    ),
    **_names(
        "insertOne insertMany insert updateOne update replaceOne deleteOne findOneAndUpdate "
        "findOneAndReplace findOneAndDelete findAndModify bulkWrite save mapReduce "
        "initializeOrderedBulkOp initializeUnorderedBulkOp execute",
        _MWRITE,
    ),
    **_names(
        "createIndex createIndexes ensureIndex dropIndex dropIndexes createCollection "
        "createView renameCollection createUser updateUser grantRolesToUser "
        "revokeRolesFromUser createRole updateRole setProfilingLevel compact reIndex "
        "convertToCapped shardCollection enableSharding fsyncLock fsyncUnlock killOp "
        "setFeatureCompatibilityVersion stepDown reconfig add remove_shard shutdownServer",
        _MDDL,
    ),
    **_names(
        "dropDatabase drop dropUser dropAllUsers dropRole dropAllRoles",
        ("mongo.drop", _D, _W, "drops a database, collection or user"),
    ),
    **_names(
        "eval load runProgram run _runMongoProgram require Function",
        ("mongo.unknown", _C, _U, "runs code or a file opsgate cannot see"),
    ),
}
# Empty filter: the operation touches every document.
_ALL_DOCS: dict[str, _Rule] = {
    "deleteMany": ("mongo.delete_all", _D, _W, "deletes every document (empty filter)"),
    "remove": ("mongo.delete_all", _D, _W, "deletes every document (empty filter)"),
    "updateMany": ("mongo.update_all", _D, _W, "updates every document (empty filter)"),
}
_FILTERED: _Rule = ("mongo.write", _C, _W, "changes the documents matching a filter")
_CALL = re.compile(r"(?<![\w$])([A-Za-z_$][\w$]*)\s*\(")
_EMPTY_FILTER = re.compile(r"\s*(\)|\{\s*\}\s*[,)])")
_STAGE_WRITE = re.compile(r"""["']?\$(out|merge)["']?\s*:""")
_SHELL_HELPER = re.compile(r"^\s*(use\s+\S+|show\s+\w+|it|exit|quit)\s*;?\s*$", re.MULTILINE)


def classify_mongo(js: str) -> list[Finding]:
    """Findings for a mongosh script (``--eval``, a here-doc, a file)."""
    code = _blank_strings(_SHELL_HELPER.sub("", js))
    evidence = " ".join(js.split())[:200]
    if code is None:
        return [_finding(("mongo.unknown", _C, _U, "unterminated string or comment"), evidence)]
    found: list[Finding] = []
    for m in _CALL.finditer(code):
        name = m.group(1)
        rule = _MONGO.get(name)
        if name in _ALL_DOCS:
            rule = _ALL_DOCS[name] if _EMPTY_FILTER.match(code, m.end()) else _FILTERED
        if name == "aggregate" and _STAGE_WRITE.search(js):
            rule = ("mongo.write", _C, _W, "aggregation writes its output ($out/$merge)")
        if name in ("runCommand", "adminCommand"):
            rule = _run_command(code[m.end() :])
        if rule is None:
            rule = ("mongo.unknown", _C, _U, f"calls {name}(), which opsgate does not model")
        found.append(_finding(rule, evidence))
    if re.search(r"\]\s*\(", code):  # db.c["drop"]() hides the method name
        found.append(_finding(("mongo.unknown", _C, _U, "calls a computed method"), evidence))
    return list(dict.fromkeys(found)) or [_finding(_MREAD, evidence)]


_COMMAND_READS = frozenset(
    _names(
        "find count distinct aggregate listCollections listDatabases listIndexes serverStatus "
        "dbStats collStats ping buildInfo hello isMaster currentOp getParameter hostInfo "
        "connectionStatus replSetGetStatus explain",
        _MREAD,
    )
)


def _run_command(args: str) -> _Rule:
    """``db.runCommand({drop: "x"})`` is judged by its first key."""
    m = re.match(r"\s*\{\s*[\"']?([A-Za-z]+)", args) or re.match(r"\s*[\"']?([A-Za-z]+)", args)
    key = m.group(1) if m else ""
    if key in _COMMAND_READS and not _STAGE_WRITE.search(args):
        return _MREAD
    if key in ("drop", "dropDatabase", "dropAllUsersFromDatabase", "dropUser"):
        return ("mongo.drop", _D, _W, f"runs the {key} command")
    if key in ("delete", "update", "insert", "findAndModify", "createIndexes", "create"):
        return ("mongo.write", _C, _W, f"runs the {key} command")
    return ("mongo.unknown", _C, _U, f"runs the {key or 'unnamed'} command")


def _blank_strings(js: str) -> str | None:
    """The code with string literals emptied and comments removed (None if unbalanced).
    Template literals keep ``${…}`` code visible, since it runs."""
    out: list[str] = []
    i, n = 0, len(js)
    while i < n:
        c, two = js[i], js[i : i + 2]
        if two == "//":
            end = js.find("\n", i)
            i = n if end < 0 else end
        elif two == "/*":
            end = js.find("*/", i + 2)
            if end < 0:
                return None
            i = end + 2
        elif c in "'\"`":
            j = i + 1
            while j < n and js[j] != c:
                j += 2 if js[j] == "\\" else 1
            if j >= n:
                return None
            body = js[i + 1 : j]
            out.append(c + (" ".join(re.findall(r"\$\{([^}]*)\}", body)) if c == "`" else "") + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)
