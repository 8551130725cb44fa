"""Claude Code PreToolUse hook.

Protocol: the payload arrives as JSON on stdin.  Allow is a silent exit 0.  Ask and
deny are a JSON ``hookSpecificOutput`` on stdout with exit 0.  Anything that goes
wrong — malformed or oversized input, a crash, an overrun — exits 2 with the reason
on stderr, which Claude Code treats as a block.  Never exit 1: Claude Code runs the
tool after a non-blocking error.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
else:
    import _signal  # not `signal`: signal.py imports enum (about 4 ms on the hot path)

# Only the standard library's cheapest modules at import time: this module is on the
# hook's fast path, where `typing`, `json` and the classifier would cost milliseconds.
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import FrameType
    from typing import Any

    from opsgate.models import Action, Decision

    AuditSink = Callable[[Action, Decision], None]

__all__ = ["main", "respond"]

MAX_INPUT = 1024 * 1024
WATCHDOG_SECONDS = 5.0
_EXIT_BLOCK = 2


class _Overrun(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Overrun


def main(argv: Sequence[str] = ()) -> int:
    _signal.signal(_signal.SIGALRM, _alarm)
    _signal.setitimer(_signal.ITIMER_REAL, WATCHDOG_SECONDS)
    try:
        raw = sys.stdin.buffer.read(MAX_INPUT + 1)
        if len(raw) > MAX_INPUT:
            return _block(f"input larger than {MAX_INPUT} bytes")
        from opsgate.hooks import _client

        answer = _client.ask_daemon("claude", raw)
        if answer is not None:
            out, err, code = answer
        else:
            out, err, code = _isolated(raw)
        if out:
            sys.stdout.write(out)
            sys.stdout.flush()
        if err:
            sys.stderr.write(err)
            sys.stderr.flush()
        return code
    except _Overrun:
        return _block(f"the decision took longer than {WATCHDOG_SECONDS:.0f} s")
    except BaseException as exc:
        return _block(f"internal error: {type(exc).__name__}: {exc}"[:500])
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)


def _isolated(raw: bytes) -> tuple[str, str, int]:
    """Decide in a forked child, so that a crash in native code (a parser segfault)
    becomes a block here, never a dead hook that the agent reads as "no objection"."""
    if not hasattr(os, "fork") or os.environ.get("OPSGATE_HOOK_FORK", "1") == "0":
        out, code = respond(raw)
        return out, "", code
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: decide, report, and leave without running any cleanup
        os.close(read_fd)
        status = 3
        try:
            out, code = respond(raw)
            os.write(write_fd, b"%d\n" % code + out.encode())
            status = 0
        except BaseException as exc:  # the parent turns this into exit 2
            message = f"{type(exc).__name__}: {exc}"[:500]
            os.write(write_fd, b"E\n" + message.encode("utf-8", "replace"))
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
    data = b"".join(chunks)
    head, _, body = data.partition(b"\n")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        reason = f"the classifier crashed (signal {sig})"
        return "", f"opsgate blocked this tool call (fail closed): {reason}\n", 2
    if head == b"E" or not head.isdigit():
        reason = body.decode("utf-8", "replace") or "no answer from the classifier"
        return "", f"opsgate blocked this tool call (fail closed): {reason}\n", 2
    return body.decode("utf-8"), "", int(head)


def _block(reason: str) -> int:
    sys.stderr.write(f"opsgate blocked this tool call (fail closed): {reason}\n")
    sys.stderr.flush()
    return _EXIT_BLOCK


def respond(
    raw: bytes, env: Mapping[str, str] | None = None, audit: AuditSink | None = None
) -> tuple[str, int]:
    import json

    """The hook's stdout and exit code for one payload.  ``env`` stands in for the
    process environment (the resident service answers for other processes)."""
    env = os.environ if env is None else env
    payload = _parse(raw)
    from opsgate.guard import evaluate, load_configured_policy
    from opsgate.hooks._render import render_reason
    from opsgate.models import Action, Environment, Impact, Verdict

    cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else None
    project = env.get("CLAUDE_PROJECT_DIR") or cwd
    action = Action(
        kind="",
        tool=payload["tool_name"],
        input=payload["tool_input"],
        cwd=cwd,
        project_dir=project,
        agent="claude-code",
        session=payload.get("session_id") if isinstance(payload.get("session_id"), str) else None,
    )
    decision = evaluate(action, load_configured_policy(env=env))
    if audit is None:
        _audit(action, decision)
    else:
        audit(action, decision)
    if decision.verdict is Verdict.ALLOW:
        return "", 0
    ask = (
        decision.verdict is Verdict.REQUIRE_APPROVAL
        and decision.environment is not Environment.PRODUCTION
        and decision.impact is not Impact.DESTRUCTIVE
    )
    verdict = "ask" if ask else "deny"
    body = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": verdict,
            "permissionDecisionReason": render_reason(decision, ask=ask),
        }
    }
    return json.dumps(body) + "\n", 0


class HookInputError(Exception):
    pass


def _parse(raw: bytes) -> dict[str, Any]:
    import json

    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise HookInputError(f"the hook input is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(payload, dict):
        raise HookInputError("the hook input must be a JSON object")
    if not isinstance(payload.get("tool_name"), str) or not isinstance(
        payload.get("tool_input"), dict
    ):
        raise HookInputError("the hook input needs tool_name (string) and tool_input (object)")
    return payload


def _audit(action: Action, decision: Decision) -> None:
    """Record the decision; if it cannot be recorded, the answer is deny (safeguard 5)."""
    from opsgate.hooks._audit import record_decision

    record_decision(action, decision)  # raises → main() exits 2
