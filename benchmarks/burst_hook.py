"""A burst of concurrent hook processes through a decision-service restart.

Half the calls are harmless (``git status``, ``ls -la``), half destructive
(``rm -rf ~``, ``git push --force origin main``).  The resident service is SIGKILLed
``--kill-after`` seconds into the burst; the first caller that finds it gone starts a
new one and the others wait for it.  Reported: every destructive call must be blocked
(never allowed, never a signal death), and the share of harmless calls answered allow
within the hook's 5 s watchdog.

    python benchmarks/burst_hook.py [--calls 200] [--kill-after 0.3] [--client native|python]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HARMLESS = ("git status", "ls -la")
DESTRUCTIVE = ("rm -rf ~", "git push --force origin main")
WATCHDOG_S = 5.0


@dataclass(frozen=True)
class Call:
    destructive: bool
    code: int
    verdict: str  # allow, ask, block, or "signal" / "malformed"
    seconds: float


@dataclass(frozen=True)
class Burst:
    calls: list[Call]
    restarted: bool

    def summary(self) -> dict[str, float]:
        harmless = [c for c in self.calls if not c.destructive]
        destructive = [c for c in self.calls if c.destructive]
        in_time = [c for c in harmless if c.verdict == "allow" and c.seconds <= WATCHDOG_S]
        ordered = sorted(c.seconds for c in self.calls)
        return {
            "calls": len(self.calls),
            "destructive_blocked": sum(c.verdict == "block" for c in destructive),
            "destructive": len(destructive),
            "harmless_allowed_in_time": len(in_time),
            "harmless": len(harmless),
            "signal_deaths": sum(c.code < 0 for c in self.calls),
            "p50_s": ordered[len(ordered) // 2],
            "max_s": ordered[-1],
        }


def payload(command: str) -> bytes:
    return json.dumps({
        "session_id": "burst", "transcript_path": "", "cwd": "/home/dev/project",
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": command}, "tool_use_id": "toolu_burst",
    }).encode()  # fmt: skip


def verdict(proc: subprocess.CompletedProcess[bytes]) -> str:
    """How Claude Code reads the answer."""
    if proc.returncode < 0:
        return "signal"
    if proc.returncode == 2:
        return "block"
    if proc.returncode != 0:
        return "malformed"
    if not proc.stdout.strip():
        return "allow"
    try:
        decision = json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"]
    except (ValueError, KeyError, TypeError):
        return "malformed"
    return {"deny": "block", "ask": "ask"}.get(decision, "malformed")


def start_service(home: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsgate.hooks._daemon", "--home", str(home), "--idle", "120"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    sock = home / "run" / "hook.sock"
    deadline = time.monotonic() + 60
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the decision service did not start")
        time.sleep(0.05)
    return proc


def services_of(home: Path) -> list[int]:
    """PIDs of decision services serving ``home`` (the one started here, and any a
    hook restarted), found by their exact command line."""
    wanted = ["-m", "opsgate.hooks._daemon", "--home", str(home)]
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(args[i : i + len(wanted)] == wanted for i in range(len(args))):
            pids.append(int(entry.name))
    return pids


def stop_services(home: Path) -> None:
    for pid in services_of(home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def burst(command: list[str], home: Path, env: dict[str, str], *, calls: int,
          kill_after: float | None) -> Burst:  # fmt: skip
    """Run ``calls`` hook processes at once against a service for ``home``, killing it
    ``kill_after`` seconds in; the caller stops any service left (``stop_services``)."""
    service = start_service(home, env)
    subprocess.run(command, input=payload("ls"), env=env, capture_output=True, check=False)
    results: list[Call | None] = [None] * calls
    gate = threading.Barrier(calls + 1)

    def one(index: int) -> None:
        destructive = index % 2 == 1
        pool = DESTRUCTIVE if destructive else HARMLESS
        data = payload(pool[(index // 2) % len(pool)])
        gate.wait()
        started = time.monotonic()
        proc = subprocess.run(command, input=data, env=env, capture_output=True, check=False)
        results[index] = Call(destructive, proc.returncode, verdict(proc),
                              time.monotonic() - started)  # fmt: skip

    threads = [threading.Thread(target=one, args=(i,)) for i in range(calls)]
    for thread in threads:
        thread.start()
    gate.wait()
    if kill_after is not None:
        time.sleep(kill_after)
        service.kill()
    for thread in threads:
        thread.join()
    service.wait()
    restarted = bool(services_of(home))
    return Burst([r for r in results if r is not None], restarted)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--kill-after", type=float, default=0.3)
    parser.add_argument("--client", choices=("native", "python"), default="native")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="opsgate-burst-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    env["OPSGATE_HOME"] = str(home)
    if args.client == "native":
        from opsgate.hooks._native import build

        client = build(str(home))
        if client is None:
            print("no C compiler")
            return 1
        command = [str(client), "claude"]
    else:
        command = [str(Path(sys.executable).with_name("opsgate-hook")), "claude"]
    try:
        result = burst(command, home, env, calls=args.calls, kill_after=args.kill_after)
    finally:
        stop_services(home)
        shutil.rmtree(home, ignore_errors=True)
    summary = result.summary()
    print(json.dumps({"client": args.client, "kill_after": args.kill_after, **summary,
                      "restarted": result.restarted}))  # fmt: skip
    ok = summary["destructive_blocked"] == summary["destructive"] and not summary["signal_deaths"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
