"""SQL sent through a database driver in Python or JavaScript, judged like the client.

``python3 -c "import psycopg2; psycopg2.connect(host='db.prod.internal').cursor()
.execute('DROP TABLE events')"`` is ``psql -h db.prod.internal -c 'DROP TABLE
events'`` in other words.  Code that loads a driver is read for the SQL it passes as
a literal to ``execute``/``query``-like calls (its escapes undone, as the language
does), and each statement is judged as the command-line client of that database
would be, against the host the code connects to (a ``host=`` argument, a DSN or a
URL in the code).

Test code (``def test_…``, pytest fixtures, ``unittest``) that talks to a database on
this machine is the suite's own fixture work (``DROP TABLE IF EXISTS`` in a
teardown); its SQL against another host still counts.  SQL built at run time is not
guessed at.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from opsgate.models import Finding

__all__ = ["driver_host", "driver_sql_findings", "local_test_code"]

# Driver module -> the client whose judgement its SQL gets.
_PY_DRIVERS = {
    "psycopg2": "psql", "psycopg": "psql", "asyncpg": "psql", "pg8000": "psql",
    "pymysql": "mysql", "MySQLdb": "mysql", "mysql.connector": "mysql", "aiomysql": "mysql",
    "sqlite3": "sqlite3", "pymssql": "sqlcmd", "pyodbc": "sqlcmd", "sqlalchemy": "psql",
    "clickhouse_driver": "clickhouse-client", "snowflake.connector": "snowsql",
}  # fmt: skip
_JS_DRIVERS = {
    "pg": "psql", "postgres": "psql", "mysql": "mysql", "mysql2": "mysql", "mysql2/promise":
    "mysql", "better-sqlite3": "sqlite3", "sqlite3": "sqlite3", "knex": "psql", "mssql": "sqlcmd",
}  # fmt: skip
_PY_IMPORT = re.compile(r"^\s*(?:import|from)\s+([\w.]+)", re.MULTILINE)
_JS_IMPORT = re.compile(r"""(?:require\(\s*|from\s+)['"]([\w./@-]+)['"]""")
_CALL = re.compile(
    r"""\.(?:execute|executemany|executescript|exec_driver_sql|query|fetch|fetchrow|fetchval"""
    r"""|run|exec|raw|unsafe|prepare)\s*\(\s*(?:text\s*\(\s*)?([rRuUbB]{0,2})"""
    r"""("{3}|'{3}|"|'|`)((?:\\.|(?!\2).)*?)\2""",
    re.DOTALL,
)
# A backslash escape in a string literal that is not raw: ``'interval \'1 day\''`` in
# the code is the SQL ``interval '1 day'``, which the client is then given.
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPED = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\n": ""}
_SQL_SCHEMES = r"postgres(?:ql)?|mysql|mariadb|mssql|clickhouse"
_SQLITE_FILE = re.compile(r"""(?:sqlite3\.connect|Database)\s*\(\s*['"]([^'"]+)['"]""")
_SQLITE_OPEN = re.compile(r"(?:sqlite3\.connect|\bDatabase)\s*\(\s*[^)\s]")
_RUN_TIME_FILE = "/(a database file chosen at run time)"
_TEST_CODE = re.compile(r"\bdef test_\w+\s*\(|@pytest\.fixture|\bimport pytest\b|unittest\b|"
                        r"\b(?:describe|it|test)\s*\(\s*['\"]")  # fmt: skip
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", ""})  # noqa: S104
_MAX_STATEMENTS = 16


def driver_sql_findings(
    lang: str, code: str, shell: Callable[[str], list[Finding]]
) -> list[Finding]:
    """Findings for the literal SQL that ``code`` sends through a database driver."""
    client = _client(lang, code)
    if client is None:
        return []
    statements = [_unescaped(m.group(1), m.group(3)) for m in _CALL.finditer(code)]
    statements = [sql for sql in statements if sql.strip()]
    if not statements:
        return []
    host = driver_host(code, _SQL_SCHEMES)
    if local_test_code(code, host):
        return []  # a test suite's own database on this machine
    findings: list[Finding] = []
    for sql in statements[:_MAX_STATEMENTS]:
        for twin in _twins(client, host, sql, code):
            findings += shell(twin)
    return findings


def _unescaped(prefix: str, text: str) -> str:
    """The string a literal stands for: its escapes undone, unless it is raw."""
    if "r" in prefix.lower():
        return text
    return _ESCAPE.sub(_unescape, text)


def _unescape(m: re.Match[str]) -> str:
    code = m.group(1)
    if len(code) > 1:
        return chr(int(code[1:], 16))
    return _ESCAPED.get(code, code)


def _client(lang: str, code: str) -> str | None:
    if lang == "python":
        modules, drivers = _PY_IMPORT.findall(code), _PY_DRIVERS
    elif lang == "node":
        modules, drivers = _JS_IMPORT.findall(code), _JS_DRIVERS
    else:
        return None
    for module in modules:
        for name, client in drivers.items():
            if module == name or module.startswith(name + "."):
                return client
    return None


def driver_host(code: str, schemes: str) -> str:
    """The host ``code`` connects to: a ``host`` argument or option, or the host of a
    URL with one of ``schemes`` (a regex alternation); "" when neither is written."""
    pattern = (
        rf"""\bhost\s*[=:]\s*['"]?([\w.-]+)|(?:{schemes})(?:\+\w+)?://"""
        r"""(?:[^@/\s'"]*@)?([\w.-]+)"""
    )
    match = re.search(pattern, code)
    if match is None:
        return ""
    return (match.group(1) or match.group(2) or "").lower()


def local_test_code(code: str, host: str) -> bool:
    """Whether ``code`` is a test suite talking to a data store on this machine (or on
    no host it names), whose drops and flushes are its own fixture work."""
    return host in _LOOPBACK and _TEST_CODE.search(code) is not None


def _twins(client: str, host: str, sql: str, code: str) -> list[str]:
    """The command lines that run ``sql`` as the code does: for SQLite, one per file
    the code opens (the statement is judged against each), and a file named at run
    time (``connect(os.environ['DB'])``) may be any database."""
    if client == "sqlite3":
        files = list(dict.fromkeys(_SQLITE_FILE.findall(code)))[:4]
        if len(_SQLITE_OPEN.findall(code)) > len(_SQLITE_FILE.findall(code)):
            files.append(_RUN_TIME_FILE)
        return [shlex.join(["sqlite3", name, sql]) for name in files or [":memory:"]]
    return [_twin(client, host, sql)]


def _twin(client: str, host: str, sql: str) -> str:
    flag = {"psql": "-c", "mysql": "-e", "sqlcmd": "-Q", "clickhouse-client": "-q",
            "snowsql": "-q"}[client]  # fmt: skip
    words = [client, *(["-h", host] if host else []), flag, sql]
    if client == "sqlcmd" and host:
        words = ["sqlcmd", "-S", host, flag, sql]
    return shlex.join(words)
