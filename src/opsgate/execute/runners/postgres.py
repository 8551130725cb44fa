"""The PostgreSQL runner (psycopg 3, async): SQL steps against a database target.

The connection string comes from the target's ``dsn`` connection setting, which
must be a ``secret:NAME`` (it usually holds a password).  Read-only steps run in
a ``READ ONLY`` transaction on a session whose default is read-only too
(``default_transaction_read_only``), sent with the extended protocol so the text
is exactly one statement (no ``COMMIT; DELETE …`` smuggling); writes from such a
step fail in the database, not in opsgate.  Write steps (migrations) run in one
transaction that commits only if every statement succeeded.  Every step has a
server-side ``statement_timeout`` as well as the client timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from opsgate.execute.runner import Endpoint, Sink, Step, StepResult

__all__ = ["PostgresRunner"]

MAX_ROWS = 1000


class PostgresRunner:
    name = "postgres"

    async def run(self, endpoint: Endpoint, step: Step, sink: Sink) -> StepResult:
        import psycopg

        started = time.monotonic()
        dsn = endpoint.credentials.get("dsn")
        if dsn is None or step.sql is None:
            return StepResult(None, 0.0, f"target {endpoint.name} has no dsn, or the step no SQL")
        ms = int(step.timeout * 1000)
        options = f"-c statement_timeout={ms}"
        if step.read_only:
            options += " -c default_transaction_read_only=on"
        try:
            async with asyncio.timeout(step.timeout + 5):
                conn = await psycopg.AsyncConnection.connect(
                    dsn.reveal(),
                    connect_timeout=max(1, int(min(step.timeout, 15))),
                    options=options,
                )
                async with conn:
                    if step.read_only:
                        await conn.set_read_only(True)
                    await _execute(conn, step, sink)
        except TimeoutError:
            return StepResult(
                None, time.monotonic() - started, f"timed out after {step.timeout:g}s"
            )
        except psycopg.Error as exc:
            state = getattr(exc, "sqlstate", None) or "connection"
            sink(f"ERROR ({state}): {str(exc).strip()}\n")
            return StepResult(1, time.monotonic() - started, f"{state}: {str(exc).strip()}")
        return StepResult(0, time.monotonic() - started)


async def _execute(conn: Any, step: Step, sink: Sink) -> None:
    assert step.sql is not None
    # A binary cursor always uses the extended query protocol: one statement only.
    # Migrations (writes) may hold several statements: the simple protocol, inside
    # the connection's one transaction (psycopg opens it; ``async with`` commits).
    async with conn.cursor(binary=step.read_only) as cur:
        await cur.execute(step.sql)
        if cur.description is None:
            sink(f"{cur.statusmessage or 'OK'}\n")
            return
        sink("\t".join(c.name for c in cur.description) + "\n")
        rows = await cur.fetchmany(MAX_ROWS + 1)
        for row in rows[:MAX_ROWS]:
            sink("\t".join("NULL" if v is None else str(v) for v in row) + "\n")
        if len(rows) > MAX_ROWS:
            sink(f"… more than {MAX_ROWS} rows; refine the query\n")
        else:
            sink(f"({len(rows)} rows)\n")
