"""Whole-process hook latency: spawn ``opsgate hook claude`` once per call, as Claude
Code does, with a real PreToolUse payload on stdin.

Series: the native C client (``opsgate hook-client build``) and the Python launcher
against the resident decision service (the default fast path), in-process
(``OPSGATE_HOOK_DAEMON=0``), and a bare ``python -c pass`` for scale.  Each series
runs in its own fresh opsgate home, so the audit log is written for real.
Run: ``python benchmarks/bench_hook.py [--calls 200]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import load_cases, payload, percentile

OPSGATE = str(Path(sys.executable).with_name("opsgate"))
LAUNCHER = str(Path(sys.executable).with_name("opsgate-hook"))
LAUNCHER = str(Path(sys.executable).with_name("opsgate-hook"))


def series(cmd: list[str], datas: list[bytes], env: dict[str, str]) -> list[float]:
    out = []
    for data in datas:
        t0 = time.perf_counter()
        subprocess.run(cmd, input=data, capture_output=True, env=env, check=False)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    print(
        f"  {name:<34} p50 {percentile(ms, 50):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms  "
        f"p99 {percentile(ms, 99):6.1f} ms  (n={len(ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    cases = load_cases()
    step = max(1, len(cases) // args.calls)
    datas = [payload(c) for c in cases[::step]][: args.calls]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"whole-process hook latency, {len(datas)} calls per series, corpus payloads")
    report("python -c pass (baseline)", series([sys.executable, "-c", "pass"], datas, base))
    runs = (
        ("C client claude (service)", ["@fast", "claude"], {}),
        ("opsgate-hook claude (service)", [LAUNCHER, "claude"], {}),
        ("opsgate hook claude (service)", [OPSGATE, "hook", "claude"], {}),
        ("opsgate-hook claude (in-process)", [LAUNCHER, "claude"], {"OPSGATE_HOOK_DAEMON": "0"}),
    )
    for name, cmd, extra in runs:
        home = tempfile.mkdtemp(prefix="opsgate-bench-")
        env = base | extra | {"OPSGATE_HOME": home}
        if cmd[0] == "@fast":  # the native client, built as the service would build it
            from opsgate.hooks._native import build

            client = build(home)
            if client is None:
                print(f"  {name:<34} (no C compiler)")
                continue
            cmd = [str(client), *cmd[1:]]
        series(cmd, datas[:3], env)  # start the service, warm caches
        time.sleep(1.5)
        report(name, series(cmd, datas, env))
        subprocess.run(["pkill", "-f", f"opsgate.hooks._daemon --home {home}"], check=False)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
