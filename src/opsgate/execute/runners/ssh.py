"""The SSH runner (asyncssh): argv steps on a remote host.

Where and as whom come from the inventory target's connection settings: ``host``,
``port`` (22), ``user``, ``key`` (``secret:NAME`` holding a private key), and for
backup steps ``backup_user`` / ``backup_key`` — a second account that owns the
backup directory, so the operating credentials cannot delete a backup.

Host keys are always checked: ``host_key`` pins the server's public key
(``ssh-ed25519 AAAA…``); otherwise ``known_hosts`` names a file; otherwise the
executor user's ``~/.ssh/known_hosts``.  There is no switch that turns checking
off.  No agent forwarding, no ``~/.ssh/config``, no password prompts.

The remote command is ``shlex.join(argv)``: quoted by construction.  Secrets a
step needs in its environment are written to the command's stdin and read into
variables by a fixed prelude, so they never appear in the remote argv (``ps``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from typing import Any

from opsgate.execute.runner import Endpoint, Sink, Step, StepResult

__all__ = ["SshRunner", "remote_command"]

CONNECT_TIMEOUT = 15.0


def remote_command(step: Step) -> tuple[str, str]:
    """(command line, stdin) for ``step``: argv quoted word by word; environment
    values delivered on stdin, one line each, read by a fixed prelude."""
    command = shlex.join(step.argv)
    if not step.env:
        return command, ""
    names = sorted(step.env)
    values = []
    for name in names:
        raw = step.env[name]
        value = raw if isinstance(raw, str) else raw.reveal()
        if "\n" in value or "\r" in value:
            raise ValueError(f"environment value {name} spans lines; store it base64-encoded")
        values.append(value)
    prelude = " && ".join(f"IFS= read -r {n} && export {n}" for n in names)
    return f"{prelude} && exec {command}", "".join(v + "\n" for v in values)


def _known_hosts(endpoint: Endpoint, host: str, port: int) -> Any:
    import asyncssh

    pinned = endpoint.setting("host_key")
    if pinned:
        name = host if port == 22 else f"[{host}]:{port}"
        return asyncssh.import_known_hosts(f"{name} {pinned.strip()}\n")
    path = endpoint.setting("known_hosts")
    return path if path else ()  # (): asyncssh's default, ~/.ssh/known_hosts


class SshRunner:
    name = "ssh"

    def __init__(self, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.connect_timeout = connect_timeout

    def _login(self, endpoint: Endpoint, as_backup: bool) -> tuple[str, Any]:
        import asyncssh

        user_key, key_key = ("backup_user", "backup_key") if as_backup else ("user", "key")
        user = endpoint.setting(user_key)
        key = endpoint.credentials.get(key_key)
        if not user or key is None:
            raise ValueError(
                f"target {endpoint.name} has no {user_key}/{key_key} connection settings"
            )
        return user, [asyncssh.import_private_key(key.reveal())]

    async def run(self, endpoint: Endpoint, step: Step, sink: Sink) -> StepResult:
        import asyncssh

        started = time.monotonic()
        host = endpoint.setting("host") or endpoint.name
        port = int(endpoint.setting("port") or 22)
        try:
            user, keys = self._login(endpoint, step.as_backup)
            command, stdin = remote_command(step)
        except (ValueError, asyncssh.KeyImportError) as exc:
            return StepResult(None, 0.0, str(exc))
        try:
            async with asyncio.timeout(step.timeout):
                async with asyncssh.connect(
                    host,
                    port=port,
                    username=user,
                    client_keys=keys,
                    known_hosts=_known_hosts(endpoint, host, port),
                    agent_path=None,
                    agent_forwarding=False,
                    config=None,
                    password=None,
                    kbdint_auth=False,
                    connect_timeout=min(self.connect_timeout, step.timeout),
                ) as conn:
                    status = await _run(conn, command, stdin, sink)
        except TimeoutError:
            return StepResult(
                None, time.monotonic() - started, f"timed out after {step.timeout:g}s"
            )
        except (OSError, asyncssh.Error) as exc:
            return StepResult(
                None, time.monotonic() - started, f"ssh {user}@{host}:{port}: {_reason(exc)}"
            )
        return StepResult(status, time.monotonic() - started)


async def _run(conn: Any, command: str, stdin: str, sink: Sink) -> int | None:
    proc = await conn.create_process(command, encoding="utf-8", errors="replace")
    try:
        if stdin:
            proc.stdin.write(stdin)
        proc.stdin.write_eof()

        async def pump(stream: Any) -> None:
            while chunk := await stream.read(65536):
                sink(chunk)

        await asyncio.gather(pump(proc.stdout), pump(proc.stderr))
        await proc.wait()
    except BaseException:
        with contextlib.suppress(Exception):
            proc.kill()
        raise
    status: int | None = proc.exit_status
    if status is None or status < 0:
        return None if proc.exit_signal is None else 128
    return status


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__
