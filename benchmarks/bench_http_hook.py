"""Claude Code's ``http`` hook round trip: one client posting real PreToolUse
payloads, one after another, to a real ``opsgate serve`` (SQLite, every decision
durably audited), over one kept-alive connection as Claude Code's HTTP client does.

    python benchmarks/bench_http_hook.py [--requests 2000]

Prints p50/p95/p99 of the whole round trip (request written → answer read), for
commands that are allowed (the common case: an empty answer) and for all of them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import tempfile
import time
from pathlib import Path

from _common import percentile
from bench_server import Server, bootstrap

COMMANDS = ["ls -la", "git status", "cat README.md", "grep -rn TODO src", "pytest -q",
            "rm -rf /srv/data", "git push --force origin main"]  # fmt: skip


def payload(command: str, n: int) -> bytes:
    return json.dumps({
        "session_id": "bench", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp/project",
        "prompt_id": f"p{n}", "permission_mode": "default", "effort": {"level": "medium"},
        "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": command, "description": "bench"}, "tool_use_id": f"t{n}",
    }).encode()  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            _owner, agent = bootstrap(server)
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            headers = {**agent, "Content-Type": "application/json"}
            allowed: list[float] = []
            every: list[float] = []
            for n in range(ns.requests + 200):
                command = COMMANDS[n % len(COMMANDS)]
                body = payload(command, n)
                t0 = time.perf_counter()
                conn.request("POST", "/api/v1/hooks/claude", body=body, headers=headers)
                answer = conn.getresponse().read()
                took = (time.perf_counter() - t0) * 1000
                if n < 200:
                    continue  # warm-up
                every.append(took)
                if answer == b"{}":
                    allowed.append(took)
            for label, ms in (("allowed", allowed), ("all", every)):
                print(f"http hook round trip ({label:>7}, n={len(ms)}): "
                      f"p50 {percentile(ms, 50):.2f} ms  p95 {percentile(ms, 95):.2f} ms  "
                      f"p99 {percentile(ms, 99):.2f} ms")  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":
    main()
