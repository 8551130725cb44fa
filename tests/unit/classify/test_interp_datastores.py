"""Redis and MongoDB driver calls written as the client commands that do the same."""

from __future__ import annotations

import pytest

from opsgate.classify._interp_datastores import datastore_findings
from opsgate.models import Finding


def _twins(lang: str, code: str) -> list[str]:
    seen: list[str] = []

    def shell(text: str) -> list[Finding]:
        seen.append(text)
        return []

    datastore_findings(lang, code, shell)
    return seen


@pytest.mark.parametrize(
    ("lang", "code", "twins"),
    [
        ("python", "import redis\nr = redis.Redis(host='localhost')\nr.flushall()",
         ["redis-cli -h localhost FLUSHALL"]),
        ("python", "import redis\nr = redis.Redis()\nr.delete('a')\nos.unlink('/tmp/x')",
         ["redis-cli DEL a"]),
        ("python", "import os, redis\nr = redis.Redis(host='c.prod')\nos.unlink('x')\nr.get('a')",
         []),
        ("python", "import redis\nredis.from_url('redis://c.prod:6379').script_flush()",
         ["redis-cli -h c.prod SCRIPT FLUSH"]),
        ("node", "import Redis from 'ioredis';\nfs.unlinkSync('x'); r.del_keys(); r.getDel('k')",
         ["redis-cli GETDEL k"]),
        ("node", "import Redis from 'ioredis';\nconst r = new Redis();\nawait r.call('flushall');",
         ["redis-cli flushall"]),
        ("node", "const {createClient} = require('redis');\nconst c = createClient();\n"
                 "await c.flushDb(); [1].sort();", ["redis-cli FLUSHDB"]),
        ("python", "from pymongo import MongoClient\nc = MongoClient('mongodb://127.0.0.1:27017')\n"
                   "c.app.users.delete_many({})\n",
         ["mongosh mongodb://localhost/ --eval 'db.COLLECTION.deleteMany({})'"]),
        ("python", "import pymongo\nimport pandas as pd\npd.DataFrame().drop(columns=['a'])\n"
                   "[1].remove(1)", []),
        ("node", "import mongoose from 'mongoose';\nawait mongoose.connection.dropCollection('x');",
         ["mongosh --eval 'db.x.drop()'"]),
        ("python", "import redis, pytest\n@pytest.fixture\ndef r():\n    c = redis.Redis()\n"
                   "    yield c\n    c.flushdb()\n", []),
    ],
)  # fmt: skip
def test_driver_calls_are_written_as_client_commands(
    lang: str, code: str, twins: list[str]
) -> None:
    assert _twins(lang, code) == twins
