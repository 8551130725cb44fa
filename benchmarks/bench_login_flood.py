"""Login flood: many concurrent wrong passwords against a real ``opsgate serve``
(SQLite), while a prober asks ``/readyz`` every 20 ms.

    python benchmarks/bench_login_flood.py [--logins 400] [--rounds 2]

Round "one account": every login names the owner.  Round "many accounts": each
names a different user (no account throttle applies; the address throttle and the
bounded password-check pool must hold).  Prints, per round, the answers (401: the
password was checked; 429: refused before checking), the server's peak resident
memory during the round, and the ``/readyz`` latency (max and p99) throughout.
Targets (issue 16): memory under 300 MB, ``/readyz`` within 100 ms throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _common import percentile
from bench_server import Server


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """The server's RSS every 10 ms, in a thread (the event loop is busy)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.01)


def probe(url: str, stop: threading.Event, seen: list[tuple[float, int]]) -> None:
    """In a thread of its own: the flood's event loop must not delay the probe."""
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                status = client.get(f"{url}/readyz").status_code
            except httpx.TransportError:
                status = 0
            seen.append(((time.perf_counter() - t0) * 1000, status))
            time.sleep(0.02)


async def flood(url: str, names: list[str]) -> tuple[collections.Counter[int], float]:
    limits = httpx.Limits(max_connections=len(names), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(name: str) -> int:
            try:
                r = await client.post(
                    "/api/v1/session", json={"name": name, "password": "not the password"}
                )
            except httpx.TransportError:
                return 0
            return r.status_code

        t0 = time.perf_counter()
        codes = await asyncio.gather(*(one(n) for n in names))
        return collections.Counter(codes), time.perf_counter() - t0


async def round_(server: Server, label: str, names: list[str]) -> None:
    stop = threading.Event()
    seen: list[tuple[float, int]] = []
    base = rss_mb(server.proc.pid)
    with Sampler(server.proc.pid) as sampler:
        prober = threading.Thread(target=probe, args=(server.url, stop, seen), daemon=True)
        prober.start()
        await asyncio.sleep(0.2)
        codes, took = await flood(server.url, names)
        await asyncio.sleep(0.2)
        stop.set()
        prober.join()
    latencies = [ms for ms, _ in seen]
    not_ready = sum(1 for _, s in seen if s != 200)
    print(
        f"{label}: {len(names)} concurrent wrong passwords in {took:.2f} s — answers "
        f"{dict(sorted(codes.items()))}; RSS {base:.0f} MB before, peak {sampler.peak:.0f} MB; "
        f"/readyz {len(seen)} probes, max {max(latencies):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, not ready {not_ready}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            assert server.password(), "no owner password"
            for n in range(ns.rounds):
                # A fresh server per round would hide a leak; the throttle's state
                # from the first round carries over, as it would in production.
                if n % 2 == 0:
                    asyncio.run(round_(server, "one account", ["owner"] * ns.logins))
                else:
                    names = [f"user{i}" for i in range(ns.logins)]
                    asyncio.run(round_(server, "many accounts", names))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
