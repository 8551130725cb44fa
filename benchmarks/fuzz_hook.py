"""Fuzz the Claude Code hook with generated inputs (hypothesis).

In process: ``respond()`` must return an answer (exit 0 with valid hook JSON, or
silence) or raise ``HookInputError`` (the hook exits 2).  Any other exception is a
crash.  The audit sink is a no-op here, for throughput; the audit path has its own
tests.  Then a sample of inputs goes through the real process, whose exit code must
be 0 or 2 — never 1, never a signal.

    python benchmarks/fuzz_hook.py --examples 100000 [--processes 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsgate.hooks._respond import HookInputError
from opsgate.hooks.claude_code import respond

SHELL_ALPHABET = list("abcdefghijklmnopqrstuvwxyz-/~.$(){}[]|&;<>'\"`\\ \n\t*?!=#0123456789_:,@%^+")
WORDS = ["rm", "-rf", "~", "/", "sudo", "bash", "-c", "eval", "git", "push", "--force", "main",
         "kubectl", "delete", "psql", "-c", "DROP TABLE x", "curl", "|", "sh", "&&", ";", "$(",
         ")", "`", "<<EOF\n", "\nEOF\n", "cat", ".env", "echo", "xargs", "find", "-exec", "{}",
         "\\;", "python3", "-c", "'", '"', "ssh", "host", "docker", "exec", "env", "timeout",
         "5", "terraform", "destroy", "printenv", "${X:-rm}", "\U0001F600", "{", "}"]  # fmt: skip
TOOLS = ["Bash", "PowerShell", "Read", "Write", "Edit", "WebFetch", "mcp__postgres__query",
         "mcp__x__delete_all", "Glob", "NotebookEdit", "Unknown"]  # fmt: skip

shellish = st.text(alphabet=st.sampled_from(SHELL_ALPHABET), max_size=300)
tokens = st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
payloads = st.fixed_dictionaries(
    {"tool_name": st.sampled_from(TOOLS) | st.text(max_size=20),
     "tool_input": st.fixed_dictionaries(
         {}, optional={"command": st.one_of(shellish, tokens, st.text(max_size=200), json_values),
                       "file_path": st.text(max_size=80), "url": st.text(max_size=80),
                       "sql": st.text(max_size=120), "content": st.text(max_size=200)})},
    optional={"cwd": st.text(max_size=40) | st.just("/home/dev/project"),
              "session_id": json_values},
).map(lambda d: json.dumps(d).encode())  # fmt: skip
raw_bytes = st.binary(max_size=400)
inputs = st.one_of(
    payloads, payloads, payloads, raw_bytes, json_values.map(lambda v: json.dumps(v).encode())
)

SEEN: list[bytes] = []
CRASHES: list[tuple[bytes, str]] = []
COUNTS = {"answered": 0, "exit2": 0}


def _sink(_action: object, _decision: object) -> None:
    return None


def check(raw: bytes) -> None:
    SEEN.append(raw) if len(SEEN) < 5000 else None
    try:
        out, code = respond(raw, {}, _sink)
    except HookInputError:
        COUNTS["exit2"] += 1
        return
    except Exception as exc:
        CRASHES.append((raw, f"{type(exc).__name__}: {exc}"))
        return
    assert code == 0
    if out:
        decision = json.loads(out)["hookSpecificOutput"]["permissionDecision"]
        assert decision in ("ask", "deny")
    COUNTS["answered"] += 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=500)
    args = parser.parse_args()
    os.environ.pop("CLAUDE_PROJECT_DIR", None)
    started = time.perf_counter()

    @given(inputs)
    @settings(max_examples=args.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def fuzz(raw: bytes) -> None:
        check(raw)

    fuzz()
    total = COUNTS["answered"] + COUNTS["exit2"] + len(CRASHES)
    print(f"in-process: {total} inputs in {time.perf_counter() - started:.0f} s — "
          f"{COUNTS['answered']} answered, {COUNTS['exit2']} rejected as malformed (exit 2), "
          f"{len(CRASHES)} crashes")  # fmt: skip
    for raw, why in CRASHES[:10]:
        print(f"  CRASH {why}: {raw[:120]!r}")
    bad = _processes(args.processes)
    return 1 if CRASHES or bad else 0


def _processes(count: int) -> int:
    opsgate = str(Path(sys.executable).with_name("opsgate"))
    sample = random.Random(7).sample(SEEN, min(count, len(SEEN)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
    env.update(OPSGATE_HOOK_DAEMON="0", OPSGATE_HOME=f"/tmp/opsgate-fuzz-{os.getpid()}")
    codes: dict[int, int] = {}
    bad = 0
    for raw in sample:
        proc = subprocess.run([opsgate, "hook", "claude"], input=raw, capture_output=True,
                              env=env, timeout=60, check=False)  # fmt: skip
        codes[proc.returncode] = codes.get(proc.returncode, 0) + 1
        bad += proc.returncode not in (0, 2)
    print(f"whole process: {len(sample)} inputs, exit codes {dict(sorted(codes.items()))}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
