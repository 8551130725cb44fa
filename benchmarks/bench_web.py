"""Web console benchmark: page latency with 1,000 cards in the database.

A real ``opsgate serve`` (SQLite, its own temporary data dir) holding 1,000 cards
(pending, approved, denied, completed; safe, caution and destructive) and the
audit trail they produced; one logged-in client requests each page in turn and
we report p50/p95 per page.  Target: every page ≤ 100 ms p95 on the 2-core box.

    python benchmarks/bench_web.py [--cards 1000] [--rounds 100]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import percentile

OPSGATE = str(Path(sys.executable).parent / "opsgate")
TARGET_MS = 100.0


def seed(home: Path, count: int) -> str:
    """Cards through the control plane itself (so the audit trail is real too);
    returns one card id to open."""
    from opsgate.approvals.control import open_control_plane
    from opsgate.approvals.model import Role
    from opsgate.approvals.service import Principal
    from opsgate.environments import InventoryTarget
    from opsgate.models import Action, Environment

    control = open_control_plane(home)
    owner = control.create_user(None, "owner", "bench owner password", Role.OWNER)
    ada = control.create_user(
        Principal(owner.id, owner.name, owner.role, user=owner), "ada", "bench ada pw!", Role.ADMIN
    )
    me = Principal(ada.id, ada.name, ada.role, user=ada)
    for i in range(5):
        name = f"web-staging-{i}"
        control.put_target(
            Principal(owner.id, owner.name, owner.role, user=owner),
            InventoryTarget(name, "server", Environment.STAGING, "full", (name,)),
        )
    # The owner makes the agent's token: ada approves, and nobody approves a request
    # made through a token they created.
    _, secret = control.create_token(
        Principal(owner.id, owner.name, owner.role, user=owner), "claude", Role.AGENT
    )
    agent = control.token(secret)
    assert agent is not None
    commands = [
        "ssh web-staging-{m} sudo systemctl restart svc-{n}",
        "kubectl --context staging delete namespace ns-{n}",
        "ssh web-staging-{m} sudo apt-get install -y pkg-{n}",
    ]
    some = ""
    for n in range(count):
        command = commands[n % len(commands)].format(n=n, m=n % 5)
        result = control.propose(
            agent,
            Action("", "Bash", {"command": command}, agent="claude"),
            reasoning=f"bench card {n}",
            rollback="none",
        )
        card = result.card
        assert card is not None, result.decision.to_json()
        some = card.id
        if n % 4 == 1:
            control.deny(me, card.id, "bench")
        elif n % 4 == 2:
            control.approve(me, card.id, card.confirm)
    close = getattr(control, "close", None)  # not part of the ControlPlane protocol
    if close is not None:
        close()
    return some


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        started = time.perf_counter()
        card_id = seed(home, ns.cards)
        print(f"seeded {ns.cards} cards in {time.perf_counter() - started:.1f} s")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGATE_")}
        proc = subprocess.Popen(
            [
                OPSGATE,
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(home),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        try:
            run(url, card_id, ns.rounds)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def run(url: str, card_id: str, rounds: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with httpx.Client(base_url=url) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        r = client.post(
            "/login", data={"csrf": token.group(1), "name": "ada", "password": "bench ada pw!"}
        )
        assert r.status_code == 303, r.text
        audit = client.get("/audit").text
        seq = re.search(r'href="/audit/(\d+)"', audit)
        more = re.search(r'href="(/inbox\?after=[^"]+)"', client.get("/inbox").text)
        assert more is not None, "the inbox pages its pending cards"
        pages = {
            "inbox": "/inbox",
            "inbox page 2": more.group(1).replace("&amp;", "&"),
            "inbox filtered": "/inbox?impact=destructive&environment=staging",
            "activity": "/activity",
            "card": f"/cards/{card_id}",
            "card fragment": f"/cards/{card_id}/fragment",
            "audit": "/audit",
            "audit filtered": "/audit?event=card.*&actor=ada",
            "audit entry": f"/audit/{seq.group(1) if seq else 1}",
            "inventory": "/inventory",
            "settings": "/settings",
            "people": "/people",
        }
        print(f"{'page':<16} {'p50 ms':>8} {'p95 ms':>8}")
        worst = 0.0
        for name, path in pages.items():
            for _ in range(5):  # warm up
                assert client.get(path).status_code == 200, path
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, path
            p95 = percentile(times, 95)
            worst = max(worst, p95)
            print(f"{name:<16} {percentile(times, 50):>8.1f} {p95:>8.1f}")
        t0 = time.perf_counter()
        assert client.get("/audit/verify").status_code == 200
        print(f"audit verify (whole chain, on demand): {(time.perf_counter() - t0) * 1000:.0f} ms")
        verdict = "meets" if worst <= TARGET_MS else "MISSES"
        print(f"worst p95 {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
