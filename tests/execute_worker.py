"""A separate executor process for the crash and race tests and the benchmark.

``python execute_worker.py HOME LEASE CARD…`` runs each card if it wins the claim,
printing ``ran CARD`` or ``lost CARD``; with ``-`` instead of cards it reads card
ids from stdin, one per line, until EOF (the benchmark keeps workers alive so a
trial does not pay for a process start).  Database: ``OPSGATE_DATABASE_URL`` or HOME.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from execute_env import open_cp
from opsgate.execute import Executor
from opsgate.execute.catalog import load_catalog


async def main(home: Path, lease: float, cards: list[str]) -> None:
    cp = open_cp(home, os.environ.get("OPSGATE_DATABASE_URL") or None)
    ex = Executor(cp, catalog=load_catalog(home, env={}), local_runner=True, lease_seconds=lease)
    print("ready", flush=True)
    try:
        if cards == ["-"]:
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                result = await ex.run(line.strip())
                print(f"{'lost' if result is None else 'ran'} {line.strip()}", flush=True)
            return
        for card in cards:
            result = await ex.run(card)
            print(f"{'lost' if result is None else 'ran'} {card}", flush=True)
    finally:
        cp.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]))
