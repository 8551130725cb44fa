"""One hook process, for any agent: read the payload, ask the resident service or
decide in a forked child, and answer in that agent's protocol.

Every agent runs the tool when a hook crashes, overruns or answers in a form it does
not read as a block, so everything that can go wrong here — oversized input, an
exception, a watchdog overrun, a child killed by a signal — becomes the adapter's
own blocking form (``adapter.fail``), never a non-zero exit the agent would skip.

An adapter module provides ``KEY`` (its name on the decision service's socket),
``respond(raw) -> (stdout, exit code)`` and ``fail(reason) -> (stdout, stderr, exit
code)``.  Only the cheapest standard modules are imported here: this is the hot path.

In protected mode (``system`` names the root-owned configuration) the answer comes
from the service running as opsgate's own user, or the call is blocked: deciding
here would use state the agent's user can change.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
    from types import FrameType, ModuleType
else:
    import _signal  # not `signal`: signal.py imports enum (about 4 ms on the hot path)

__all__ = ["MAX_INPUT", "WATCHDOG_SECONDS", "run"]

MAX_INPUT = 1024 * 1024
WATCHDOG_SECONDS = 5.0
_LOST = "opsgate blocked this tool call (fail closed): its answer could not be written to stdout\n"


class _Overrun(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Overrun


def run(adapter: ModuleType, system: str | None = None) -> int:
    """The whole hook process for ``adapter``; returns the exit code."""
    _signal.signal(_signal.SIGALRM, _alarm)
    _signal.setitimer(_signal.ITIMER_REAL, WATCHDOG_SECONDS)
    try:
        if sys.stdout is None:  # started without stdout: no answer can be read as one
            return _emit(*adapter.fail("the hook was started without stdout"))
        raw = sys.stdin.buffer.read(MAX_INPUT + 1)
        if len(raw) > MAX_INPUT:
            return _emit(*adapter.fail(f"input larger than {MAX_INPUT} bytes"))
        from opsgate.hooks import _client

        if system is not None:
            reply = _client.ask_system(system, adapter.KEY, raw)
            return _emit(*(adapter.fail(reply) if isinstance(reply, str) else reply))
        answer = _client.ask_daemon(adapter.KEY, raw)
        if answer is None:
            answer = _isolated(adapter, raw)
        return _emit(*answer)
    except _Overrun:
        return _emit(*adapter.fail(f"the decision took longer than {WATCHDOG_SECONDS:.0f} s"))
    except BaseException as exc:
        return _emit(*adapter.fail(f"internal error: {type(exc).__name__}: {exc}"[:500]))
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)


def _emit(out: str, err: str, code: int) -> int:
    """Write the answer; exit 2 when any of it cannot be written whole (stdout closed,
    its reader gone, a full disk, a reader that does not read within a fresh
    watchdog): for Claude Code and Codex a deny is JSON with exit 0, so a deny that was
    lost must not leave an exit 0 behind.  Written with ``os.write`` on the streams'
    descriptors, so nothing stays buffered for the interpreter's exit to trip on."""
    try:
        _signal.setitimer(_signal.ITIMER_REAL, WATCHDOG_SECONDS)
        if not _write(sys.stdout, out):
            _write(sys.stderr, _LOST)  # Codex reads exit 2 as a block only with a reason
            return 2
        written = _write(sys.stderr, err)
        _signal.setitimer(_signal.ITIMER_REAL, 0)
    except _Overrun:
        return 2
    return code if written else 2


def _write(stream: object, text: str) -> bool:
    """All of ``text`` on ``stream``'s descriptor; False when the stream is missing
    (None: the process started without it) or takes less than all of it."""
    if not text:
        return True
    data = text.encode()
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        while data:
            sent = os.write(fd, data)
            if sent <= 0:
                return False
            data = data[sent:]
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _isolated(adapter: ModuleType, raw: bytes) -> tuple[str, str, int]:
    """Decide in a forked child, so that a crash in native code (a parser segfault)
    becomes a block here, never a dead hook that the agent reads as "no objection"."""
    if not hasattr(os, "fork") or not _fork_wanted():
        return _safely(adapter, raw)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: decide, report, and leave without running any cleanup
        os.close(read_fd)
        status = 3
        try:
            out, err, code = _safely(adapter, raw)
            os.write(write_fd, b"%d %d\n" % (code, len(out.encode())) + (out + err).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks = []
    try:
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
    except _Overrun:
        os.kill(pid, 9)  # the watchdog fired: stop the child, then block
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return adapter.fail(f"the classifier crashed (signal {os.WTERMSIG(status)})")  # type: ignore[no-any-return]
    head, _, body = b"".join(chunks).partition(b"\n")
    parts = head.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return adapter.fail("no answer from the classifier")  # type: ignore[no-any-return]
    size = int(parts[1])
    return body[:size].decode(), body[size:].decode(), int(parts[0])


def _fork_wanted() -> bool:
    """Only an explicit false word in ``OPSGATE_HOOK_FORK`` turns the isolation off (a
    typo keeps the safer way); the parser is imported only when the variable is set."""
    flag = os.environ.get("OPSGATE_HOOK_FORK")
    if not flag:
        return True
    from opsgate._boolean import parse_bool

    return parse_bool(flag) is not False


def _safely(adapter: ModuleType, raw: bytes) -> tuple[str, str, int]:
    """``adapter.respond`` with every exception turned into the adapter's block."""
    try:
        out, code = adapter.respond(raw)
    except Exception as exc:
        return adapter.fail(f"{type(exc).__name__}: {exc}"[:500])  # type: ignore[no-any-return]
    return out, "", code
