"""Whole-process hook latency: spawn ``opsgate hook claude`` once per call, as Claude
Code does, with a real PreToolUse payload on stdin.

Series: the native C client (``opsgate hook-client build``) and the Python launcher
against the resident decision service (the default fast path), in-process
(``OPSGATE_HOOK_DAEMON=0``), and a bare ``python -c pass`` for scale.  Each series
runs in its own fresh opsgate home, so the audit log is written for real.  As root,
also protected mode: ``opsgate install claude --system`` under a temporary root with
a throwaway service user running the service, and its two root-owned hook programs.
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
    protected(datas, base)


def protected(datas: list[bytes], base: dict[str, str]) -> None:
    """Protected mode's two hook programs against the service run by its own user."""
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("setpriv") is None:
        print("  (protected mode: needs root, useradd and setpriv)")
        return
    root = Path(tempfile.mkdtemp(prefix="og-bench-"))
    root.chmod(0o755)
    user = f"ogb{os.urandom(4).hex()}"
    cli = [OPSGATE, "install", "claude", "--system", "--root", str(root), "--system-user", user]
    setup = subprocess.run([*cli, "--no-start"], capture_output=True, text=True, check=False)
    service = None
    try:
        if setup.returncode != 0:
            print(f"  (protected mode: {setup.stderr.strip()})")
            return
        ids = [subprocess.run(["id", flag, user], capture_output=True, text=True, check=True)
               .stdout.strip() for flag in ("-u", "-g")]  # fmt: skip
        service = subprocess.Popen(
            ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups",
             sys.executable, "-I", "-m", "opsgate.hooks._daemon", "--system",
             str(root / "etc/opsgate/hook.conf")], stdout=subprocess.DEVNULL,
        )  # fmt: skip
        while not (root / "run/opsgate/hook.sock").exists():
            time.sleep(0.05)
        for name, program in (("C client claude (protected)", "opsgate-hook-fast"),
                              ("opsgate-hook claude (protected)", "opsgate-hook")):  # fmt: skip
            cmd = [str(root / "usr/local/lib/opsgate" / program), "claude"]
            series(cmd, datas[:3], base)
            report(name, series(cmd, datas, base))
    finally:
        if service is not None:
            service.terminate()
            service.wait()
        uninstall = [OPSGATE, "uninstall", "claude", "--system", "--root", str(root), "--purge"]
        subprocess.run(uninstall, capture_output=True, check=False)
        subprocess.run(["userdel", user], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
