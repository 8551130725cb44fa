"""Redis commands and MongoDB shell scripts → findings."""

from __future__ import annotations

import pytest

from opsgate.classify.datastores import classify_mongo, classify_redis, classify_redis_script
from opsgate.models import Effect, Finding, Impact


def worst(findings: list[Finding]) -> tuple[Effect, Impact]:
    return max(f.effect for f in findings), max(f.impact for f in findings)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("FLUSHALL", (Effect.WRITE, Impact.DESTRUCTIVE), id="flushall"),
        pytest.param("flushdb async", (Effect.WRITE, Impact.DESTRUCTIVE), id="flushdb-lower"),
        pytest.param("DEL a b", (Effect.WRITE, Impact.DESTRUCTIVE), id="del"),
        pytest.param("UNLINK k", (Effect.WRITE, Impact.DESTRUCTIVE), id="unlink"),
        pytest.param("SHUTDOWN NOSAVE", (Effect.WRITE, Impact.DESTRUCTIVE), id="shutdown-nosave"),
        pytest.param("SHUTDOWN", (Effect.WRITE, Impact.CAUTION), id="shutdown"),
        pytest.param("SET k v", (Effect.WRITE, Impact.CAUTION), id="set"),
        pytest.param("HDEL h f", (Effect.WRITE, Impact.CAUTION), id="member-removal-is-caution"),
        pytest.param("EXPIRE k 10", (Effect.WRITE, Impact.CAUTION), id="expire"),
        pytest.param("CONFIG SET maxmemory 1gb", (Effect.WRITE, Impact.CAUTION), id="config-set"),
        pytest.param("CONFIG GET requirepass", (Effect.SECRET, Impact.CAUTION), id="config-pass"),
        pytest.param("SORT l STORE dst", (Effect.WRITE, Impact.CAUTION), id="sort-store"),
        pytest.param("DEBUG SEGFAULT", (Effect.UNKNOWN, Impact.CAUTION), id="debug"),
        pytest.param("EVALSHA abc 0", (Effect.UNKNOWN, Impact.CAUTION), id="evalsha"),
        pytest.param("FROBNICATE", (Effect.UNKNOWN, Impact.CAUTION), id="unknown-command"),
        pytest.param("GET k", (Effect.READ, Impact.SAFE), id="get"),
        pytest.param("SCAN 0 MATCH a* COUNT 10", (Effect.READ, Impact.SAFE), id="scan"),
        pytest.param("INFO keyspace", (Effect.READ, Impact.SAFE), id="info"),
        pytest.param("CONFIG GET maxmemory", (Effect.READ, Impact.SAFE), id="config-get"),
        pytest.param("SORT l", (Effect.READ, Impact.SAFE), id="sort"),
    ],
)
def test_redis(line: str, expected: tuple[Effect, Impact]) -> None:
    assert worst(classify_redis(line.split())) == expected


def test_redis_eval_judges_the_calls_in_the_script() -> None:
    found = classify_redis(["EVAL", "return redis.call('flushdb')", "0"])
    assert worst(found) == (Effect.WRITE, Impact.DESTRUCTIVE)
    read = classify_redis(["EVAL", "return redis.call('GET', KEYS[1])", "1", "k"])
    assert worst(read) == (Effect.READ, Impact.SAFE)


def test_redis_eval_with_dynamic_command_is_unknown() -> None:
    found = classify_redis(["EVAL", "return redis.call(ARGV[1])", "0", "flushall"])
    assert Effect.UNKNOWN in {f.effect for f in found}


def test_redis_auth_password_is_masked() -> None:
    (found,) = classify_redis(["AUTH", "s3cret"])
    assert "s3cret" not in found.evidence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("GET a\nFLUSHALL\n", (Effect.WRITE, Impact.DESTRUCTIVE), id="lines"),
        pytest.param('SET "a b" c\n', (Effect.WRITE, Impact.CAUTION), id="quoted"),
        pytest.param("*1\r\n$8\r\nFLUSHALL\r\n", (Effect.WRITE, Impact.DESTRUCTIVE), id="resp"),
        pytest.param('GET "unterminated\n', (Effect.UNKNOWN, Impact.CAUTION), id="bad-quote"),
        pytest.param("PING\nTTL k\n", (Effect.READ, Impact.SAFE), id="reads"),
    ],
)
def test_redis_script(text: str, expected: tuple[Effect, Impact]) -> None:
    assert worst(classify_redis_script(text)) == expected


@pytest.mark.parametrize(
    ("js", "expected"),
    [
        pytest.param("db.dropDatabase()", (Effect.WRITE, Impact.DESTRUCTIVE), id="drop-db"),
        pytest.param("db.sessions.drop()", (Effect.WRITE, Impact.DESTRUCTIVE), id="drop"),
        pytest.param(
            "db.getCollectionNames().forEach(c => db[c].drop())",
            (Effect.WRITE, Impact.DESTRUCTIVE),
            id="drop-in-loop",
        ),
        pytest.param("db.c.deleteMany({})", (Effect.WRITE, Impact.DESTRUCTIVE), id="delete-all"),
        pytest.param("db.c.remove( { } )", (Effect.WRITE, Impact.DESTRUCTIVE), id="remove-all"),
        pytest.param(
            "db.c.updateMany({}, {$set: {a: 1}})",
            (Effect.WRITE, Impact.DESTRUCTIVE),
            id="update-all",
        ),
        pytest.param(
            "db.c.deleteMany({ts: {$lt: 1}})", (Effect.WRITE, Impact.CAUTION), id="delete-filtered"
        ),
        pytest.param("db.c.insertOne({a: 1})", (Effect.WRITE, Impact.CAUTION), id="insert"),
        pytest.param("db.u.createIndex({e: 1})", (Effect.WRITE, Impact.CAUTION), id="index"),
        pytest.param(
            "db.o.aggregate([{$match: {}}, {$out: 'x'}])",
            (Effect.WRITE, Impact.CAUTION),
            id="aggregate-out",
        ),
        pytest.param(
            "db.runCommand({drop: 'x'})", (Effect.WRITE, Impact.DESTRUCTIVE), id="run-command-drop"
        ),
        pytest.param("load('wipe.js')", (Effect.UNKNOWN, Impact.CAUTION), id="load-file"),
        pytest.param("db.c['drop']()", (Effect.UNKNOWN, Impact.CAUTION), id="computed-method"),
        pytest.param("db.c.find({a: 'x", (Effect.UNKNOWN, Impact.CAUTION), id="unterminated"),
        pytest.param("db.c.frobnicate()", (Effect.UNKNOWN, Impact.CAUTION), id="unknown-method"),
        pytest.param(
            "db.o.find({a: 1}).sort({t: -1}).limit(3)", (Effect.READ, Impact.SAFE), id="find"
        ),
        pytest.param(
            "db.o.aggregate([{$group: {_id: '$s'}}])", (Effect.READ, Impact.SAFE), id="aggregate"
        ),
        pytest.param(
            "db.x.find({note: 'db.x.drop()'}) // db.x.drop()",
            (Effect.READ, Impact.SAFE),
            id="drop-in-string-and-comment",
        ),
        pytest.param(
            "use analytics\nshow collections\ndb.stats()",
            (Effect.READ, Impact.SAFE),
            id="shell-helpers",
        ),
    ],
)
def test_mongo(js: str, expected: tuple[Effect, Impact]) -> None:
    assert worst(classify_mongo(js)) == expected
