"""Hook clients compared under the same load: each round runs one call of every series,
in random order, so a busy machine slows them all alike (``bench_hook.py`` runs the
series one after another, which a shared machine's load swings can distort).

Series: ``python -c pass``; the native client and ``opsgate-hook`` against a per-user
service; with ``--old REV``, the native client of that git revision (compiled from its
own ``_native.py``) against the same service; as root, protected mode's two programs
(installed under a temporary root, the service as a throwaway user).

    python benchmarks/ab_hook.py [--rounds 400] [--old e84f392]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, load_cases, payload, percentile
from burst_hook import start_service, stop_services

Series = dict[str, tuple[list[str], dict[str, str]]]


def old_client(rev: str, target: Path) -> Path:
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:src/opsgate/hooks/_native.py"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    module_file = target.with_suffix(".py")
    module_file.write_text(text)
    spec = importlib.util.spec_from_file_location("old_native", module_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source = target.with_suffix(".c")
    source.write_text(module.source())
    subprocess.run(["cc", "-O2", "-o", str(target), str(source)], check=True)
    return target


def protected_setup(root: Path, user: str) -> subprocess.Popen[bytes] | None:
    opsgate = str(Path(sys.executable).with_name("opsgate"))
    install = [opsgate, "install", "claude", "--system", "--root", str(root),
               "--system-user", user, "--no-start"]  # fmt: skip
    if subprocess.run(install, capture_output=True, check=False).returncode != 0:
        return None
    ids = [subprocess.run(["id", flag, user], capture_output=True, text=True, check=True)
           .stdout.strip() for flag in ("-u", "-g")]  # fmt: skip
    service = subprocess.Popen(
        ["setpriv", f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups", sys.executable,
         "-I", "-m", "opsgate.hooks._daemon", "--system", str(root / "etc/opsgate/hook.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while not (root / "run/opsgate/hook.sock").exists():
        time.sleep(0.05)
    return service


def run(series: Series, datas: list[bytes]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in series}
    for cmd, env in series.values():  # warm caches and services
        for data in datas[:3]:
            subprocess.run(cmd, input=data, env=env, capture_output=True, check=False)
    rng = random.Random(1)
    for data in datas:
        order = list(series.items())
        rng.shuffle(order)
        for name, (cmd, env) in order:
            started = time.perf_counter()
            subprocess.run(cmd, input=data, env=env, capture_output=True, check=False)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--old", metavar="REV", help="also the native client of this revision")
    args = parser.parse_args()
    cases = load_cases()
    datas = [payload(c) for c in cases[:: max(1, len(cases) // args.rounds)]][: args.rounds]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPSGATE_", "CLAUDE_"))}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    work = Path(tempfile.mkdtemp(prefix="og-ab-"))
    work.chmod(0o755)
    home, root, user = work / "home", work / "root", f"ogb{os.urandom(4).hex()}"
    env = {**base, "OPSGATE_HOME": str(home)}
    from opsgate.hooks._native import build

    client = build(str(home))
    service = start_service(home, env)
    protected = None
    try:
        series: Series = {"python -c pass": ([sys.executable, "-c", "pass"], base)}
        if args.old:
            old = old_client(args.old, work / "old-client")
            series[f"C client {args.old} (per-user service)"] = ([str(old), "claude"], env)
        if client is not None:
            series["C client (per-user service)"] = ([str(client), "claude"], env)
        launcher = str(Path(sys.executable).with_name("opsgate-hook"))
        series["opsgate-hook (per-user service)"] = ([launcher, "claude"], env)
        if os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("useradd"):
            protected = protected_setup(root, user)
        if protected is not None:
            lib = root / "usr/local/lib/opsgate"
            series["C client (protected)"] = ([str(lib / "opsgate-hook-fast"), "claude"], base)
            series["opsgate-hook (protected)"] = ([str(lib / "opsgate-hook"), "claude"], base)
        times = run(series, datas)
    finally:
        stop_services(home)
        service.wait()
        if protected is not None:
            protected.terminate()
            protected.wait()
            subprocess.run([str(Path(sys.executable).with_name("opsgate")), "uninstall", "claude",
                            "--system", "--root", str(root), "--purge"], capture_output=True,
                           check=False)  # fmt: skip
        subprocess.run(["userdel", user], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"interleaved hook latency, {len(datas)} rounds, load {os.getloadavg()[0]:.1f}")
    for name, ms in times.items():
        print(f"  {name:<40} p50 {percentile(ms, 50):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms"
              f"  p99 {percentile(ms, 99):6.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
