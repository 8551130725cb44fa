"""Fuzz the native hook client (``opsgate-hook-fast``) as a real process.

Inputs: the hook fuzzer's generated payloads and raw bytes (``fuzz_hook.py``), plus
adversarial ones — sizes around the 1 MiB limit, empty input, NUL bytes, invalid
UTF-8, deep nesting.  Each input goes, for one of the five agents, to a client whose
service is in one of these states: the real service; none (the Python hook decides);
killed mid-call; or a broken or hostile one from ``tests/fake_services.py`` (closes,
stops reading, dribbles, hangs, garbage, impossible lengths, RETRY) — per-user
clients (which fall back to the Python hook) and protected clients (which block).

Every run must end in a well-formed answer in that agent's protocol: exit 0 with its
answer or silence, or its own blocking form — never a signal, never another exit.

    python benchmarks/fuzz_native.py [--runs 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from burst_hook import services_of, start_service, stop_services  # noqa: E402

from fake_services import BEHAVIOURS, FakeService  # noqa: E402
from opsgate.hooks._native import Protected, compile_to, source  # noqa: E402
from opsgate.hooks._runner import MAX_INPUT  # noqa: E402

AGENTS = ("claude", "codex", "gemini", "cursor", "copilot")
FAULTS = sorted(b for b in BEHAVIOURS if b not in ("allows", "hangs", "dribbles"))
SLOW_FAULTS = ("hangs", "dribbles")  # seconds each: a few runs only
HEAL_MS = 100  # the healing wait, shortened: what is fuzzed is the answer, not the wait


def adversarial() -> list[bytes]:
    command = b'{"tool_name": "Bash", "tool_input": {"command": "rm -rf / #'
    return [
        b"",
        b"\x00" * 64,
        b"\xff\xfe invalid utf-8 \xc3\x28",
        b"[" * 100_000,
        b'{"tool_name": "Bash", "tool_input": {"command": "ls"}}' + b"\n" * 10,
        *(command + b" " * (n - len(command) - 3) + b'"}}'
          for n in (MAX_INPUT - 1, MAX_INPUT, MAX_INPUT + 1, MAX_INPUT + 4096, 3 * MAX_INPUT)),
    ]  # fmt: skip


def generated(count: int, seed: int) -> list[bytes]:
    """Payloads from the in-process fuzzer's strategies (hypothesis)."""
    from fuzz_hook import inputs
    from hypothesis import HealthCheck, given, settings

    seen: list[bytes] = []

    @given(inputs)
    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def collect(raw: bytes) -> None:
        seen.append(raw)

    collect()
    random.Random(seed).shuffle(seen)
    return seen


def valid(agent: str, proc: subprocess.CompletedProcess[bytes]) -> str | None:
    """None when ``proc`` is a well-formed answer in ``agent``'s protocol, else why not."""
    code, out, err = proc.returncode, proc.stdout, proc.stderr
    if code < 0:
        return f"killed by signal {-code}"
    if agent != "copilot" and code == 2:  # the blocking exit (Cursor's also prints JSON)
        return None if err.strip() or agent == "cursor" else "exit 2 without a reason"
    if code != 0:
        return f"exit {code}"
    if not out.strip():
        return None if agent in ("claude", "codex", "copilot") else "no answer"
    try:
        body = json.loads(out)
    except ValueError:
        return f"stdout is not JSON: {out[:80]!r}"
    return None if isinstance(body, dict) else "stdout is not a JSON object"


class Rig:
    """Clients and homes for every service state."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.user_client = compile_to(base / "user-client", source(heal_ms=HEAL_MS))
        if self.user_client is None:
            raise SystemExit("no C compiler")
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))
        }
        self.real = base / "real"
        self.fakes: dict[str, tuple[Path, Path, FakeService]] = {}
        for index, fault in enumerate(FAULTS + list(SLOW_FAULTS)):
            home = base / f"f{index}"
            (home / "run").mkdir(parents=True)
            sock = home / "run" / "hook.sock"
            protected = compile_to(base / f"p{index}", source(Protected(str(sock), os.getuid()),
                                                              heal_ms=HEAL_MS))  # fmt: skip
            assert protected is not None
            self.fakes[fault] = (home, protected, FakeService(sock, fault))
        self.service = start_service(self.real, {**self.env, "OPSGATE_HOME": str(self.real)})

    def run(self, mode: str, agent: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
        env = {**self.env, "OPSGATE_HOME": str(self.real)}
        command = [str(self.user_client), agent]
        if mode == "none":
            env["OPSGATE_HOME"] = str(self.base / "none")
            env["OPSGATE_HOOK_DAEMON"] = "0"
        elif mode.startswith(("user:", "protected:")):
            kind, fault = mode.split(":")
            home, protected, _ = self.fakes[fault]
            (home / "run" / "start.lock").touch()  # no real service may replace the fake
            env["OPSGATE_HOME"] = str(home)
            if kind == "protected":
                command = [str(protected), agent]
        if mode == "killed":
            threading.Timer(random.uniform(0, 0.03), self.kill).start()
        return subprocess.run(command, input=data, env=env, capture_output=True, timeout=60,
                              check=False)  # fmt: skip

    def kill(self) -> None:
        for pid in services_of(self.real):
            os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        for _, _, fake in self.fakes.values():
            fake.close()
        stop_services(self.real)
        self.service.wait(timeout=30)


def modes(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return "real"
    if roll < 0.45:
        return "none"
    if roll < 0.55:
        return "killed"
    if roll < 0.56:
        return f"{rng.choice(('user', 'protected'))}:{rng.choice(SLOW_FAULTS)}"
    return f"{rng.choice(('user', 'protected'))}:{rng.choice(FAULTS)}"


def fuzz(runs: int, seed: int) -> tuple[Counter[str], list[str]]:
    rng = random.Random(seed)
    datas = adversarial() + generated(max(0, runs - len(adversarial())), seed)
    base = Path(tempfile.mkdtemp(prefix="og-fz-"))
    rig = Rig(base)
    tally: Counter[str] = Counter()
    bad: list[str] = []
    try:
        for index, data in enumerate(datas[:runs]):
            agent, mode = AGENTS[index % len(AGENTS)], modes(rng)
            proc = rig.run(mode, agent, data)
            problem = valid(agent, proc)
            tally[f"{mode.split(':')[0]} exit {proc.returncode}"] += 1
            if problem:
                bad.append(f"{mode} {agent}: {problem}; input {data[:60]!r} ({len(data)} bytes)")
            if mode == "killed":
                time.sleep(0.05)  # let the restarted service come up before the next run
    finally:
        rig.close()
        shutil.rmtree(base, ignore_errors=True)
    return tally, bad


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    tally, bad = fuzz(args.runs, args.seed)
    print(f"native client: {sum(tally.values())} runs in {time.perf_counter() - started:.0f} s, "
          f"{len(bad)} malformed or fatal")  # fmt: skip
    for key, count in sorted(tally.items()):
        print(f"  {key}: {count}")
    for line in bad[:20]:
        print(f"  BAD {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
