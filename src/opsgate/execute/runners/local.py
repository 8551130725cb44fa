"""The local runner: a process on the host opsgate itself runs on.

Off unless configured (``OPSGATE_LOCAL_RUNNER=1`` or ``Executor(local_runner=True)``),
because an agent should never control the box it runs on (seed 002): opsgate's
normal targets are other machines, reached over SSH with credentials the agent
never sees.  Turn it on only where opsgate runs on a dedicated operations host.

The child gets a minimal environment (PATH, HOME, LANG) plus the step's own
variables — never opsgate's environment, which may hold ``OPSGATE_SECRET_KEY`` or
a database URL.  It runs in its own session, so a timeout kills the whole group.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import time

from opsgate.execute.runner import Endpoint, Sink, Step, StepResult

__all__ = ["LocalRunner"]

_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}


class LocalRunner:
    name = "local"

    async def run(self, endpoint: Endpoint, step: Step, sink: Sink) -> StepResult:
        if not step.argv:
            return StepResult(None, 0.0, "the local runner runs argv steps only")
        env = dict(_BASE_ENV, HOME=os.environ.get("HOME", "/"))
        if endpoint.setting("path"):
            env["PATH"] = endpoint.settings["path"]
        env.update({k: v if isinstance(v, str) else v.reveal() for k, v in step.env.items()})
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *step.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=endpoint.setting("cwd") or "/",
                start_new_session=True,
            )
        except OSError as exc:
            return StepResult(
                127, time.monotonic() - started, f"cannot start {step.argv[0]}: {exc}"
            )
        try:
            async with asyncio.timeout(step.timeout):
                assert proc.stdout is not None
                decoder = codecs.getincrementaldecoder("utf-8")("replace")
                while chunk := await proc.stdout.read(65536):
                    sink(decoder.decode(chunk))
                sink(decoder.decode(b"", final=True))
                status = await proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            return StepResult(
                None, time.monotonic() - started, f"timed out after {step.timeout:g}s"
            )
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        return StepResult(status, time.monotonic() - started)
